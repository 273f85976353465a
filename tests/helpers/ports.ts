// Free TCP ports on 127.0.0.1 for a test: a random block, each port checked by binding it.
import net from "node:net";

export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePortRange(size: number): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const min = 20000 + Math.floor(Math.random() * 30000);
    const checks = await Promise.all(Array.from({ length: size }, (_, i) => isPortFree(min + i)));
    if (checks.every(Boolean)) return { min, max: min + size - 1 };
  }
  throw new Error(`no block of ${size} free ports found`);
}

export async function freePort(): Promise<number> {
  return (await freePortRange(1)).min;
}
