// Real NBD sources for tests, served by nbdkit: `pattern` (non-zero, deterministic data)
// behind the `rate` filter makes a source as slow as a test needs.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { freePort } from "./ports";
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
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A source of `size` (e.g. "256M") of non-zero data, read at about `rate` (e.g. "16M") per second. */
export function slowSource(size: string, rate: string): Promise<NbdSource> {
  return startNbdkit(["pattern", `size=${size}`, `rate=${rate}`], ["rate"]);
}

/**
 * nbdkit ready by its pid file (written once it accepts connections) rather than by a probe
 * connection: for servers a probe would disturb or that are slow on purpose (delay-open).
 * `args` are everything after the filters: plugin, its parameters and the filters'.
 */
export async function startNbdkitServer(
  args: string[],
  { filters = [], unix = false }: { filters?: string[]; unix?: boolean } = {},
): Promise<NbdSource & { stderr(): string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdkit-"));
  const pidFile = path.join(dir, "nbdkit.pid");
  const port = unix ? 0 : await freePort();
  const socketPath = path.join(dir, "nbdkit.sock");
  const listen = unix ? [`--unix=${socketPath}`] : ["--ipaddr=127.0.0.1", `--port=${port}`];
  const child = spawn(
    "nbdkit",
    [
      "--foreground",
      "--exit-with-parent",
      `--pidfile=${pidFile}`,
      ...listen,
      ...filters.map((f) => `--filter=${f}`),
      ...args,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((r) => child.once("exit", r));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`nbdkit exited: ${stderr}`);
      return existsSync(pidFile);
    }, { timeoutMs: 10_000, intervalMs: 20, what: "nbdkit's pid file" });
  } catch (error) {
    await stop();
    throw error;
  }
  const uri = unix ? `nbd+unix:///?socket=${socketPath}` : `nbd://127.0.0.1:${port}`;
  return { uri, port, process: child, stop, stderr: () => stderr };
}
