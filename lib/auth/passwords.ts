// Password hashing: argon2id (memory-hard) from @node-rs/argon2, with OWASP's minimum cost
// written out so a library default change cannot silently weaken it. Every hash and
// verification passes the process-wide cap (password-gate.ts).
import "server-only";
import { hash, verify, type Options } from "@node-rs/argon2";
import { withPasswordGate } from "./password-gate";

// The package's Algorithm is a const enum, which isolatedModules cannot inline: 2 is Argon2id.
const ARGON2ID = 2 as Options["algorithm"];
const OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return withPasswordGate(() => hash(password, OPTIONS));
}

// Verifying against a real hash when the user does not exist keeps sign-in time the same
// for known and unknown names, so the timing does not tell which user names exist.
let dummyHash: Promise<string> | undefined;

/** Verify a password; with no stored hash, spend the same time and answer false. */
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hash("nbdhub-no-such-user", OPTIONS);
    const dummy = await dummyHash;
    await withPasswordGate(() => verify(dummy, password).catch(() => false));
    return false;
  }
  return withPasswordGate(async () => {
    try {
      return await verify(storedHash, password);
    } catch {
      // A malformed stored hash is a failed sign-in, never a 500 that says why.
      return false;
    }
  });
}
