// Where a copy restore may write (docs/api.md, restores): a NEW file under the sources root,
// checked with the same safe-path rules as a source (after following links, inside the root;
// 422 path_not_allowed otherwise, 409 destination_exists when something is there already), or
// an NBD export on a host NBDHUB_NBD_SOURCE_HOSTS allows, checked like an NBD source
// (lib/backup/nbd-source.ts: no file-naming query parameters) before any connection. The
// hub's own exports (its port range on its own host) are never a destination: one of them may
// be a backup being written.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { checkNbdSource } from "@/lib/backup/nbd-source";
import { parseNbdUri } from "@/lib/nbd/uri";
import type { Config } from "@/lib/config/env";
import { conflict, invalid, isDomainError } from "@/lib/errors";
import { resolveInsideRoot } from "@/lib/fs/safe-path";
import type { RestoreDestination } from "./types";

export type CheckedDestination =
  | { kind: "file"; path: string; format: "raw" | "qcow2"; asked: RestoreDestination }
  | { kind: "nbd"; uri: string; asked: RestoreDestination };

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

async function checkFile(config: Config, given: string, format: "raw" | "qcow2"): Promise<CheckedDestination> {
  const field = "destination.path";
  const { path: real, exists } = await resolveInsideRoot(config.sourcesDir, given, field, { mustExist: false });
  if (exists) {
    const sentence = `${field}: ${given} already exists; a restore writes only a new file`;
    throw conflict("destination_exists", sentence, { [field]: "a path where no file exists yet" });
  }
  const parent = await fs.stat(path.dirname(real)).catch(() => null);
  if (!parent?.isDirectory()) {
    const sentence = `${field}: the folder of ${given} does not exist`;
    throw invalid("path_not_allowed", sentence, { [field]: "a path in an existing folder" });
  }
  return { kind: "file", path: real, format, asked: { path: given, format } };
}

async function checkNbd(config: Config, given: string): Promise<CheckedDestination> {
  const field = "destination.nbd";
  let uri: string;
  try {
    const checked = await checkNbdSource(given, config, field);
    if (checked.unreadable) {
      throw invalid("destination_unreadable", `${field}: the NBD destination cannot be reached (see the server log)`, {
        [field]: "an NBD export that can be opened",
      });
    }
    uri = checked.uri;
  } catch (error) {
    // The source checks speak of sources; a destination refused for the same reasons says so.
    if (isDomainError(error) && error.code === "source_not_allowed") {
      throw invalid("destination_not_allowed", error.message, { [field]: "an nbd:// URI on an allowed host" });
    }
    throw error;
  }
  const parsed = parseNbdUri(uri);
  if (parsed.transport === "tcp") {
    const own = LOOPBACK.has(parsed.host) || parsed.host === config.nbdHost || parsed.host === config.nbdBind;
    if (own && parsed.port >= config.portRange.min && parsed.port <= config.portRange.max) {
      const sentence = `${field}: port ${parsed.port} is in the hub's own port range; a restore never writes into its exports`;
      throw invalid("destination_not_allowed", sentence, { [field]: "an NBD export outside the hub's port range" });
    }
  }
  return { kind: "nbd", uri, asked: { nbd: given } };
}

export async function checkDestination(config: Config, destination: RestoreDestination): Promise<CheckedDestination> {
  if ("nbd" in destination) return checkNbd(config, destination.nbd);
  return checkFile(config, destination.path, destination.format ?? "raw");
}
