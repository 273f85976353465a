// The incremental engine beside a full copy, same run, same disk: a 1 GiB qcow2 of random data
// gets a full backup (our copy() into a fresh qcow2, and nbdcopy for reference), then 5 % of it
// changes in scattered 64 KiB-aligned writes that its dirty bitmap records, and the change is
// backed up into overlays on the full point twice over: changed blocks (dirty extents from
// qemu-nbd -B) and content diff (source and full point read side by side). Every result is
// checked with qemu-img compare (not timed). Times cover the copy itself, from open
// connections to the final flush.
//
//   node --import tsx bench/diagnostics/incremental-engine.ts [sizeMiB=1024] [rounds=2]
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { changedBlocksContexts, copyChangedBlocks } from "../../lib/backup/incremental/changed-blocks";
import { contentDiff } from "../../lib/backup/incremental/content-diff";
import { verifyExtents } from "../../lib/backup/incremental/verify-extents";
import { copy, openPool, type Range } from "../../lib/nbd/client/index";
import { qemuImg, qemuNbd, randomQcow2 } from "./engine-parts";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 2);
const changedFraction = 0.05;
const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-incr-bench-"));
const actualSize = (f: string) =>
  (JSON.parse(qemuImg("info", "--output=json", f)) as { "actual-size": number })["actual-size"];

// The disk: random data throughout (worst case for the full copy), as qcow2.
const source = await randomQcow2(dir, sizeMiB);
// The full backup's job adds its bitmap when it starts.
qemuImg("bitmap", "--add", "-f", "qcow2", source, "bench-job0");

type Row = { what: string; ms: number[]; written: number; read: number; onDisk: number; extra?: string };
const rows = new Map<string, Row>();
function record(what: string, ms: number, written: number, read: number, onDisk: number, extra?: string) {
  const row = rows.get(what) ?? { what, ms: [], written, read, onDisk };
  row.ms.push(ms);
  if (extra) row.extra = row.extra ? `${row.extra}; ${extra}` : extra;
  rows.set(what, row);
}

async function fullCopy(target: string): Promise<{ ms: number; written: number; read: number }> {
  qemuImg("create", "-q", "-f", "qcow2", target, `${sizeMiB}M`);
  const src = await qemuNbd(dir, source, "qcow2", ["-r"]);
  const dst = await qemuNbd(dir, target, "qcow2", []);
  const [from, to] = await Promise.all([openPool(src.uri), openPool(dst.uri)]);
  const t = performance.now();
  const r = await copy(from, to, { destinationIsZero: true });
  const ms = performance.now() - t;
  await Promise.all([from.disconnect(), to.disconnect()]);
  await Promise.all([src.stop(), dst.stop()]);
  return { ms, written: r.bytesWritten + r.bytesZeroed, read: r.bytesRead };
}

const full0 = path.join(dir, "job0.qcow2");
const first = await fullCopy(full0);
record("full (our copy)", first.ms, first.written, first.read, actualSize(full0));

// 5 % of the disk changes: scattered writes of 64 KiB to 1 MiB at 64 KiB-aligned offsets.
const clusters = (sizeMiB * MiB) / 65536;
const wanted = Math.round(clusters * changedFraction);
const dirty = new Set<number>();
const commands: string[] = [];
for (let seed = 1; dirty.size < wanted; seed += 1) {
  const run = 1 + ((seed * 7919) % 16);
  const at = (seed * 104729) % (clusters - run);
  for (let c = at; c < at + run; c += 1) dirty.add(c);
  commands.push("-c", `write -P ${1 + (seed % 250)} ${at * 65536} ${run * 65536}`);
}
execFileSync("qemu-io", ["-f", "qcow2", ...commands, source], { stdio: "ignore" });
const changed = dirty.size * 65536;
const truth = path.join(dir, "truth.raw");
qemuImg("convert", "-f", "qcow2", "-O", "raw", source, truth);

for (let round = 0; round < rounds; round += 1) {
  const full = path.join(dir, `full-${round}.qcow2`);
  const f = await fullCopy(full);
  record("full (our copy)", f.ms, f.written, f.read, actualSize(full));
  qemuImg("compare", "-q", "-f", "raw", "-F", "qcow2", truth, full);
  await rm(full);

  const theirs = path.join(dir, `nbdcopy-${round}.qcow2`);
  qemuImg("create", "-q", "-f", "qcow2", theirs, `${sizeMiB}M`);
  {
    const src = await qemuNbd(dir, source, "qcow2", ["-r"]);
    const dst = await qemuNbd(dir, theirs, "qcow2", []);
    const t = performance.now();
    execFileSync("nbdcopy", ["--destination-is-zero", src.uri, dst.uri]);
    const ms = performance.now() - t;
    await Promise.all([src.stop(), dst.stop()]);
    record("full (nbdcopy)", ms, sizeMiB * MiB, sizeMiB * MiB, actualSize(theirs));
    await rm(theirs);
  }

  for (const mode of ["changed blocks", "content diff"] as const) {
    const overlay = path.join(dir, `${mode.replace(" ", "-")}-${round}.qcow2`);
    qemuImg("create", "-q", "-f", "qcow2", "-b", full0, "-F", "qcow2", overlay, `${sizeMiB}M`);
    const bitmap = mode === "changed blocks" ? ["-B", "bench-job0"] : [];
    const src = await qemuNbd(dir, source, "qcow2", ["-r", ...bitmap]);
    const dst = await qemuNbd(dir, overlay, "qcow2", []);
    const prev = await qemuNbd(dir, full0, "qcow2", ["-r"]);
    // Pools: qemu-nbd -e 8 advertises multi-conn, so reads spread over several connections.
    const contexts = mode === "changed blocks" ? { metaContexts: changedBlocksContexts("bench-job0") } : {};
    const [from, to, before] = await Promise.all([openPool(src.uri, contexts), openPool(dst.uri), openPool(prev.uri)]);
    let ranges: Range[];
    const cpu = process.cpuUsage();
    const t = performance.now();
    let written: number;
    let read: number;
    if (mode === "changed blocks") {
      const r = await copyChangedBlocks(from, to, { bitmap: "bench-job0" });
      ranges = r.changedRanges;
      written = r.bytesWritten + r.bytesZeroed;
      read = r.bytesRead;
    } else {
      const r = await contentDiff(from, before, to);
      ranges = r.changedRanges;
      written = r.bytesWritten + r.bytesZeroed;
      read = r.bytesRead + r.previousBytesRead;
    }
    const ms = performance.now() - t;
    const v = performance.now();
    const verified = await verifyExtents(from, to, ranges);
    const verifyMs = performance.now() - v;
    const used = process.cpuUsage(cpu);
    if (!verified.identical) throw new Error(`${mode}: read-back differs at ${verified.offset}`);
    await Promise.all([from.disconnect(), to.disconnect(), before.disconnect()]);
    await Promise.all([src.stop(), dst.stop(), prev.stop()]);
    const cpuMs = ((used.user + used.system) / 1000).toFixed(0);
    const note = `read-back of written extents ${(verifyMs / 1000).toFixed(2)} s, CPU of both ${cpuMs} ms`;
    record(mode, ms, written, read, actualSize(overlay), note);
    qemuImg("compare", "-q", "-f", "raw", "-F", "qcow2", truth, overlay);
    await rm(overlay);
  }
}
await rm(dir, { recursive: true, force: true });

const fullRow = rows.get("full (our copy)") as Row;
const fullBest = Math.min(...fullRow.ms);
const share = `${changedFraction * 100} %`;
console.log(`disk ${sizeMiB} MiB of random data, ${(changed / MiB).toFixed(1)} MiB changed (${share})`);
console.log("what              best time  (runs)              vs full   written    vs full   read       on disk");
for (const r of rows.values()) {
  const best = Math.min(...r.ms);
  const runs = r.ms.map((m) => (m / 1000).toFixed(2)).join(" ");
  console.log(
    `${r.what.padEnd(17)} ${(best / 1000).toFixed(2).padStart(6)} s  (${runs})`.padEnd(52) +
      `${((100 * best) / fullBest).toFixed(1).padStart(5)} %  ` +
      `${(r.written / MiB).toFixed(1).padStart(7)} MiB ` +
      `${((100 * r.written) / fullRow.written).toFixed(1).padStart(5)} %  ` +
      `${(r.read / MiB).toFixed(0).padStart(5)} MiB  ${(r.onDisk / MiB).toFixed(1).padStart(7)} MiB` +
      (r.extra ? `  ${r.extra}` : ""),
  );
}
