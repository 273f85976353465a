// How long starting a child blocks Node's main thread as the process grows: Node 20's libuv
// forks the whole process to start a child, so a server with a large heap pays more for every
// qemu-img / qemu-nbd / nbdcopy it starts (docs/benchmarks.md, "Where the time goes"). Beside
// plain spawn(), the same start through the process helper (lib/proc/child.ts startChild, issue
// 15): the server only sends a message, and the small helper does the fork.
//
//   node --conditions=react-server --import tsx bench/diagnostics/spawn-cost.ts [extraMiB ...]
//   (default: 0 250 1000)
import "../../tests/chaos/esm-only-packages";
import { spawn } from "node:child_process";
import { startChild } from "../../lib/proc/child";

const ROUNDS = 20;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const max = (values: number[]) => Math.max(...values);

/** Main-thread time of the call that starts `true`, and the time until its exit is known. */
async function plain(): Promise<[number, number]> {
  const t = performance.now();
  const child = spawn("true");
  const blocked = performance.now() - t;
  await new Promise((resolve) => child.once("exit", resolve));
  return [blocked, performance.now() - t];
}

async function throughHelper(): Promise<[number, number]> {
  const t = performance.now();
  const child = startChild("true", [], { stdout: "ignore", stderr: "ignore" });
  const blocked = performance.now() - t;
  await child.result;
  return [blocked, performance.now() - t];
}

const sizes = process.argv.slice(2).map(Number);
const held: Buffer[] = [];
// The helper is forked once, while the process is small (as the runtime does at start).
await throughHelper();
for (const extra of sizes.length ? sizes : [0, 250, 1000]) {
  while (held.length < extra) held.push(Buffer.alloc(1024 * 1024, 1));
  const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
  for (const [name, start] of [
    ["spawn()", plain],
    ["helper ", throughHelper],
  ] as const) {
    const blocked: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      const [b, t] = await start();
      blocked.push(b);
      total.push(t);
    }
    console.log(
      `RSS ${String(rss).padStart(5)} MiB: ${name} blocks the main thread ${median(blocked).toFixed(2)} ms ` +
        `(median of ${ROUNDS}), max ${max(blocked).toFixed(2)} ms; start → exit ${median(total).toFixed(1)} ms`,
    );
  }
}
process.exit(0);
