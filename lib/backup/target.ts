// Backup targets in the repository: `<repository>/<vmName>/<diskId>/<jobId>.qcow2`, created
// with qemu-img (an overlay on the previous backup for an incremental), verified with
// `qemu-img check` and `qemu-img compare`, and removed when a job does not complete.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { runChild } from "@/lib/proc/child";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "@/lib/fs/private-modes";
import { lastLine } from "@/lib/proc/last-line";

export function targetPathOf(repositoryDir: string, vmName: string, diskId: string, jobId: string): string {
  return path.join(repositoryDir, vmName, diskId, `${jobId}.qcow2`);
}

/** A new qcow2 (an overlay on `backingFile` for an incremental); never over an existing file. */
export async function createTarget(file: string, sizeBytes: number, backingFile?: string): Promise<void> {
  // Backups are the server user's alone: new folders 0700, and the file exists with 0600
  // before qemu-img writes into it (qemu-img keeps an existing file's mode), so it is never
  // readable by others, not even for a moment (lib/fs/private-modes.ts). Created exclusively:
  // qemu-img create would truncate an existing file, and that may be someone's backup.
  await fs.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  await fs.writeFile(file, "", { mode: PRIVATE_FILE_MODE, flag: "wx" }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "EEXIST" ? new Error(`could not create the target: ${file} already exists`) : error;
  });
  await fs.chmod(file, PRIVATE_FILE_MODE);
  const args = ["create", "-q", "-f", "qcow2"];
  // The backing file is the previous point, of the size given and named with its format: -u
  // writes the overlay without opening it (qemu-img would only read its size), a third of the
  // run. The export opens the chain next, and fails there, saying why, if it is unreadable.
  if (backingFile) args.push("-u", "-b", backingFile, "-F", "qcow2");
  args.push(file, String(sizeBytes));
  const result = await runChild("qemu-img", args, { reject: false, timeout: 60_000 });
  if (result.exitCode !== 0)
    throw new Error(`could not create the target: ${lastLine(result.stderr) || `qemu-img exit ${result.exitCode}`}`);
}

/** `qemu-img check`: the image is consistent (leaked clusters are only a warning). */
export async function checkTarget(file: string): Promise<void> {
  const result = await runChild("qemu-img", ["check", "-q", "-f", "qcow2", file], { reject: false });
  // Exit 0 = clean, 3 = leaked clusters only (harmless); 1 and 2 = corruption or check error.
  if (result.exitCode !== 0 && result.exitCode !== 3) {
    throw new Error(
      `qemu-img check found the target damaged: ${lastLine(result.stderr) || lastLine(result.stdout) || `exit ${result.exitCode}`}`,
    );
  }
}

/** `qemu-img compare` of source and target (through the target's backing chain). */
export async function compareWithSource(sourcePath: string, sourceFormat: string, target: string): Promise<void> {
  const result = await runChild(
    "qemu-img",
    ["compare", "-q", "--force-share", "-f", sourceFormat, "-F", "qcow2", sourcePath, target],
    { reject: false },
  );
  if (result.exitCode === 1) throw new Error("verification failed: the target differs from the source");
  if (result.exitCode !== 0)
    throw new Error(`verification failed: qemu-img compare: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`);
}

/** Bytes the target takes on disk. */
export async function sizeOnDisk(file: string): Promise<number> {
  const stat = await fs.stat(file);
  return stat.blocks * 512;
}

/** Remove a target that will never be a backup, and its folders when they become empty. */
export async function removeTarget(file: string, repositoryDir: string): Promise<void> {
  await fs.rm(file, { force: true });
  let dir = path.dirname(file);
  while (dir.startsWith(repositoryDir) && dir !== repositoryDir) {
    try {
      await fs.rmdir(dir);
    } catch {
      return; // not empty (other backups), or gone
    }
    dir = path.dirname(dir);
  }
}
