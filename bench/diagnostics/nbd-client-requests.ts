// The NBD client's cost per request, with nothing else in the process: figure 7's data phase
// in miniature. A qcow2 of random data served read-only by qemu-nbd (unix socket), 784
// scattered 64 KiB ranges copied with copy() into a fresh qcow2 overlay export, then read back
// from it (16 in flight). Wall time and the process's CPU time (user + system, which is what
// the load beside us does not inflate as much) per phase, per round; the median is printed.
//
//   node --import tsx bench/diagnostics/nbd-client-requests.ts [sizeMiB=256] [rounds=5]
//   CLIENT_DIR=<folder with another lib/nbd/client> … runs that client instead (before/after)
//   CPU_PROF=<file.cpuprofile> … writes a V8 profile of the measured phases only
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import { qemuImg, qemuNbd, randomQcow2 } from "./engine-parts";

type Client = typeof import("../../lib/nbd/client/index");
const clientDir = process.env.CLIENT_DIR ?? path.join(import.meta.dirname, "../../lib/nbd/client");
const client = (await import(path.join(clientDir, "index.ts"))) as Client;

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const sizeMiB = Number(process.argv[2] ?? 256);
const rounds = Number(process.argv[3] ?? 5);
const rangeCount = 784;
const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-client-requests-"));
const source = await randomQcow2(dir, sizeMiB);

// 784 distinct 64 KiB clusters, scattered, never adjacent (each range is its own request).
const clusters = (sizeMiB * MiB) / CHUNK;
if (clusters < 3 * rangeCount) throw new Error(`${sizeMiB} MiB is too small for ${rangeCount} scattered ranges`);
const picked = new Set<number>();
for (let seed = 1; picked.size < rangeCount; seed += 1) {
  const c = (seed * 104729) % clusters;
  if (!picked.has(c - 1) && !picked.has(c + 1)) picked.add(c);
}
const ranges = [...picked].sort((a, b) => a - b).map((c) => ({ offset: c * CHUNK, length: CHUNK }));

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const profile = process.env.CPU_PROF ? new Session() : null;
if (profile) {
  profile.connect();
  await profile.post("Profiler.enable");
}
type Sample = { copyMs: number; copyCpu: number; readMs: number; readCpu: number };
const samples: Sample[] = [];
const src = await qemuNbd(dir, source, "qcow2", ["-r"]);
for (let round = 0; round < rounds; round += 1) {
  const overlay = path.join(dir, `point-${round}.qcow2`);
  qemuImg("create", "-q", "-f", "qcow2", "-b", source, "-F", "qcow2", overlay, `${sizeMiB}M`);
  const dst = await qemuNbd(dir, overlay, "qcow2", []);
  const [from, to] = await Promise.all([client.openPool(src.uri), client.openPool(dst.uri)]);
  if (profile) await profile.post(round === 0 ? "Profiler.start" : "Profiler.enable");
  let t = performance.now();
  let c = process.cpuUsage();
  await client.copy(from, to, { ranges, inFlight: 16, useExtents: false });
  const copyMs = performance.now() - t;
  const copyCpu = cpuMs(c);
  t = performance.now();
  c = process.cpuUsage();
  let next = 0;
  const reader = async () => {
    const buf = Buffer.allocUnsafe(CHUNK);
    while (next < ranges.length) await to.readInto(ranges[next++].offset, buf);
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  samples.push({ copyMs, copyCpu, readMs: performance.now() - t, readCpu: cpuMs(c) });
  if (profile && round === rounds - 1) {
    const { profile: data } = await profile.post("Profiler.stop");
    await writeFile(process.env.CPU_PROF as string, JSON.stringify(data));
  }
  await Promise.all([from.disconnect(), to.disconnect()]);
  await dst.stop();
  await rm(overlay);
}
await src.stop();
await rm(dir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (k: keyof Sample) =>
  `${median(samples.map((s) => s[k]))
    .toFixed(0)
    .padStart(5)}`;
const load = os.loadavg()[0].toFixed(1);
console.log(`client ${clientDir}, ${rangeCount} × 64 KiB, ${rounds} rounds, load ${load}`);
console.log(`copy     wall ${show("copyMs")} ms  cpu ${show("copyCpu")} ms   (median)`);
console.log(`readback wall ${show("readMs")} ms  cpu ${show("readCpu")} ms   (median)`);
console.log(
  `per round (copy wall/cpu, read wall/cpu): ${samples.map((s) => [s.copyMs, s.copyCpu, s.readMs, s.readCpu].map((x) => x.toFixed(0)).join("/")).join("  ")}`,
);
