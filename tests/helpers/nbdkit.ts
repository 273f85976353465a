// Real NBD sources for tests, served by nbdkit: `pattern` (non-zero, deterministic data)
// behind the `rate` filter makes a source as slow as a test needs.
import { spawn, type ChildProcess } from "node:child_process";
import { execa } from "execa";
import { freePort } from "./ports";
import { stopChild } from "./stop-child";
import { waitFor } from "./wait";

export type NbdSource = { uri: string; port: number; process: ChildProcess; stop(): Promise<void> };

export async function startNbdkit(pluginArgs: string[], filters: string[] = []): Promise<NbdSource> {
  const port = await freePort();
  const child = spawn("nbdkit", ["--foreground", "--exit-with-parent", "--ipaddr=127.0.0.1", `--port=${port}`, ...filters.map((f) => `--filter=${f}`), ...pluginArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d.toString()));
  const uri = `nbd://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nbdkit exited: ${stderr}`);
    return (await execa("nbdinfo", ["--size", uri], { reject: false })).exitCode === 0;
  }, { timeoutMs: 10_000, what: "nbdkit to serve" });
  return {
    uri,
    port,
    process: child,
    async stop() {
      await stopChild(child, "nbdkit");
    },
  };
}

/** A source of `size` (e.g. "256M") of non-zero data, read at about `rate` (e.g. "16M") per second. */
export function slowSource(size: string, rate: string): Promise<NbdSource> {
  return startNbdkit(["pattern", `size=${size}`, `rate=${rate}`], ["rate"]);
}

/** nbdkit serving `pluginArgs` on a Unix socket at `socket` (nbd+unix:///?socket=…). */
export async function startNbdkitUnix(socket: string, pluginArgs: string[]): Promise<NbdSource> {
  const child = spawn("nbdkit", ["--foreground", "--exit-with-parent", `--unix=${socket}`, ...pluginArgs], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d.toString()));
  const uri = `nbd+unix:///?socket=${socket}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`nbdkit exited: ${stderr}`);
    return (await execa("nbdinfo", ["--size", uri], { reject: false })).exitCode === 0;
  }, { timeoutMs: 10_000, what: "nbdkit to serve on its socket" });
  return {
    uri,
    port: 0,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
