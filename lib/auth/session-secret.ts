// The key that seals session cookies (iron-session). Made once per installation and kept in
// the data directory (mode 0600), so sessions survive a restart and no one has to configure
// yet another secret. Losing the file only signs everyone out.
import "server-only";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

const cache = new Map<string, Promise<string>>();

export function sessionSecretPath(dataDir: string): string {
  return path.join(dataDir, "secrets", "session-key");
}

async function loadOrCreate(file: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = randomBytes(48).toString("base64url");
  try {
    // "wx": two processes (or two module graphs) starting at once agree on the first key written.
    await fs.writeFile(file, fresh, { flag: "wx", mode: 0o600 });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const existing = (await fs.readFile(file, "utf8")).trim();
  // iron-session needs at least 32 characters; a truncated file must not weaken the seal.
  if (existing.length < 32)
    throw new Error(`the session key in ${file} is too short; delete the file to make a new one`);
  return existing;
}

export function sessionSecret(dataDir: string): Promise<string> {
  const file = sessionSecretPath(dataDir);
  let secret = cache.get(file);
  if (!secret) {
    secret = loadOrCreate(file);
    cache.set(file, secret);
    secret.catch(() => cache.delete(file));
  }
  return secret;
}
