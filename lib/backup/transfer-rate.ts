// Progress of a running copy as the console shows it (backup disks and restore disks alike):
// written at most about once a second (to the database and the event streams), plus the end,
// with the average rate since the start and the time left at that rate.

/** Says whether a progress write is due now: at most one a second, unless `force` (the end). */
export function oncePerSecond(): (now: number, force: boolean) => boolean {
  let lastWrite = 0;
  return (now, force) => {
    if (!force && now - lastWrite < 1000) return false;
    lastWrite = now;
    return true;
  };
}

/** The average rate since `started` (ms) and the seconds left at it (null before anything moved). */
export function transferRate(
  done: number,
  total: number,
  started: number,
  now: number,
): { bytesPerSecond: number; etaSeconds: number | null } {
  const seconds = (now - started) / 1000;
  const bytesPerSecond = seconds > 0 ? done / seconds : 0;
  return { bytesPerSecond, etaSeconds: bytesPerSecond > 0 ? Math.round((total - done) / bytesPerSecond) : null };
}
