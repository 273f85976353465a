// The pre-shared key of one export that requires TLS (NBDHUB_NBD_TLS=required): made with
// crypto.randomBytes when the export starts, written where qemu-nbd's tls-creds-psk reads it
// (a 0700 folder under the run directory holding a 0600 `keys.psk`, one `username:hexkey` line,
// and the public DH group `dh-params.pem`),
// handed to the client once (the answer that started it), and removed when the export ends.
// Only the folder's path is ever on a command line; the key never is
// (docs/decisions/019-nbd-tls.md).
import "server-only";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { ExportTlsKey } from "./types";

/** Key folders in the run directory: `tls-<export id>`. */
export const TLS_DIR = /^tls-exp_[0-9a-f]+$/;

/** The qemu object id of the credentials (one per qemu-nbd, so one name serves all). */
export const TLS_CREDS_ID = "nbdhub-tls";

const KEY_BYTES = 32;
/** A PSK identity: a name, not a secret, and no ":" (which ends it in keys.psk). */
const PSK_USERNAME = /^[A-Za-z0-9._-]+$/;

/**
 * The ffdhe2048 group of RFC 7919 (public, standard), as qemu's tls-creds-psk reads it from
 * `dh-params.pem` beside the key. Without it qemu-nbd makes new 2048-bit DH parameters at every
 * start: 30 ms to 2.1 s, against 8-170 ms with it (measured for figure 9 of the benchmark).
 * Made with `openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048`.
 */
const FFDHE2048_PEM = `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`;

export function tlsDirFor(runDir: string, exportId: string): string {
  return path.join(runDir, `tls-${exportId}`);
}

/** A new key for the PSK identity `username`. */
export function newExportKey(username: string): ExportTlsKey {
  if (!PSK_USERNAME.test(username)) throw new Error(`not a PSK username: ${username}`);
  return { username, psk: randomBytes(KEY_BYTES).toString("hex") };
}

/**
 * A key per disk of one job or restore (identity `<owner>-<disk>`), made before its exports start
 * so that the answer that created the work can hand them out.
 */
export function newDiskKeys(owner: string, disks: readonly { diskId: string }[]): Map<string, ExportTlsKey> {
  return new Map(disks.map(({ diskId }) => [diskId, newExportKey(`${owner}-${diskId}`)]));
}

/** An answer's disks with their keys: for the answer that created the work, and no other. */
export function withDiskKeys<D extends { diskId: string }>(
  disks: D[],
  keys: ReadonlyMap<string, ExportTlsKey>,
): (D & { tls?: ExportTlsKey })[] {
  return disks.map((disk) => (keys.has(disk.diskId) ? { ...disk, tls: keys.get(disk.diskId) } : disk));
}

/**
 * An export's key in its own folder: `given` (a caller that hands it out itself), else a new one
 * whose username is the export's id.
 */
export async function makeExportKey(
  runDir: string,
  exportId: string,
  given?: ExportTlsKey,
): Promise<ExportTlsKey & { dir: string }> {
  const dir = tlsDirFor(runDir, exportId);
  const key = given ? newExportKeyChecked(given) : newExportKey(exportId);
  // A leftover of the same id cannot exist (ids are random), but never write into one.
  await fs.mkdir(dir, { mode: 0o700 });
  try {
    await fs.writeFile(path.join(dir, "keys.psk"), `${key.username}:${key.psk}\n`, { mode: 0o600, flag: "wx" });
    await fs.writeFile(path.join(dir, "dh-params.pem"), FFDHE2048_PEM, { mode: 0o600, flag: "wx" });
  } catch (error) {
    await removeExportKey(runDir, exportId);
    throw error;
  }
  return { ...key, dir };
}

/** Remove an export's key folder (nothing when there is none). */
export async function removeExportKey(runDir: string, exportId: string): Promise<void> {
  await fs.rm(tlsDirFor(runDir, exportId), { recursive: true, force: true });
}

function newExportKeyChecked(key: ExportTlsKey): ExportTlsKey {
  if (!PSK_USERNAME.test(key.username) || !/^([0-9a-f]{2})+$/.test(key.psk)) throw new Error("not a PSK key");
  return { username: key.username, psk: key.psk };
}
