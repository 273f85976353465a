// The allow-list checks of an NBD source (docs/api.md, docs/decisions/009-source-safety.md),
// made before any connection: a TCP source's host and port must be allowed by
// NBDHUB_NBD_SOURCE_HOSTS, a Unix socket must lie, after following links, under a folder of
// NBDHUB_NBD_SOURCE_SOCKET_DIRS. Answers the URI the tools may be given.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { invalid, type DomainError } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import { hostRefusal, parseHostRule, type HostRule } from "@/lib/config/host-rules";
import { canonicalNbdUri, isPlainSocketPath, NbdUriRefused, parseNbdUri } from "@/lib/nbd/uri";

/** The fixed answer for a source that cannot be read: the tool's words go to the log only. */
export const NBD_UNREADABLE = "the NBD source could not be read (see the server log)";

function fieldError(code: string, field: string, message: string, hint: string): DomainError {
  return invalid(code, `${field}: ${message}`, { [field]: hint });
}

function hostRules(config: Config): HostRule[] {
  return config.nbdSourceHosts.map(parseHostRule).filter((r): r is HostRule => r !== null);
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export type CheckedNbdSource = { uri: string; unreadable?: string };

/**
 * Check `source` against the configuration. Throws a 422 (source_not_allowed, or
 * validation_failed for what is not a URI at all). A socket that is allowed but missing or no
 * socket comes back with `unreadable` (for the log), to be answered like any unreadable source.
 */
export async function checkNbdSource(source: string, config: Config, field: string): Promise<CheckedNbdSource> {
  let parsed;
  try {
    parsed = parseNbdUri(source);
  } catch (error) {
    if (error instanceof NbdUriRefused) throw fieldError(error.code, field, error.message, error.hint);
    throw error;
  }
  if (parsed.transport === "tcp") {
    const rules = hostRules(config);
    const why = hostRefusal(parsed, rules);
    if (why) throw fieldError("source_not_allowed", field, why, "an NBD source on an allowed host and port");
    return { uri: canonicalNbdUri(parsed) };
  }
  const dirs = config.nbdSourceSocketDirs;
  const notAllowed = () =>
    fieldError(
      "source_not_allowed",
      field,
      dirs.length === 0
        ? "nbd+unix:// sources are off: no folder is listed in NBDHUB_NBD_SOURCE_SOCKET_DIRS"
        : "the socket is not under a folder listed in NBDHUB_NBD_SOURCE_SOCKET_DIRS",
      "a socket under a folder the server allows",
    );
  // By its name first (no file system access for a path that is plainly elsewhere) ...
  const named = path.resolve(parsed.socket);
  const dir = dirs.find((d) => inside(d, named));
  if (!dir) throw notAllowed();
  // ... then by where it really is, links followed.
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([fs.realpath(named), fs.realpath(dir)]);
  } catch (error) {
    return { uri: "", unreadable: `socket ${named}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  if (!inside(realDir, real) || !isPlainSocketPath(real)) throw notAllowed();
  const stat = await fs.stat(real).catch(() => null);
  if (!stat?.isSocket()) return { uri: "", unreadable: `${real} is not a socket` };
  return { uri: canonicalNbdUri({ ...parsed, socket: real }) };
}
