// Backups and secrets are for the server's own user only: repository folders 0700, backup
// files 0600, the session key 0600 in a 0700 folder. qemu-nbd, qemu-img and nbdcopy run as the
// server's user, so they need nothing more; the embedded PostgreSQL runs as `postgres` and
// needs only its own cluster under the data directory (and to traverse the folders above it),
// which is never inside the repository's walk.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Logger } from "@/lib/log";
import { messageOf } from "@/lib/messages";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Any permission bit for the group or for others. */
const SHARED_BITS = 0o077;

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/**
 * Take group and other permissions off a folder tree (folders 0700, files owner-only), skipping
 * symlinks and any folder in `keep` (and what is above it: a folder that holds a kept one
 * must stay traversable). Returns how many entries were changed.
 */
async function makeTreePrivate(root: string, keep: string[] = []): Promise<number> {
  let changed = 0;
  const visit = async (entry: string): Promise<void> => {
    if (keep.some((k) => inside(k, entry))) return; // a kept folder, or inside one
    const holdsKept = keep.some((k) => inside(entry, k)); // must stay traversable for it
    const stat = await fs.lstat(entry).catch(() => undefined);
    if (!stat || stat.isSymbolicLink()) return;
    if (!holdsKept && (stat.mode & SHARED_BITS) !== 0 && (stat.isDirectory() || stat.isFile())) {
      await fs.chmod(entry, stat.isDirectory() ? PRIVATE_DIR_MODE : stat.mode & 0o700);
      changed += 1;
    }
    if (!stat.isDirectory()) return;
    for (const child of await fs.readdir(entry).catch(() => [] as string[])) await visit(path.join(entry, child));
  };
  await visit(path.resolve(root));
  return changed;
}

/** Make the repository's existing folders and backups private; says in the log what it changed. */
export async function makeRepositoryPrivate(repositoryDir: string, keep: string[], log: Logger): Promise<void> {
  try {
    const changed = await makeTreePrivate(repositoryDir, keep);
    if (changed > 0)
      log.warn(
        `made ${changed} repository folders and backup files private to nbdhub's user (folders 0700, files 0600)`,
      );
  } catch (error) {
    log.warn("could not make the repository private", { error: messageOf(error) });
  }
}

/**
 * A secret file must be readable by its owner only. A looser mode (say 0644 after a restore
 * from a backup) is fixed to 0600 with a warning, as its content may have been read; when it
 * cannot be fixed (another owner), the start is refused with what to do.
 */
export async function checkSecretFile(file: string, log: Logger, what: string): Promise<void> {
  const stat = await fs.stat(file);
  const dir = path.dirname(file);
  const dirStat = await fs.stat(dir);
  if ((dirStat.mode & SHARED_BITS) !== 0) await fs.chmod(dir, PRIVATE_DIR_MODE).catch(() => undefined);
  if ((stat.mode & SHARED_BITS) === 0) return;
  const was = (stat.mode & 0o777).toString(8).padStart(4, "0");
  try {
    await fs.chmod(file, PRIVATE_FILE_MODE);
  } catch (error) {
    throw new Error(
      `${what} ${file} has mode ${was} (readable by others) and could not be made 0600 ` +
        `(${messageOf(error)}): run \`chmod 600 ${file}\` as its owner, or delete it to make a new one`,
    );
  }
  log.warn(
    `${what} ${file} had mode ${was} (readable by others); it is now 0600. Delete it to make a new one if others may have read it`,
  );
}
