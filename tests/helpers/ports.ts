// Free TCP ports on 127.0.0.1 for a test: a random block, each port checked by binding it.
// The block lies below the kernel's ephemeral range: there, any process's outgoing connection
// (a Postgres client, a fetch of a test running beside) may take a port of the block after it
// was checked, and a pool that skips ports in use then finds one missing.
import { readFileSync } from "node:fs";
import net from "node:net";

const LOWEST = 10000;

/** The first port the kernel hands out to outgoing connections (32768 unless configured). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST ? first : 32768;
  } catch {
    return 32768;
  }
}

export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePortRange(size: number): Promise<{ min: number; max: number }> {
  const span = Math.max(1, ephemeralStart() - LOWEST - size);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const min = LOWEST + Math.floor(Math.random() * span);
    const checks = await Promise.all(Array.from({ length: size }, (_, i) => isPortFree(min + i)));
    if (checks.every(Boolean)) return { min, max: min + size - 1 };
  }
  throw new Error(`no block of ${size} free ports found`);
}

export async function freePort(): Promise<number> {
  return (await freePortRange(1)).min;
}
