// Our copy helper against nbdcopy, same run, same data: a raw file (half random, half zero,
// in alternating 1 MiB blocks) served read-only by qemu-nbd, copied into a fresh qcow2 that
// qemu-nbd serves read-write. Each tool gets its own fresh destination; rounds alternate.
//
//   node --import tsx bench/diagnostics/nbd-client-copy.ts [sizeMiB=1024] [rounds=2]
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { copy, openPool } from "../../lib/nbd/client/index";

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const rounds = Number(process.argv[3] ?? 2);
/** Connections per side for our copy (the pool opens them only where multi-conn is advertised). */
const connections = Number(process.env.CONNECTIONS ?? 4);
const inFlight = Number(process.env.IN_FLIGHT ?? 16);
const requestSize = Number(process.env.REQUEST_KIB ?? 4096) * 1024;
const dir = await mkdtemp(path.join(os.tmpdir(), "nbdc-bench-"));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function qemuNbd(image: string, format: string, readOnly: boolean) {
  const port = await freePort();
  const pidFile = path.join(dir, `qemu-nbd-${port}.pid`);
  const args = ["-f", format, "-t", "-e", "8", "-b", "127.0.0.1", "-p", String(port), `--pid-file=${pidFile}`];
  if (readOnly) args.push("-r");
  const child = spawn("qemu-nbd", [...args, image], { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("qemu-nbd did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    uri: `nbd://127.0.0.1:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const source = path.join(dir, "source.raw");
const fh = await open(source, "w");
await fh.truncate(sizeMiB * MiB);
for (let i = 0; i < sizeMiB; i += 2) await fh.write(randomBytes(MiB), 0, MiB, i * MiB);
await fh.close();
const src = await qemuNbd(source, "raw", true);

async function run(tool: "nbdhub" | "nbdcopy", round: number): Promise<number> {
  const dest = path.join(dir, `${tool}-${round}.qcow2`);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", dest, `${sizeMiB}M`]);
  const dst = await qemuNbd(dest, "qcow2", false);
  const t = performance.now();
  if (tool === "nbdcopy") {
    execFileSync("nbdcopy", ["--destination-is-zero", src.uri, dst.uri]);
  } else {
    const [from, to] = await Promise.all([openPool(src.uri, { connections }), openPool(dst.uri, { connections })]);
    await copy(from, to, { destinationIsZero: true, inFlight, requestSize });
    await Promise.all([from.disconnect(), to.disconnect()]);
  }
  const ms = performance.now() - t;
  await dst.stop();
  execFileSync("qemu-img", ["compare", "-q", "-f", "raw", "-F", "qcow2", source, dest]);
  await rm(dest);
  return ms;
}

const times: Record<string, number[]> = { nbdhub: [], nbdcopy: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const tool of round % 2 ? (["nbdcopy", "nbdhub"] as const) : (["nbdhub", "nbdcopy"] as const)) {
    times[tool].push(await run(tool, round));
  }
}
await src.stop();
await rm(dir, { recursive: true, force: true });
for (const [tool, ms] of Object.entries(times)) {
  const best = Math.min(...ms);
  const rate = (sizeMiB / (best / 1000)).toFixed(0);
  const all = ms.map((m) => `${(m / 1000).toFixed(2)} s`).join("  ");
  console.log(`${tool.padEnd(8)} ${all}  best ${rate} MiB/s of disk`);
}
