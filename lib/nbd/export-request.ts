// Checks on a start request that the export manager makes itself, whoever calls it (a route
// has already parsed the body with zod; the backup runner has not): names safe to put on a
// command line, and an image that is a regular file inside the repository.
import "server-only";
import { promises as fs } from "node:fs";
import { invalid, invalidInput } from "@/lib/errors";
import { resolveInsideRoot } from "@/lib/fs/safe-path";
import { NAME_HINT, NAME_PATTERN } from "@/lib/names";
import type { StartExportRequest } from "./types";

export function checkExportRequest(req: StartExportRequest): void {
  const details: Record<string, string> = {};
  for (const field of ["exportName", "jobId", "vmName", "diskId"] as const) {
    if (typeof req[field] !== "string" || !NAME_PATTERN.test(req[field])) details[field] = NAME_HINT;
  }
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) details.port = "a port between 1 and 65535";
  if (Object.keys(details).length)
    throw invalidInput(details, `invalid export request: ${Object.keys(details).join(", ")}`);
}

/** The image's real path: inside the repository (after following links) and a regular file. */
export async function resolveImage(repositoryDir: string, filePath: string): Promise<string> {
  const { path } = await resolveInsideRoot(repositoryDir, filePath, "filePath");
  const stat = await fs.stat(path);
  if (!stat.isFile()) {
    throw invalid("not_a_file", `filePath: ${filePath} is not a regular file`, { filePath: "a qcow2 image file" });
  }
  return path;
}
