// A slow copy for tests that must act while a restore copies (a cancel mid-copy): a folder
// holding an `nbdcopy` that runs the real one, but writes a file destination through nbdkit's
// file plugin behind the rate filter, so the output file fills at `rate` per second. Put the
// folder first on the test server's PATH. Nothing in the product knows about it.
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

export async function slowMoverDir(rate = "1M"): Promise<string> {
  const real = (await execa("sh", ["-c", "command -v nbdcopy"])).stdout.trim();
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-slow-mover-"));
  // Options first, then SOURCE DESTINATION (lib/restore/copy-disk.ts, lib/backup/mover.ts).
  const script = `#!/bin/bash
opts=(); rest=()
for a in "$@"; do
  if [[ \${#rest[@]} -eq 0 && "$a" == --* && "$a" != "--" ]]; then opts+=("$a")
  elif [[ "$a" != "--" ]]; then rest+=("$a"); fi
done
n=\${#rest[@]}
dst="\${rest[$((n-1))]}"
if [[ $n -eq 2 && "$dst" == /* ]]; then
  exec ${real} "\${opts[@]}" -- "\${rest[0]}" "[" nbdkit --filter=rate file "file=$dst" rate=${rate} "]"
fi
exec ${real} "$@"
`;
  const file = path.join(dir, "nbdcopy");
  await writeFile(file, script);
  await chmod(file, 0o755);
  await chmod(dir, 0o755);
  return dir;
}
