// The pre-shared key of one export that requires TLS (NBDHUB_NBD_TLS=required): made with
// crypto.randomBytes when the export starts, written where qemu-nbd's tls-creds-psk reads it
// (a 0700 folder under the run directory holding a 0600 `keys.psk`, one `username:hexkey` line),
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

export function tlsDirFor(runDir: string, exportId: string): string {
  return path.join(runDir, `tls-${exportId}`);
}

/** A new key; the username is a name, not a secret (no ":", which ends it in keys.psk). */
export function newExportKey(username: string): ExportTlsKey {
  if (!/^[A-Za-z0-9._-]+$/.test(username)) throw new Error(`not a PSK username: ${username}`);
  return { username, psk: randomBytes(KEY_BYTES).toString("hex") };
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
  if (!/^[A-Za-z0-9._-]+$/.test(key.username) || !/^([0-9a-f]{2})+$/.test(key.psk)) throw new Error("not a PSK key");
  return { username: key.username, psk: key.psk };
}
