// Where the server's memory goes (issue 15; docs/benchmarks.md, "Server memory"): starts the
// built server as the benchmark does (own data folder and embedded PostgreSQL), then reads its
// memory after start and after N exports were started together through the API: VmRSS of each
// process of its tree, the server's mappings by kind (/proc/<pid>/smaps: V8's heap, malloc,
// files) and what the process says itself (memory-probe.mjs: process.memoryUsage() and V8's heap
// spaces; with --snapshot also a heap snapshot into the temporary folder, kept with --keep).
//
//   node --conditions=react-server --import tsx bench/diagnostics/server-memory.ts [N] [--snapshot] [--keep]
//   (default N = 100; extra Node options for the server: NBDHUB_MEMORY_NODE_ARGS="--flag …")
import "../../tests/chaos/esm-only-packages";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createQcow2 } from "../common/bare";
import { freeBlock } from "../common/ports";
import { stopLeftoverPostgres } from "../common/postgres";
import { endChildren, killByMarker, rssOf, treeOf } from "../common/procs";
import { startBenchServer } from "../common/server";
import { mapLimit } from "../common/stats";
import { waitFor } from "../../tests/helpers/wait";

const MiB = 1024 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..");
const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 100);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** Resident memory of a process's mappings by kind: anonymous (V8, malloc), [heap], files. */
function mappings(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  let name = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1].trim() || "[anonymous]";
    else if (line.startsWith("Rss:")) kinds[name] = (kinds[name] ?? 0) + Number(line.split(/\s+/)[1]) * 1024;
  }
  return kinds;
}

const root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-memory-"));
await chmod(root, 0o755); // the embedded Postgres runs as the postgres user
const probeOut = path.join(root, "probe.json");
process.env.NBDHUB_MEMORY_PROBE_OUT = probeOut;
if (args.includes("--snapshot")) process.env.NBDHUB_MEMORY_PROBE_SNAPSHOT = path.join(root, "server");
const range = await freeBlock(n + 1);
const server = await startBenchServer({
  root: repo,
  dataDir: path.join(root, "data"),
  httpPort: range.max,
  portRange: { min: range.min, max: range.max - 1 },
  nodeArgs: [
    "--import",
    pathToFileURL(path.join(here, "memory-probe.mjs")).href,
    ...(process.env.NBDHUB_MEMORY_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ],
});
const pid = server.pid;

async function report(label: string): Promise<void> {
  process.stdout.write(`\n== ${label}\n`);
  for (const p of await treeOf(pid)) {
    if (p.comm === "qemu-nbd" || p.comm === "nbdcopy") continue;
    const cmd = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").replace(/\0/g, " ").trim().slice(0, 60);
    process.stdout.write(`${String(p.pid).padStart(8)} ${mib(await rssOf(p.pid)).padStart(10)}  ${cmd}\n`);
  }
  const kinds = Object.entries(mappings(pid)).sort((a, b) => b[1] - a[1]);
  process.stdout.write(
    `server mappings: ${kinds
      .slice(0, 6)
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(", ")}\n`,
  );
  const before = existsSync(probeOut) ? readFileSync(probeOut, "utf8") : "";
  process.kill(pid, "SIGUSR2");
  await waitFor(() => (existsSync(probeOut) && readFileSync(probeOut, "utf8") !== before ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: "the server's memory probe",
  });
  const probe = JSON.parse(readFileSync(probeOut, "utf8")) as {
    memoryUsage: Record<string, number>;
    heapSpaces: { name: string; used: number; size: number }[];
    modules: number;
    snapshot: string | null;
  };
  process.stdout.write(
    `memoryUsage: ${Object.entries(probe.memoryUsage)
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(", ")}; ${probe.modules} modules\n` +
      `V8 spaces (used/size): ${probe.heapSpaces
        .filter((s) => s.size > 0)
        .map((s) => `${s.name} ${mib(s.used)}/${mib(s.size)}`)
        .join(", ")}\n` +
      (probe.snapshot ? `heap snapshot: ${probe.snapshot}\n` : ""),
  );
}

try {
  process.stdout.write(`server started in ${server.startMs.toFixed(0)} ms\n`);
  await report("after start");
  await mapLimit(
    Array.from({ length: n }, (_, i) => i),
    4,
    (i) => createQcow2(path.join(server.repositoryDir, "scale", `s${i}.qcow2`), 64 * MiB),
  );
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      server.api("POST", "/nbd/qemu-nbd/start", {
        port: range.min + i,
        exportName: `s${i}`,
        filePath: `scale/s${i}.qcow2`,
        jobId: "memory",
        vmName: "bench",
        diskId: `d${i}`,
      }),
    ),
  );
  const failed = answers.filter((a) => a.status !== 201).length;
  if (failed) throw new Error(`${failed} of ${n} starts failed`);
  await report(`with ${n} exports`);
  await server.api("POST", "/nbd/qemu-nbd/stop", { jobId: "memory" });
} finally {
  await server.stop().catch((error: Error) => process.stdout.write(`${error.message}\n`));
  await endChildren();
  await killByMarker(root);
  await stopLeftoverPostgres(path.join(root, "data"));
  if (!args.includes("--keep")) await rm(root, { recursive: true, force: true });
}
