// Real NBD sources for tests and the fault campaign, served by nbdkit: `pattern` (non-zero,
// deterministic data) behind the `rate` filter makes a source as slow as a test needs.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
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
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nbdkit exited: ${stderr()}`);
      return nbdServes(uri);
    },
    { timeoutMs, what },
  );
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

/**
 * An nbdkit source on a free port. One worker thread: nbdkit 1.32 can abort (connections.c
 * "sock >= 0") when a client hangs up while another thread still answers it, which a test that
 * kills a mover or an export mid-copy does on purpose; the retry then found no source. Served
 * one request at a time, a source is as fast as its rate filter lets it be anyway.
 */
export async function startNbdkit(pluginArgs: string[], filters: string[] = []): Promise<NbdSource> {
  const port = await freePort();
  const listen = ["--ipaddr=127.0.0.1", `--port=${port}`, "--threads=1", ...filters.map((f) => `--filter=${f}`)];
  return serve(listen, pluginArgs, `nbd://127.0.0.1:${port}`, port, "nbdkit to serve");
}

/** A source of `size` (e.g. "256M") of non-zero data, read at about `rate` (e.g. "16M") per second. */
export function slowSource(size: string, rate: string): Promise<NbdSource> {
  return startNbdkit(["pattern", `size=${size}`, `rate=${rate}`], ["rate"]);
}

/**
 * A slow source whose rate the test changes while it runs (the rate filter's rate file): slow
 * for as long as the test looks at a running copy, however loaded the machine, then fast.
 */
export async function throttledSource(
  size: string,
  rate: string,
): Promise<NbdSource & { setRate(rate: string): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdkit-rate-"));
  const rateFile = path.join(dir, "rate");
  const source = await startNbdkit(["pattern", `size=${size}`, `rate=${rate}`, `rate-file=${rateFile}`], ["rate"]);
  return {
    ...source,
    // Written whole, then renamed: the filter never reads half a number.
    async setRate(next: string) {
      await writeFile(`${rateFile}.new`, next);
      await rename(`${rateFile}.new`, rateFile);
    },
    async stop() {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * nbdkit ready by its pid file (written once it accepts connections) rather than by a probe
 * connection: for servers a probe would disturb or that are slow on purpose (delay-open).
 * `args` are everything after the filters: plugin, its parameters and the filters'. It listens
 * on TCP, on a Unix socket in its own temporary folder (`unix: true`), or on the socket path
 * the caller names (`socket`).
 */
export async function startNbdkitServer(
  args: string[],
  { filters = [], unix = false, socket }: { filters?: string[]; unix?: boolean; socket?: string } = {},
): Promise<NbdSource & { stderr(): string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdkit-"));
  const pidFile = path.join(dir, "nbdkit.pid");
  const socketPath = socket ?? (unix ? path.join(dir, "nbdkit.sock") : undefined);
  const port = socketPath ? 0 : await freePort();
  const listen = socketPath ? [`--unix=${socketPath}`] : ["--ipaddr=127.0.0.1", `--port=${port}`];
  const nbdkit = spawnNbdkit([`--pidfile=${pidFile}`, ...listen, ...filters.map((f) => `--filter=${f}`)], args);
  const child = nbdkit.child;
  const stop = async () => {
    await stopChild(child, "nbdkit");
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nbdkit exited: ${nbdkit.stderr()}`);
        return existsSync(pidFile);
      },
      { timeoutMs: 10_000, intervalMs: 20, what: "nbdkit's pid file" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const uri = socketPath ? `nbd+unix:///?socket=${socketPath}` : `nbd://127.0.0.1:${port}`;
  return { uri, port, process: child, stop, stderr: nbdkit.stderr };
}
