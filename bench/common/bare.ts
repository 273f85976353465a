// The baselines: qemu-nbd started by hand with the flags nbdhub uses (lib/nbd/qemu-nbd-command.ts,
// with nbdhub's defaults: bind 127.0.0.1, --shared=10, --cache=writeback) and waited for the
// way nbdhub waits (the pid file holds the pid; inotify on the folder plus a 10 ms re-check),
// and nbdcopy with the flags of nbdhub's built-in mover (lib/backup/mover.ts), minus progress.
import { promises as fs, watch } from "node:fs";
import path from "node:path";
import { pidFileFor, qemuNbdArgs, type QemuNbdOptions } from "../../lib/nbd/qemu-nbd-command";
import { freeBlock } from "./ports";
import { run, spawnTracked, type Exit } from "./procs";

export type BareExport = {
  pid: number;
  port: number;
  uri: string;
  pidFile: string;
  exited: Promise<Exit>;
  readyMs: number;
  stop(): Promise<Exit>;
};

let serial = 0;
/** How often a bare qemu-nbd needed a second SIGTERM (reported with figures 2 and 3). */
export let lostSigterms = 0;

function waitForPidFile(pidFile: string, pid: number, exited: Promise<Exit>, timeoutMs = 20_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const name = path.basename(pidFile);
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(poll);
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve();
    };
    const check = () =>
      void fs.readFile(pidFile, "utf8").then(
        (text) => {
          if (text.trim() === String(pid)) finish();
        },
        () => undefined,
      );
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(path.dirname(pidFile), (_e, file) => {
        if (file === null || file === name) check();
      });
      watcher.on("error", () => undefined);
    } catch {
      /* the poll finds it */
    }
    const poll = setInterval(check, 10);
    const deadline = setTimeout(
      () => finish(new Error(`qemu-nbd (pid ${pid}) wrote no pid file within ${timeoutMs} ms`)),
      timeoutMs,
    );
    void exited.then((e) => finish(new Error(`qemu-nbd exited before it was ready (${e.signal ?? `exit ${e.code}`})`)));
    check();
  });
}

/** How often a bare start found its port taken by another program and moved to another port. */
export let portRetries = 0;

export type BareOptions = {
  readOnly?: boolean;
  /** Require TLS with the keys in this folder, as nbdhub does (figure 9). */
  tls?: QemuNbdOptions["tls"];
};

/**
 * Start qemu-nbd on `file` (absolute path of a qcow2) and wait until its pid file names it.
 * A port taken meanwhile by another program on this shared machine moves the start to a
 * free port (as nbdhub does); `readyMs` is then the successful attempt's.
 */
export async function startBareExport(
  file: string,
  port: number,
  runDir: string,
  exportName = "bench",
  options: BareOptions = {},
): Promise<BareExport> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await startOnce(file, port, runDir, exportName, options);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
      portRetries += 1;
      port = (await freeBlock(1)).min;
    }
  }
}

async function startOnce(
  file: string,
  port: number,
  runDir: string,
  exportName: string,
  { readOnly = false, tls }: BareOptions,
): Promise<BareExport> {
  const pidFile = pidFileFor(runDir, port, `bare${++serial}`);
  const args = qemuNbdArgs({
    exportName,
    bind: "127.0.0.1",
    port,
    shared: 10,
    pidFile,
    cache: "writeback",
    readOnly,
    file,
    tls,
  });
  const t0 = performance.now();
  const { child, exited } = spawnTracked("qemu-nbd", args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  if (child.pid === undefined) throw new Error("qemu-nbd could not be spawned");
  const pid = child.pid;
  try {
    await waitForPidFile(pidFile, pid, exited);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`${(error as Error).message}: ${stderr.trim()}`);
  }
  const readyMs = performance.now() - t0;
  return {
    pid,
    port,
    pidFile,
    uri: `nbd://127.0.0.1:${port}/${exportName}`,
    exited,
    readyMs,
    async stop() {
      // A SIGTERM that arrives just after qemu-nbd wrote its pid file can be lost (qemu-nbd 7.2
      // then serves on): repeat it every 100 ms until it exits, as nbdhub does
      // (lib/nbd/qemu-nbd-process.ts terminate()), SIGKILL after 10 s.
      let gone = false;
      void exited.then(() => (gone = true));
      child.kill("SIGTERM");
      for (let waited = 0; !gone; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
        if (!gone && waited > 0 && waited % 100 === 0) {
          lostSigterms += 1;
          child.kill(waited >= 10_000 ? "SIGKILL" : "SIGTERM");
        }
      }
      const e = await exited;
      await fs.rm(pidFile, { force: true });
      return e;
    },
  };
}

export async function createQcow2(file: string, sizeBytes: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await run("qemu-img", ["create", "-q", "-f", "qcow2", file, String(sizeBytes)]);
}

/** nbdcopy as nbdhub's mover runs it for a raw file into a fresh target. */
export async function nbdcopy(source: string, destination: string): Promise<void> {
  await run("nbdcopy", ["--flush", "--destination-is-zero", source, destination]);
}

export type BarePipeline = { totalMs: number; createMs: number; startMs: number; copyMs: number; stopMs: number };

/** The whole bare pipeline of one disk: fresh qcow2, qemu-nbd, nbdcopy --flush, stop. */
export async function barePipeline(
  source: string,
  sizeBytes: number,
  target: string,
  port: number,
  runDir: string,
): Promise<BarePipeline> {
  const t0 = performance.now();
  await createQcow2(target, sizeBytes);
  const t1 = performance.now();
  const exp = await startBareExport(target, port, runDir);
  const t2 = performance.now();
  let t3 = t2;
  try {
    await nbdcopy(source, exp.uri);
  } finally {
    t3 = performance.now();
    const e = await exp.stop();
    if (e.code !== 0) throw new Error(`bare qemu-nbd did not exit cleanly (${e.signal ?? e.code})`);
  }
  const t4 = performance.now();
  return { totalMs: t4 - t0, createMs: t1 - t0, startMs: t2 - t1, copyMs: t3 - t2, stopMs: t4 - t3 };
}
