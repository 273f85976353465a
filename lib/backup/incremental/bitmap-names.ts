// Names of the dirty bitmaps nbdhub keeps on qcow2 sources: one per job, `nbdhub-<jobId>`.
// The name goes on qemu-img's command line and into an NBD meta context
// (`qemu:dirty-bitmap:NAME`), so only a plain character set is allowed.
export const BITMAP_PREFIX = "nbdhub-";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$/;

export function isValidBitmapName(name: string): boolean {
  return NAME.test(name);
}

/** The bitmap a job adds on each of its qcow2 file sources when it starts. */
export function bitmapNameOf(jobId: string): string {
  const name = `${BITMAP_PREFIX}${jobId}`;
  if (!isValidBitmapName(name)) throw new RangeError(`job id ${JSON.stringify(jobId)} cannot name a bitmap`);
  return name;
}

/** The job whose bitmap this is, or null for a bitmap nbdhub did not make. */
export function jobIdOfBitmap(name: string): string | null {
  if (!name.startsWith(BITMAP_PREFIX) || name.length === BITMAP_PREFIX.length) return null;
  return name.slice(BITMAP_PREFIX.length);
}
