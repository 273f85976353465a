// `npm run bench [-- --quick] [-- --only=1,3] [-- --profile]`: the same set-up as `npm start`
// (tools, npm packages, Prisma client, a build when stale), then bench/run.ts, which starts its
// own PostgreSQL and server and prints one table (docs/benchmarks.md).
import { spawn } from "node:child_process";
import path from "node:path";
import { ensureBuild, root, setup } from "./setup.mjs";

setup();
ensureBuild();

const child = spawn(
  process.execPath,
  ["--conditions=react-server", "--import", "tsx", path.join(root, "bench", "run.ts"), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  },
);
// The benchmark cleans up after itself on SIGINT/SIGTERM (servers, qemu-nbd, Postgres): pass
// a signal sent to this wrapper on, and wait for it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal === "SIGHUP" ? "SIGTERM" : signal);
  });
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
