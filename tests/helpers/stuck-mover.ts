// A copy that does not end until told to, for tests that must strike mid-copy without nbdkit: a
// folder holding an `nbdcopy` that waits (a shell loop of short sleeps, so nothing outlives it
// by more than a moment) until it is killed or `release()` creates its stop file, then fails.
// Put the folder first on the test server's PATH. Nothing in the product knows about it.
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export type StuckMover = { dir: string; release(): Promise<void> };

export async function stuckMoverDir(): Promise<StuckMover> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-stuck-mover-"));
  const stop = path.join(dir, "stop");
  const script = `#!/bin/bash
while [ ! -e "${stop}" ]; do sleep 0.2; done
echo "stuck mover released" >&2
exit 1
`;
  const file = path.join(dir, "nbdcopy");
  await writeFile(file, script);
  await chmod(file, 0o755);
  await chmod(dir, 0o755);
  return { dir, release: () => writeFile(stop, "") };
}
