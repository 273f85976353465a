// Figure 7's change to its disk: 5 % of it in 64 KiB writes at scattered, aligned offsets,
// chosen by a seeded PRNG (reproducible), as qemu-io commands. No process is run here, so the
// diagnostics that run under plain `node --import tsx` (where execa does not load) share it.
import { prng } from "../../tests/helpers/prng";

export const CHANGE_CHUNK = 64 * 1024;

/** The `-c write …` arguments of qemu-io, and the bytes they change. */
export function fivePercentChanges(sizeBytes: number, seed: number): { commands: string[]; bytes: number } {
  const chunks = sizeBytes / CHANGE_CHUNK;
  const wanted = Math.round(chunks * 0.05);
  const picked = new Set<number>();
  const random = prng(seed);
  while (picked.size < wanted) picked.add(Math.floor(random() * chunks));
  const commands = [...picked].flatMap((c, i) => [
    "-c",
    `write -P ${1 + (i % 250)} ${c * CHANGE_CHUNK} ${CHANGE_CHUNK}`,
  ]);
  return { commands, bytes: picked.size * CHANGE_CHUNK };
}
