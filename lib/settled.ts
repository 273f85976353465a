// Two pieces of work side by side, ended as if one followed the other: both settle before
// anything goes on, and the first failure (in the order given) is thrown. A failure's own
// writes (a disk marked failed) can then never be overtaken by the other piece still running.

/** Both settled; the first failure thrown (in the order given), once nothing is still running. */
export async function bothSettled<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === "rejected") throw ra.reason;
  if (rb.status === "rejected") throw rb.reason;
  return [ra.value, rb.value];
}
