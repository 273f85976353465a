// The embedded PostgreSQL writes its log to `<data dir>/postgres/postgres.log` (pg_ctl -l,
// lib/db/embedded-postgres.ts) and never rotates it. The server holds the file open in append
// mode, so it cannot be renamed away: above the size limit the file is copied to
// `postgres.log.1` (replacing the previous one) and truncated in place, and the server's next
// line lands at the start of the now empty file.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";

export function embeddedPostgresLogFile(dataDir: string): string {
  return path.join(dataDir, "postgres", "postgres.log");
}

/** Rotate the log when it is over `maxBytes`; returns the size it had, or 0 when left alone. */
export async function rotatePostgresLog(file: string, maxBytes: number): Promise<number> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat || stat.size <= maxBytes) return 0;
  const previous = `${file}.1`;
  // It can hold statements and user names: readable by the owner only, like the log itself.
  await fs.copyFile(file, previous);
  await fs.chmod(previous, 0o600);
  await fs.truncate(file, 0);
  return stat.size;
}
