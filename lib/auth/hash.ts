// SHA-256 for high-entropy secrets (API tokens, session ids). A fast hash is right here: the
// inputs are 256-bit random values, so there is nothing to brute-force; a database leak
// still yields nothing that works.
import "server-only";
import { createHash } from "node:crypto";

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}
