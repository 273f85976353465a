// The machine a run came from, for the results file and docs/benchmarks.md.
import { readFileSync } from "node:fs";
import os from "node:os";
import { run } from "./procs";

export type Machine = {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  qemu: string;
  libnbd: string;
  postgres: string;
  loadAverageAtStart: number[];
};

export async function machine(postgresVersion: string): Promise<Machine> {
  const first = async (cmd: string, args: string[]) =>
    (await run(cmd, args).catch(() => "unknown")).split("\n")[0].trim();
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"));
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: mem ? Math.round((Number(mem[1]) / 1024 / 1024) * 10) / 10 : 0,
    kernel: os.release(),
    node: process.version,
    qemu: await first("qemu-nbd", ["--version"]),
    libnbd: (await run("nbdcopy", ["--version"]).catch(() => "unknown")).trim().split("\n").slice(-1)[0],
    postgres: postgresVersion,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
