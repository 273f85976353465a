// What prune needs to know of a qcow2 file in the repository: whether it exists, the file it
// stands on, its size, its backing chain. Read with `qemu-img info` (format named, shared
// locks so a running export does not block it, the backing file not opened for the one-file
// form: a file whose backing file is gone can still be described).
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { runChild } from "@/lib/proc/child";
import type { FileState, PointDiskFile } from "./prune-plan";
import { lastLine } from "@/lib/proc/last-line";

const INFO_TIMEOUT_MS = 60_000;

type QemuImgInfo = {
  filename?: string;
  "virtual-size"?: number;
  "backing-filename"?: string;
  "full-backing-filename"?: string;
  "backing-filename-format"?: string;
};

async function qemuImgInfo(file: string, chain: boolean): Promise<QemuImgInfo[]> {
  const args = ["info", "-U", "-f", "qcow2", "--output=json", ...(chain ? ["--backing-chain"] : []), file];
  const result = await runChild("qemu-img", args, { reject: false, timeout: INFO_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    throw new Error(`qemu-img info ${file}: ${lastLine(String(result.stderr)) || `exit ${result.exitCode}`}`);
  }
  const parsed: unknown = JSON.parse(String(result.stdout));
  return (Array.isArray(parsed) ? parsed : [parsed]) as QemuImgInfo[];
}

/** The absolute path of the file an image stands on (a relative name is relative to the image's folder). */
function backingOf(file: string, info: QemuImgInfo): string | null {
  const backing = info["full-backing-filename"] ?? info["backing-filename"];
  if (!backing) return null;
  return path.resolve(path.dirname(file), backing);
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/** The state of one file as a prune step describes it: gone, or present on its backing file. */
export async function fileState(file: string): Promise<FileState> {
  if (!(await fileExists(file))) return { file, exists: false };
  const [info] = await qemuImgInfo(file, false);
  return { file, exists: true, backing: backingOf(file, info) };
}

/** One disk of a point as planPrune wants it, read from the file itself. */
export async function describeDiskFile(diskId: string, file: string): Promise<PointDiskFile> {
  const [info] = await qemuImgInfo(file, false);
  const virtualSize = info["virtual-size"];
  if (typeof virtualSize !== "number") throw new Error(`qemu-img info ${file}: no virtual size`);
  return { diskId, file, backingFile: backingOf(file, info), virtualSize };
}

/** Every file of an image's backing chain, the image first (throws when a file of it is missing). */
export async function backingChain(file: string): Promise<string[]> {
  const infos = await qemuImgInfo(file, true);
  const files = [file];
  for (let i = 0; i < infos.length - 1; i += 1) {
    const next = backingOf(files[i], infos[i]);
    if (!next) break;
    files.push(next);
  }
  return files;
}
