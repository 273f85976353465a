// Inspections of sources (qemu-img info / map, nbdinfo): every run goes through one limiter
// for the whole server process and has a time limit, and what qemu-img says about a file is
// remembered by (path, inode, size, mtime, ctime), with concurrent asks for the same file
// sharing one run (docs/decisions/009-source-safety.md). The state lives on globalThis:
// Next.js loads route handlers (GET /sources) and the runtime (POST /backups) as separate
// module graphs, and the limit is for the process.
import "server-only";
import type { Stats } from "node:fs";
import { hasCode, unavailable, type DomainError } from "@/lib/errors";
import { runChild } from "@/lib/proc/child";
import { isBusyError, Limiter, type LimiterStats } from "@/lib/proc/limiter";
import { lastLine } from "@/lib/proc/last-line";

/** Inspections running at once, server-wide; more wait in a line of MAX_WAITING, then 503. */
const MAX_INSPECTIONS = 4;
const MAX_WAITING = 16;
const MAX_WAIT_MS = 10_000;
/** Every inspection run ends within this (execa sends SIGTERM, then SIGKILL). */
export const INSPECT_TIMEOUT_MS = 15_000;
const RETRY_AFTER_SECONDS = 2;
const CACHE_ENTRIES = 5000;

export type Qcow2Info =
  | { ok: true; virtualSize: number; actualSize: number | null; backingFile: string | null; dataFile: string | null }
  | { ok: false; reason: "not_qcow2" | "unreadable" | "timeout"; detail: string };

type Entry = { key: string; info: Promise<Qcow2Info> };
type State = { limiter: Limiter; cache: Map<string, Entry> };

const KEY = Symbol.for("nbdhub.inspections");

function state(): State {
  const g = globalThis as typeof globalThis & { [KEY]?: State };
  g[KEY] ??= {
    limiter: new Limiter({ concurrency: MAX_INSPECTIONS, maxQueue: MAX_WAITING, maxWaitMs: MAX_WAIT_MS }),
    cache: new Map(),
  };
  return g[KEY];
}

export function inspectionStats(): LimiterStats {
  return state().limiter.stats();
}

export function busyError(): DomainError {
  return unavailable("busy", "the server is busy inspecting other sources; try again in a few seconds", {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}

function isBusy(error: unknown): boolean {
  return hasCode(error, "busy");
}

export type ToolRun = { exitCode: number | undefined; stdout: string; stderr: string; timedOut: boolean };

/**
 * Run one inspection tool under the limit. A `patient` run (for a job already accepted) waits
 * for a slot however long; any other is refused with 503 busy when the line is full.
 */
export async function inspect(file: string, args: string[], { patient = false } = {}): Promise<ToolRun> {
  try {
    return await state().limiter.run(
      async () => {
        const r = await runChild(file, args, { reject: false, timeout: INSPECT_TIMEOUT_MS, stdin: "ignore" });
        const [stdout, stderr] = [String(r.stdout ?? ""), String(r.stderr ?? "")];
        return { exitCode: r.exitCode, stdout, stderr, timedOut: r.timedOut };
      },
      { patient },
    );
  } catch (error) {
    if (isBusyError(error)) throw busyError();
    throw error;
  }
}

async function runQcow2Info(file: string, patient: boolean): Promise<Qcow2Info> {
  // -f qcow2: never probe. qemu-img info opens neither a backing file nor a data file.
  const r = await inspect("qemu-img", ["info", "-f", "qcow2", "--output=json", "--force-share", file], { patient });
  if (r.timedOut) {
    const detail = `qemu-img info did not answer within ${INSPECT_TIMEOUT_MS / 1000} s`;
    return { ok: false, reason: "timeout", detail };
  }
  if (r.exitCode !== 0) {
    const words = lastLine(r.stderr) || `exit ${r.exitCode}`;
    return { ok: false, reason: /not in qcow2 format/i.test(words) ? "not_qcow2" : "unreadable", detail: words };
  }
  const info = JSON.parse(r.stdout) as {
    "virtual-size"?: number;
    "actual-size"?: number;
    "backing-filename"?: string;
    "full-backing-filename"?: string;
    "format-specific"?: { data?: { "data-file"?: string } };
  };
  return {
    ok: true,
    virtualSize: info["virtual-size"] ?? 0,
    actualSize: info["actual-size"] ?? null,
    backingFile: info["backing-filename"] ?? info["full-backing-filename"] ?? null,
    dataFile: info["format-specific"]?.data?.["data-file"] ?? null,
  };
}

/** What qemu-img says of the qcow2 at `file` (whose stat the caller has), remembered while the file is unchanged. */
export function qcow2Info(file: string, stat: Stats, { patient = false } = {}): Promise<Qcow2Info> {
  const { cache } = state();
  // ctime moves on every write and cannot be set by a user, unlike mtime.
  const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  const hit = cache.get(file);
  if (hit?.key === key) {
    // A run a job depends on must not fail because the shared one was turned away.
    if (!patient) return hit.info;
    return hit.info.catch((error: unknown) => (isBusy(error) ? runQcow2Info(file, true) : Promise.reject(error)));
  }
  const info = runQcow2Info(file, patient);
  const entry: Entry = { key, info };
  cache.delete(file);
  cache.set(file, entry);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  // A refusal (busy) or a timeout says nothing about the file: ask again next time.
  const forget = () => {
    if (cache.get(file) === entry) cache.delete(file);
  };
  info.then((i) => (!i.ok && i.reason === "timeout" ? forget() : undefined), forget);
  return info;
}

/** Why a qcow2 source may not be backed up (it would read another file of the host), or null. */
export function qcow2Refusal(info: Extract<Qcow2Info, { ok: true }>): string | null {
  if (info.backingFile) {
    return (
      "it has a backing file; nbdhub backs up standalone qcow2 images only, " +
      "since a backing file can name any file on the host"
    );
  }
  if (info.dataFile) {
    return (
      "it has an external data file; nbdhub backs up self-contained qcow2 images only, " +
      "since a data file can name any file on the host"
    );
  }
  return null;
}
