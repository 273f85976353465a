// `npm start`: set up what is missing, build when stale, then run the console with
// `next start`. nbdhub handles SIGTERM/SIGINT itself (NEXT_MANUAL_SIG_HANDLE) so exports and
// the embedded Postgres stop in order; this wrapper only forwards signals and waits.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { nextStartCommand, SERVER_ENV } from "./next-start.mjs";
import { ensureBuild, root, setup } from "./setup.mjs";

setup();
// Validate the configuration before a possibly long build: a bad value stops here, by name.
const check = spawnSync(
  process.execPath,
  ["--conditions=react-server", "--import", "tsx", path.join(root, "scripts", "check-config.ts")],
  { stdio: "inherit", cwd: root },
);
if (check.status !== 0) process.exit(check.status ?? 1);
ensureBuild();

const host = process.env.HOST || "127.0.0.1";
const port = process.env.PORT || "3000";
const [command, args] = nextStartCommand(root, host, port);
const child = spawn(command, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...SERVER_ENV, ...process.env, NEXT_MANUAL_SIG_HANDLE: "true", NEXT_TELEMETRY_DISABLED: "1" },
});
// A terminal's Ctrl-C reaches the whole foreground group, the server included; a SIGTERM
// sent to this wrapper alone is passed on. Either way we wait for the server to finish.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal === "SIGHUP" ? "SIGTERM" : signal);
  });
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
