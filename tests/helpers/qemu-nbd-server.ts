// A qemu-nbd started directly by a test (not through nbdhub's export manager): TCP on a free
// port or a Unix socket, optional TLS-PSK, optional dirty bitmap. Ready when its --pid-file
// exists: its socket accepts before the image is open.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports";
import { waitFor } from "./wait";

export type QemuNbdOptions = {
  format?: "raw" | "qcow2";
  readOnly?: boolean;
  bitmap?: string;
  unix?: boolean;
  /** identity → hex key; served with tls-creds-psk. */
  psk?: { identity: string; key: string };
  /** A directory holding ca-cert.pem, server-cert.pem, server-key.pem. */
  x509Dir?: string;
  exportName?: string;
  /** Connections served at once (qemu-nbd's default is 1). */
  shared?: number;
  extraArgs?: string[];
};

export type QemuNbdServer = {
  uri: string;
  port?: number;
  socketPath?: string;
  process: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
};

export async function startQemuNbd(image: string, options: QemuNbdOptions = {}): Promise<QemuNbdServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdc-qemu-nbd-"));
  const pidFile = path.join(dir, "qemu-nbd.pid");
  const args = ["-f", options.format ?? "raw", "-t", "-e", String(options.shared ?? 16), `--pid-file=${pidFile}`];
  if (options.readOnly) args.push("-r");
  if (options.bitmap) args.push("-B", options.bitmap);
  if (options.exportName !== undefined) args.push("-x", options.exportName);
  const tls = options.psk ? "psk" : options.x509Dir ? "x509" : "";
  const scheme = tls ? "nbds" : "nbd";
  if (options.psk) {
    await writeFile(path.join(dir, "keys.psk"), `${options.psk.identity}:${options.psk.key}\n`, { mode: 0o600 });
    args.push("--object", `tls-creds-psk,id=t,endpoint=server,dir=${dir}`, "--tls-creds", "t");
  } else if (options.x509Dir) {
    args.push("--object", `tls-creds-x509,id=t,endpoint=server,dir=${options.x509Dir}`, "--tls-creds", "t");
  }
  let uri: string;
  let port: number | undefined;
  let socketPath: string | undefined;
  const name = encodeURIComponent(options.exportName ?? "");
  if (options.unix) {
    socketPath = path.join(dir, "nbd.sock");
    args.push("-k", socketPath);
    uri = `${scheme}+unix:///${name}?socket=${socketPath}`;
  } else {
    port = await freePort();
    args.push("-b", "127.0.0.1", "-p", String(port));
    uri = `${scheme}://127.0.0.1:${port}/${name}`;
  }
  args.push(...(options.extraArgs ?? []), image);
  const child = spawn("qemu-nbd", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Repeated: a SIGTERM that lands before qemu-nbd enters its main loop is lost (ADR 004).
      const repeat = setInterval(() => child.kill("SIGTERM"), 100);
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearInterval(repeat);
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`qemu-nbd exited ${child.exitCode}: ${stderr}`);
        return existsSync(pidFile);
      },
      { timeoutMs: 10_000, intervalMs: 20, what: "qemu-nbd's pid file" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { uri, port, socketPath, process: child, stderr: () => stderr, stop };
}
