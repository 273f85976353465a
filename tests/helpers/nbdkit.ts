// Real NBD sources for tests and the fault campaign, served by nbdkit: `pattern` (non-zero,
// deterministic data) behind the `rate` filter makes a source as slow as a test needs.
import { spawn, type ChildProcess } from "node:child_process";
import { execa } from "execa";
import { freePort } from "./ports";
import { stopChild } from "./stop-child";
import { waitFor } from "./wait";

export type NbdSource = { uri: string; port: number; process: ChildProcess; stop(): Promise<void> };

/** nbdkit in the foreground, ending with this process, listening as `listen` says (and filters). */
export function spawnNbdkit(listen: string[], pluginArgs: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn("nbdkit", ["--foreground", "--exit-with-parent", ...listen, ...pluginArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return { child, stderr: () => stderr };
}

/** Whether an NBD server answers at `uri` (nbdinfo can read the export's size). */
export async function nbdServes(uri: string): Promise<boolean> {
  return (await execa("nbdinfo", ["--size", uri], { reject: false })).exitCode === 0;
}

/** Wait until the nbdkit `child` serves at `uri`; fails at the deadline, saying why when it exited. */
export async function untilServing(
  { child, stderr }: { child: ChildProcess; stderr: () => string },
  uri: string,
  { timeoutMs, what }: { timeoutMs: number; what: string },
): Promise<void> {
  await waitFor(async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nbdkit exited: ${stderr()}`);
    return nbdServes(uri);
  }, { timeoutMs, what });
}

async function serve(
  listen: string[],
  pluginArgs: string[],
  uri: string,
  port: number,
  what: string,
): Promise<NbdSource> {
  const nbdkit = spawnNbdkit(listen, pluginArgs);
  const child = nbdkit.child;
  await untilServing(nbdkit, uri, { timeoutMs: 10_000, what }).catch(async (error: Error) => {
    await stopChild(child, "nbdkit");
    throw error;
  });
  return {
    uri,
    port,
    process: child,
    async stop() {
      await stopChild(child, "nbdkit");
    },
  };
}

export async function startNbdkit(pluginArgs: string[], filters: string[] = []): Promise<NbdSource> {
  const port = await freePort();
  const listen = ["--ipaddr=127.0.0.1", `--port=${port}`, ...filters.map((f) => `--filter=${f}`)];
  return serve(listen, pluginArgs, `nbd://127.0.0.1:${port}`, port, "nbdkit to serve");
}

/** A source of `size` (e.g. "256M") of non-zero data, read at about `rate` (e.g. "16M") per second. */
export function slowSource(size: string, rate: string): Promise<NbdSource> {
  return startNbdkit(["pattern", `size=${size}`, `rate=${rate}`], ["rate"]);
}

/** nbdkit serving `pluginArgs` on a Unix socket at `socket` (nbd+unix:///?socket=…). */
export function startNbdkitUnix(socket: string, pluginArgs: string[]): Promise<NbdSource> {
  return serve([`--unix=${socket}`], pluginArgs, `nbd+unix:///?socket=${socket}`, 0, "nbdkit to serve on its socket");
}
