// Health: really asks the database and really runs `qemu-nbd --version`.
import "server-only";
import { runChild } from "@/lib/proc/child";
import type { Db } from "@/lib/db/prisma";

export type Health = {
  status: "ok" | "degraded";
  db: "ok" | "down";
  qemuNbd: string;
  problems: string[];
};

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function qemuNbdVersion(): Promise<string> {
  const result = await runChild("qemu-nbd", ["--version"], { timeout: 5000 });
  const match = /qemu-nbd\s+(\S+)/.exec(result.stdout);
  return match ? match[1] : result.stdout.split("\n")[0];
}

export async function checkHealth(db: Db | undefined): Promise<Health> {
  const problems: string[] = [];
  const [dbState, qemu] = await Promise.all([
    db
      ? withTimeout(db.$queryRaw`SELECT 1`, 3000, "the database").then(
          () => "ok" as const,
          (error: unknown) => {
            problems.push(`database: ${error instanceof Error ? error.message.split("\n")[0] : "unreachable"}`);
            return "down" as const;
          },
        )
      : Promise.resolve("down" as const),
    qemuNbdVersion().catch(() => {
      problems.push("qemu-nbd: not installed or not runnable (apt-get install qemu-utils)");
      return "missing";
    }),
  ]);
  if (!db) problems.push("database: not connected yet");
  return { status: dbState === "ok" && qemu !== "missing" ? "ok" : "degraded", db: dbState, qemuNbd: qemu, problems };
}
