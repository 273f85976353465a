// A disk's source, inspected before anything is created: a raw or qcow2 image under the
// sources root, or an NBD URI of a source export. The format of a file comes from the request
// or its name, never from its contents; a qcow2 that would read another file of the host (a
// backing or external data file) is refused; an NBD source must pass the allow-lists of
// nbd-source.ts before any connection. Tool output never reaches the answer: it is logged
// (docs/decisions/009-source-safety.md).
import "server-only";
import { promises as fs } from "node:fs";
import { invalid, type DomainError } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import { resolveInsideRoot } from "@/lib/fs/safe-path";
import { createLogger } from "@/lib/log";
import { INSPECT_TIMEOUT_MS, inspect, qcow2Info, qcow2Refusal, type Qcow2Info } from "./inspections";
import { checkNbdSource, NBD_UNREADABLE } from "./nbd-source";
import { isNbdUri } from "@/lib/nbd/uri";
import { formatFromName, type SourceFormat } from "./source-format";
import { lastLine } from "@/lib/proc/last-line";

export { isNbdUri } from "@/lib/nbd/uri";

export type InspectedSource =
  | { kind: "file"; source: string; path: string; format: SourceFormat; virtualSize: number }
  | { kind: "nbd"; source: string; uri: string; format: "raw"; virtualSize: number };

const log = createLogger("nbdhub:sources");

function fieldError(code: string, field: string, message: string, hint = message): DomainError {
  return invalid(code, `${field}: ${message}`, { [field]: hint });
}

/** What the answer says of a qcow2 qemu-img could not read (its own words are logged). */
function qcow2Unreadable(info: Extract<Qcow2Info, { ok: false }>): string {
  if (info.reason === "not_qcow2") return "not a qcow2 image";
  return info.reason === "timeout" ? info.detail : "qemu-img could not read it (see the server log)";
}

/** Size of an NBD source; the tool's words go to the log, the answer is a fixed sentence. */
async function nbdSize(uri: string, source: string, field: string): Promise<number> {
  const r = await inspect("nbdinfo", ["--json", uri]);
  let size: number | undefined;
  if (r.exitCode === 0) {
    try {
      const info = JSON.parse(r.stdout) as { exports?: { "export-size"?: number }[] };
      size = info.exports?.[0]?.["export-size"];
    } catch {
      size = undefined;
    }
  }
  if (typeof size !== "number") {
    const why = r.timedOut
      ? `nbdinfo did not answer within ${INSPECT_TIMEOUT_MS / 1000} s`
      : lastLine(r.stderr) || `nbdinfo exit ${r.exitCode}`;
    log.warn("an NBD source could not be read", { source, error: why });
    throw fieldError("source_unreadable", field, NBD_UNREADABLE, "a reachable NBD export");
  }
  return size;
}

async function inspectFile(
  config: Config,
  source: string,
  field: string,
  asked: SourceFormat | undefined,
): Promise<InspectedSource> {
  const resolved = await resolveInsideRoot(config.sourcesDir, source, field);
  const stat = await fs.stat(resolved.path);
  if (!stat.isFile()) throw fieldError("source_unreadable", field, "not a regular file", "a disk image file");
  const format = asked ?? formatFromName(source);
  // A raw image is its bytes: no tool needs to look at it, so nothing can be made of them.
  if (format === "raw") return { kind: "file", source, path: resolved.path, format, virtualSize: stat.size };
  const info = await qcow2Info(resolved.path, stat);
  if (!info.ok) {
    log.warn("a qcow2 source could not be read", { source, error: info.detail });
    throw fieldError("source_unreadable", field, qcow2Unreadable(info), "a qcow2 disk image");
  }
  const refusal = qcow2Refusal(info);
  if (refusal) {
    const { backingFile, dataFile } = info;
    log.warn("refused a qcow2 source that names another file", { source, backingFile, dataFile });
    const hint = "a standalone qcow2 image (no backing file, no external data file)";
    throw fieldError("source_not_allowed", field, refusal, hint);
  }
  return { kind: "file", source, path: resolved.path, format, virtualSize: info.virtualSize };
}

export async function inspectSource(
  config: Config,
  source: string,
  field: string,
  format?: SourceFormat,
): Promise<InspectedSource> {
  if (isNbdUri(source)) {
    if (format === "qcow2") {
      const why = "an NBD source is read as raw (its server decides the format)";
      throw fieldError("validation_failed", field, why, "format raw, or none");
    }
    const checked = await checkNbdSource(source, config, field);
    if (checked.unreadable) {
      log.warn("an NBD source could not be read", { source, error: checked.unreadable });
      throw fieldError("source_unreadable", field, NBD_UNREADABLE, "a reachable NBD export");
    }
    const virtualSize = await nbdSize(checked.uri, source, field);
    return { kind: "nbd", source, uri: checked.uri, format: "raw", virtualSize };
  }
  return inspectFile(config, source, field, format);
}

/**
 * The source of an accepted disk, checked again right before the copy: the configuration or
 * the file may have changed while the job waited. Raw files need no look; a qcow2 is asked of
 * qemu-img again (answered from memory when the file is unchanged); an NBD URI is checked
 * against today's allow-lists and rebuilt. Throws an Error a person can read.
 */
export async function sourceForCopy(
  config: Config,
  source: string,
  format: SourceFormat,
  virtualSize: number,
): Promise<InspectedSource> {
  if (isNbdUri(source)) {
    const checked = await checkNbdSource(source, config, "source");
    if (checked.unreadable) {
      log.warn("an NBD source could not be read", { source, error: checked.unreadable });
      throw new Error(`source: ${NBD_UNREADABLE}`);
    }
    return { kind: "nbd", source, uri: checked.uri, format: "raw", virtualSize };
  }
  const resolved = await resolveInsideRoot(config.sourcesDir, source, "source");
  if (format === "qcow2") {
    const info = await qcow2Info(resolved.path, await fs.stat(resolved.path), { patient: true });
    if (!info.ok) {
      log.warn("a qcow2 source could not be read before its copy", { source, error: info.detail });
      throw new Error(`source: ${qcow2Unreadable(info)}`);
    }
    const refusal = qcow2Refusal(info);
    if (refusal) throw new Error(`source: not allowed: ${refusal}`);
  }
  return { kind: "file", source, path: resolved.path, format, virtualSize };
}

/**
 * Bytes of real data in the source (not holes or zeros): what the mover will actually write
 * into a fresh target. Used to turn the target's growth into progress between nbdcopy's own
 * reports, which come only every 128 MiB of work (libnbd 1.14). Null when unknown, and when
 * the server is too busy inspecting to measure it (it only refines progress).
 */
export async function dataBytesOf(source: InspectedSource): Promise<number | null> {
  try {
    if (source.kind === "file") {
      const r = await inspect("qemu-img", ["map", "--output=json", "--force-share", "-f", source.format, source.path]);
      if (r.exitCode !== 0) return null;
      const extents = JSON.parse(r.stdout) as { length: number; data: boolean; zero: boolean }[];
      return extents.filter((e) => e.data && !e.zero).reduce((sum, e) => sum + e.length, 0);
    }
    const r = await inspect("nbdinfo", ["--map", "--totals", "--json", source.uri]);
    if (r.exitCode !== 0) return null;
    const totals = JSON.parse(r.stdout) as { size: number; type: number }[];
    // type bit 1 = hole, bit 2 = zero (base:allocation); data is what has neither.
    return totals.filter((t) => (t.type & 2) === 0).reduce((sum, t) => sum + t.size, 0);
  } catch {
    return null;
  }
}
