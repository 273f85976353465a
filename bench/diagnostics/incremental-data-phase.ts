// Figure 7's data phase alone, in the product's configuration, variants side by side in one
// process (alternating rounds, so a load beside us hits all alike): a 1 GiB qcow2 of random
// data with a dirty bitmap, 5 % changed in scattered 64 KiB writes (figure 7's own changes),
// read by a private reader (qemu-nbd -r -B on a Unix socket, the product's reader arguments)
// and copied with copyChangedBlocks into an overlay on the full point, exported as a job's
// export is (qemu-nbd on a loopback TCP port, the product's export arguments); then the read-back
// (verifyWritten) beside the flush, as engineCopy runs them. Wall time per step; median printed.
//
//   node --import tsx bench/diagnostics/incremental-data-phase.ts [rounds=4] [variants=a,b]
// Variants: product (the product's arguments and connections: the source's data and the
// read-back from the files, decision 034), via-qemu (both through the qemu-nbds, as before
// decision 034, the read-back beside the flush), kept (the product's file reads, the source's
// bytes kept in the written log instead of read again), write-floor (only the writes: the changed
// pieces, random bytes from memory, into the export, then the flush), reader-native (the reader
// with --aio=native, as before decision 034), reader-wb (the reader with --cache=writeback), unix-dst (the export on a
// Unix socket instead of TCP), go (the export entered with NBD_OPT_GO, not by name), digests
// (the written log keeps digests only), ifN (N requests in flight, not 16), rbN (N reads in
// flight in the read-back), uring (the export with --aio=io_uring). `cpu` is this process's CPU
// time over copy and read-back; `qemu` that of both qemu-nbd processes, start to disconnect.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { changedBlocksContexts, copyChangedBlocks } from "../../lib/backup/incremental/changed-blocks";
import { verifyWritten, WrittenLog } from "../../lib/backup/incremental/verify-extents";
import { FileReads } from "../../lib/backup/incremental/file-reads";
import { connect, dirtyRanges } from "../../lib/nbd/client/index";
import { fivePercentChanges } from "../common/five-percent";
import { qemuImg, randomQcow2 } from "./engine-parts";

const MiB = 1024 * 1024;
const sizeMiB = 1024;
const rounds = Number(process.argv[2] ?? 4);
const variants = (process.argv[3] ?? "product,go,digests").split(",");
const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-data-phase-"));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let n = 0;
let procs: number[] = [];
/** CPU time (user + system, ms) of the qemu-nbd processes started since the last call. */
function qemuCpu(): number {
  const ticks = procs.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + Number(fields[11]) + Number(fields[12]);
  }, 0);
  procs = [];
  return (ticks * 1000) / 100;
}
async function qemuNbd(args: string[], image: string) {
  n += 1;
  const pidFile = path.join(dir, `q${n}.pid`);
  const child = spawn("qemu-nbd", [...args, `--pid-file=${pidFile}`, image], { stdio: "ignore" });
  procs.push(child.pid!);
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`qemu-nbd ${args.join(" ")} did not start`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return () =>
    new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
}

const source = await randomQcow2(dir, sizeMiB);
const full = path.join(dir, "full.qcow2");
qemuImg("convert", "-f", "qcow2", "-O", "qcow2", source, full);
qemuImg("bitmap", "--add", "-f", "qcow2", source, "job0");
// Figure 7's changes (its own seed), run with execFileSync: execa does not load under tsx here.
const { commands: writes, bytes: changed } = fivePercentChanges(sizeMiB * MiB, 17);
// The same writes again before every measured copy: as in figure 7, the changes were just
// written and sit in the page cache, dirty (the bitmap's set of clusters does not change).
const change = () => {
  for (let i = 0; i < writes.length; i += 2000) {
    execFileSync("qemu-io", ["-f", "qcow2", ...writes.slice(i, i + 2000), source], { stdio: "ignore" });
  }
};
change();

/** The changed pieces' places (from the bitmap), each with random bytes. */
async function floorPieces(readerSocket: string) {
  const c = await connect(`nbd+unix:///r?socket=${readerSocket}`, { metaContexts: changedBlocksContexts("job0") });
  const ranges = await dirtyRanges(c, "job0", {});
  await c.disconnect();
  return ranges.map((r) => ({ offset: r.offset, data: randomBytes(r.length) }));
}

type Sample = Record<string, number>;
const samples = new Map<string, Sample[]>(variants.map((v) => [v, []]));
for (let round = 0; round < rounds; round += 1) {
  for (const variant of variants) {
    const overlay = path.join(dir, `point-${round}-${variant}.qcow2`);
    qemuImg("create", "-q", "-f", "qcow2", "-b", full, "-F", "qcow2", overlay, `${sizeMiB}M`);
    const readerSocket = path.join(dir, `r${round}${variant}.sock`);
    change();
    const cache = variant === "reader-wb" ? "writeback" : "none";
    const stopReader = await qemuNbd(
      [
        "--format=qcow2",
        "--read-only",
        "--export-name=r",
        `--socket=${readerSocket}`,
        "--shared=4",
        "--persistent",
        `--cache=${cache}`,
        ...(cache === "none" && variant === "reader-native" ? ["--aio=native"] : []),
        "--bitmap=job0",
      ],
      source,
    );
    const port = await freePort();
    const dstSocket = path.join(dir, `d${round}${variant}.sock`);
    const where = variant === "unix-dst" ? [`--socket=${dstSocket}`] : ["--bind=127.0.0.1", `--port=${port}`];
    const stopDst = await qemuNbd(
      [
        "--format=qcow2",
        "--export-name=d",
        ...where,
        "--shared=10",
        "--persistent",
        "--cache=writeback",
        ...(variant === "uring" ? ["--aio=io_uring"] : []),
        "--discard=unmap",
        "--detect-zeroes=unmap",
      ],
      overlay,
    );
    const dstUri = variant === "unix-dst" ? `nbd+unix:///d?socket=${dstSocket}` : `nbd://127.0.0.1:${port}/d`;
    // The floor's pieces are made before the clock starts: only their writes are timed.
    const pieces = variant === "write-floor" ? await floorPieces(readerSocket) : [];
    const t0 = performance.now();
    const [src, dst, readBack] = await Promise.all([
      connect(`nbd+unix:///r?socket=${readerSocket}`, { metaContexts: changedBlocksContexts("job0") }),
      connect(dstUri, { metaContexts: [], enterByName: variant !== "go" }),
      connect(dstUri, { metaContexts: [], enterByName: variant !== "go" }),
    ]);
    const t1 = performance.now();
    const viaQemu = variant === "via-qemu";
    // As the product: a source read from its file is logged by place only (read again to verify).
    const log = new WrittenLog(variant === "digests" ? 0 : viaQemu || variant === "kept" ? undefined : "places");
    const cpu = process.cpuUsage();
    const from = viaQemu ? src : await FileReads.open(src, source, "qcow2");
    let flushed = 0;
    let check: Awaited<ReturnType<typeof verifyWritten>> = { identical: true, bytesCompared: 0 };
    let changedBytes = changed;
    let t2: number;
    if (variant === "write-floor") {
      let next = 0;
      const writer = async () => {
        for (let k = next++; k < pieces.length; k = next++) await dst.write(pieces[k].offset, pieces[k].data);
      };
      await Promise.all(Array.from({ length: 16 }, writer));
      t2 = performance.now();
      await dst.flush({});
      flushed = performance.now();
    } else {
      const r = await copyChangedBlocks(from, dst, {
        bitmap: "job0",
        requestSize: 256 * 1024,
        inFlight: variant.startsWith("if") ? Number(variant.slice(2)) : 16,
        flush: false,
        onWritten: log.add,
        buffers: log.buffers,
      });
      changedBytes = r.changedBytes;
      t2 = performance.now();
      const rb = variant.startsWith("rb") ? { inFlight: Number(variant.slice(2)) } : {};
      if (viaQemu) {
        [check] = await Promise.all([
          verifyWritten(src, readBack, log, rb),
          dst.flush({}).then(() => (flushed = performance.now())),
        ]);
      } else {
        await dst.flush({});
        flushed = performance.now();
        const point = await FileReads.open(readBack, overlay, "qcow2");
        check = await verifyWritten(from, point, log, rb);
        await point.close();
        if (point.stats.viaExport > 0) throw new Error(`${variant}: the read-back went through qemu-nbd`);
      }
    }
    const t3 = performance.now();
    const used = process.cpuUsage(cpu);
    log.release();
    if (from instanceof FileReads) {
      await from.close();
      if (from.stats.viaExport > 0) throw new Error(`${variant}: the source was read through qemu-nbd`);
    }
    if (!check.identical || changedBytes !== changed) throw new Error(`${variant}: wrong result`);
    await Promise.all([src.disconnect(), dst.disconnect(), readBack.disconnect()]);
    const qemu = qemuCpu();
    await Promise.all([stopReader(), stopDst()]);
    await rm(overlay);
    samples.get(variant)!.push({
      connect: t1 - t0,
      copy: t2 - t1,
      flush: flushed - t2,
      verify: t3 - t2,
      all: t3 - t0,
      cpu: (used.user + used.system) / 1000,
      qemu,
    });
  }
}
await rm(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `data phase, ${sizeMiB} MiB, ${(changed / MiB).toFixed(1)} MiB changed, ${rounds} rounds, load ${os.loadavg()[0].toFixed(1)}`,
);
for (const [variant, ss] of samples) {
  const keys = Object.keys(ss[0]);
  console.log(
    `${variant.padEnd(12)} ` + keys.map((k) => `${k} ${median(ss.map((s) => s[k])).toFixed(0)} ms`).join("  "),
  );
  console.log(`${"".padEnd(12)} all: ${ss.map((s) => s.all.toFixed(0)).join(" ")}`);
}
