// A data mover that does its copy and then does harm, for tests that must see verification
// fail: a folder holding an `nbdcopy` that runs the real one and afterwards writes one wrong
// block into the target export, or into the source file (a source that changed after the
// mover read it). Put the folder first on the test server's PATH.
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

export type Harm = "target" | "source";

export async function badMoverDir(harm: Harm): Promise<string> {
  const real = (await execa("sh", ["-c", "command -v nbdcopy"])).stdout.trim();
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-bad-mover-"));
  await mkdir(dir, { recursive: true });
  // nbdcopy's last two arguments are the source and the destination (lib/backup/mover.ts).
  const script = `#!/bin/sh
${real} "$@" || exit $?
for last in "$@"; do prev="$cur"; cur="$last"; done
src="$prev"; dst="$cur"
${harm === "target" ? `qemu-io -f raw -c 'write -P 0x5a 1M 64k' "$dst" >/dev/null` : `qemu-io -f raw -c 'write -P 0x33 0 64k' "$src" >/dev/null`} || exit 70
`;
  const file = path.join(dir, "nbdcopy");
  await writeFile(file, script);
  await chmod(file, 0o755);
  await chmod(dir, 0o755);
  return dir;
}
