// Preloaded into the server by bench/diagnostics/server-memory.ts (`node --import`): on SIGUSR2 it
// writes the process's own view of its memory to $NBDHUB_MEMORY_PROBE_OUT, and with
// $NBDHUB_MEMORY_PROBE_SNAPSHOT set also a heap snapshot (which runs a full collection first).
import fs from "node:fs";
import { createRequire } from "node:module";
import v8 from "node:v8";

/** The CommonJS module cache, where Next and the server's code are loaded. */
const loaded = createRequire(import.meta.url).cache;

process.on("SIGUSR2", () => {
  const out = process.env.NBDHUB_MEMORY_PROBE_OUT;
  if (!out) return;
  const data = {
    memoryUsage: process.memoryUsage(),
    heapSpaces: v8
      .getHeapSpaceStatistics()
      .map((s) => ({ name: s.space_name, used: s.space_used_size, size: s.space_size })),
    modules: Object.keys(loaded).length,
    snapshot: process.env.NBDHUB_MEMORY_PROBE_SNAPSHOT
      ? v8.writeHeapSnapshot(`${process.env.NBDHUB_MEMORY_PROBE_SNAPSHOT}-${Date.now()}.heapsnapshot`)
      : null,
  };
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(data));
  fs.renameSync(`${out}.tmp`, out);
});
