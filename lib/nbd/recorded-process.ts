// Is the process an nbd_exports row recorded still that very qemu-nbd? The pid must be alive,
// have the recorded start time (so a pid the kernel reused is not taken for ours), and be a
// qemu-nbd whose --pid-file is the row's.
import "server-only";
import { isProcessAlive, readCmdline } from "@/lib/proc/stat";
import { parseQemuNbdArgv } from "./qemu-nbd-command";

export async function isRecordedQemuNbd(row: {
  pid: number | null;
  pidStartTime: bigint | null;
  pidFile: string | null;
}): Promise<boolean> {
  if (row.pid === null || row.pidFile === null) return false;
  if (!(await isProcessAlive(row.pid, row.pidStartTime))) return false;
  const argv = await readCmdline(row.pid);
  return parseQemuNbdArgv(argv ?? [])?.pidFile === row.pidFile;
}
