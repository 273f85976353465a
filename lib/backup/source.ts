// A disk's source, inspected before anything is created: a raw or qcow2 image under the
// sources root (`qemu-img info`), or an nbd:// / nbd+unix:// URI of a source export
// (`nbdinfo --json`) whose host is on the allow-list, checked before any connection.
import "server-only";
import { promises as fs } from "node:fs";
import { execa } from "execa";
import { ApiError } from "@/lib/api/errors";
import type { Config } from "@/lib/config/env";
import { resolveInsideRoot } from "@/lib/fs/safe-path";

export type InspectedSource =
  | { kind: "file"; source: string; path: string; format: "raw" | "qcow2"; virtualSize: number }
  | { kind: "nbd"; source: string; uri: string; format: "raw"; virtualSize: number };

const NBD_SCHEMES = ["nbd:", "nbd+unix:", "nbds:", "nbds+unix:"];

function fieldError(code: string, field: string, message: string, hint = message): ApiError {
  return new ApiError(code, 422, `${field}: ${message}`, { [field]: hint });
}

export function isNbdUri(source: string): boolean {
  return /^nbds?(\+unix)?:\/\//i.test(source);
}

/** The allow-list check of docs/api.md: made on the URI alone, before any connection. */
export function checkNbdSourceHost(source: string, allowedHosts: string[], field: string): URL {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw fieldError("validation_failed", field, "not a valid NBD URI", "an nbd://host:port/export URI");
  }
  if (!NBD_SCHEMES.includes(url.protocol.toLowerCase())) throw fieldError("validation_failed", field, "not an NBD URI", "an nbd:// or nbd+unix:// URI");
  if (url.protocol.toLowerCase().includes("unix")) return url; // a local socket: no host to probe
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (!allowedHosts.includes(host)) {
    throw fieldError("source_not_allowed", field, `host ${host} is not in NBDHUB_NBD_SOURCE_HOSTS`, `an NBD source on an allowed host (${allowedHosts.join(", ")})`);
  }
  return url;
}

function firstLine(text: string | undefined): string {
  return (text ?? "").trim().split("\n").filter(Boolean).slice(-1)[0] ?? "unknown error";
}

export async function inspectSource(config: Config, source: string, field: string): Promise<InspectedSource> {
  if (isNbdUri(source)) {
    checkNbdSourceHost(source, config.nbdSourceHosts, field);
    const result = await execa("nbdinfo", ["--json", source], { reject: false, timeout: 15_000 });
    if (result.exitCode !== 0) {
      throw fieldError("source_unreadable", field, `cannot read the NBD source: ${firstLine(result.stderr)}`, "a reachable NBD export");
    }
    const info = JSON.parse(result.stdout) as { exports?: { "export-size"?: number }[] };
    const size = info.exports?.[0]?.["export-size"];
    if (typeof size !== "number") throw fieldError("source_unreadable", field, "the NBD source did not report its size", "a reachable NBD export");
    return { kind: "nbd", source, uri: source, format: "raw", virtualSize: size };
  }
  const resolved = await resolveInsideRoot(config.sourcesDir, source, field);
  const stat = await fs.stat(resolved.path);
  if (!stat.isFile()) throw fieldError("source_unreadable", field, "not a regular file", "a disk image file");
  const result = await execa("qemu-img", ["info", "--output=json", "--force-share", resolved.path], { reject: false, timeout: 15_000 });
  if (result.exitCode !== 0) throw fieldError("source_unreadable", field, `qemu-img cannot read it: ${firstLine(result.stderr)}`, "a raw or qcow2 disk image");
  const info = JSON.parse(result.stdout) as { format?: string; "virtual-size"?: number; "backing-filename"?: string };
  if (info.format !== "raw" && info.format !== "qcow2") {
    throw fieldError("source_unreadable", field, `format ${info.format ?? "unknown"} is not supported`, "a raw or qcow2 disk image");
  }
  if (info["backing-filename"]) throw fieldError("source_unreadable", field, "qcow2 sources with a backing file are not supported", "a standalone disk image");
  return { kind: "file", source, path: resolved.path, format: info.format, virtualSize: info["virtual-size"] ?? stat.size };
}

/**
 * Bytes of real data in the source (not holes or zeros): what the mover will actually write
 * into a fresh target. Used to turn the target's growth into progress between nbdcopy's own
 * reports, which come only every 128 MiB of work (libnbd 1.14). Null when unknown.
 */
export async function dataBytesOf(source: InspectedSource): Promise<number | null> {
  if (source.kind === "file") {
    const r = await execa("qemu-img", ["map", "--output=json", "--force-share", "-f", source.format, source.path], { reject: false, timeout: 15_000 });
    if (r.exitCode !== 0) return null;
    const extents = JSON.parse(r.stdout) as { length: number; data: boolean; zero: boolean }[];
    return extents.filter((e) => e.data && !e.zero).reduce((sum, e) => sum + e.length, 0);
  }
  const r = await execa("nbdinfo", ["--map", "--totals", "--json", source.uri], { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0) return null;
  const totals = JSON.parse(r.stdout) as { size: number; type: number }[];
  // type bit 1 = hole, bit 2 = zero (base:allocation); data is what has neither.
  return totals.filter((t) => (t.type & 2) === 0).reduce((sum, t) => sum + t.size, 0);
}
