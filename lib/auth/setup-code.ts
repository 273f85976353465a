// First run without a takeover: while nbdhub has no users, whoever reaches its port could make
// themselves admin. The first admin may be created from this machine (a loopback client that
// nothing relayed), or from anywhere with a one-time code that the server prints in its log
// at start, as Grafana and Jenkins do: reading the log proves access to the machine. The code
// lives only in this process's memory, as a SHA-256; a restart prints a new one.
import "server-only";
import { randomInt, timingSafeEqual } from "node:crypto";
import { DomainError } from "@/lib/errors";
import type { Logger } from "@/lib/log";
import { sha256Hex } from "./hash";

/** Crockford's base32: no I, L, O, U, so a code read off a terminal is typed back right. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUPS = 4;
const GROUP_LENGTH = 5;

const KEY = Symbol.for("nbdhub.setupCode");

function holder(): { hash?: string } {
  const g = globalThis as typeof globalThis & { [KEY]?: { hash?: string } };
  g[KEY] ??= {};
  return g[KEY];
}

/** "abcd-e…" as typed: case, spaces and dashes do not matter; I/L read as 1 and O as 0. */
export function normalizeSetupCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
}

/** 100 random bits in four groups of five, e.g. 7K2QD-M0XWC-4RZ9B-HT1PE. */
export function newSetupCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = "";
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join("-");
}

/** At start, with no users: make the code and print it (the one place it is ever shown). */
export function issueSetupCode(log: Logger, consoleUrl: string): void {
  const code = newSetupCode();
  holder().hash = sha256Hex(normalizeSetupCode(code));
  log.info(
    `no users yet: create the first admin at ${consoleUrl}/setup from this machine, ` +
      `or from another one with the one-time setup code ${code}`,
  );
}

/** Setup is done (or was never needed): no code opens it any more. */
export function forgetSetupCode(): void {
  holder().hash = undefined;
}

function codeMatches(presented: string): boolean {
  const expected = holder().hash;
  if (!expected) return false;
  const a = Buffer.from(sha256Hex(normalizeSetupCode(presented)), "hex");
  const b = Buffer.from(expected, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Throws 403 unless this setup request may go on: from this machine, or with the code. Checked
 * before anything costly (argon2) or lasting (a row) happens.
 */
export function requireSetupAllowed(local: boolean, presented: string | undefined): void {
  if (local) return;
  if (!presented) {
    throw new DomainError(
      "forbidden",
      "setup_code_required",
      "setting up nbdhub from another machine needs the one-time setup code from the server's log " +
        "(or open the console on the server itself)",
    );
  }
  if (!codeMatches(presented)) {
    throw new DomainError(
      "forbidden",
      "setup_code_invalid",
      "the setup code is wrong; use the one in the latest start of the server's log",
    );
  }
}
