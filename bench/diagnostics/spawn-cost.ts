// How long spawn() blocks Node's main thread as the process grows: Node 20's libuv forks the
// whole process to start a child, so a server with a large heap pays more for every
// qemu-img / qemu-nbd / nbdcopy it starts (docs/benchmarks.md, "Where the time goes").
//
//   node --import tsx/esm bench/diagnostics/spawn-cost.ts [extraMiB ...]   (default: 0 250 1000)
import { spawn } from "node:child_process";

const sizes = process.argv.slice(2).map(Number);
const held: Buffer[] = [];
for (const extra of sizes.length ? sizes : [0, 250, 1000]) {
  while (held.length < extra) held.push(Buffer.alloc(1024 * 1024, 1));
  const times: number[] = [];
  for (let i = 0; i < 20; i += 1) {
    const t = performance.now();
    const child = spawn("true");
    times.push(performance.now() - t);
    await new Promise((resolve) => child.once("exit", resolve));
  }
  times.sort((a, b) => a - b);
  const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
  console.log(
    `RSS ${String(rss).padStart(5)} MiB: spawn() blocks the main thread ${times[10].toFixed(1)} ms (median of 20), max ${times[19].toFixed(1)} ms`,
  );
}
