// Port blocks for the benchmark: free (each port checked by binding it), never in nbdhub's
// default range 10100-10199, and below the kernel's ephemeral range, so that the benchmark's
// own outgoing connections (HTTP, Postgres) can never sit on a port that qemu-nbd must bind.
import { readFileSync } from "node:fs";
import { isPortFree } from "../../tests/helpers/ports";

function ephemeralLow(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

export async function freeBlock(size: number): Promise<{ min: number; max: number }> {
  const lo = 11000;
  const hi = Math.max(lo + size, ephemeralLow() - size);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const min = lo + Math.floor(Math.random() * (hi - lo - size));
    const checks = await Promise.all(Array.from({ length: size }, (_, i) => isPortFree(min + i)));
    if (checks.every(Boolean)) return { min, max: min + size - 1 };
  }
  throw new Error(`no block of ${size} free ports found below ${hi}`);
}
