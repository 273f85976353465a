// Building backup chains in tests of the incremental engine: scattered writes into a source
// with qemu-io, snapshots of the source (qemu-img convert, the truth each point must equal),
// and one incremental run with real qemu-nbd exports on Unix sockets: the source read-only
// (with -B when a bitmap drives the copy), the previous point read-only through its chain, and
// the new overlay read-write.
import { open } from "node:fs/promises";
import { execa } from "execa";
import { copyChangedBlocks, changedBlocksContexts } from "@/lib/backup/incremental/changed-blocks";
import { contentDiff } from "@/lib/backup/incremental/content-diff";
import { verifyExtents } from "@/lib/backup/incremental/verify-extents";
import { BASE_ALLOCATION, connect, type Range } from "@/lib/nbd/client";
import { prng } from "./prng";
import { startQemuNbd, type QemuNbdServer } from "./qemu-nbd-server";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const CLUSTER = 64 * KiB;

export { prng };

export type Write = { offset: number; length: number; pattern: number | "zero" };

/**
 * About `fraction` of a disk of `size` bytes in scattered writes: byte-unaligned offsets,
 * lengths from 3 KiB to ~0.5 MiB (so many cross 64 KiB boundaries), one of them zeroes.
 */
export function scatteredWrites(seed: number, size: number, fraction = 0.02): Write[] {
  const random = prng(seed);
  const writes: Write[] = [];
  let total = 0;
  while (total < size * fraction) {
    const length = 3 * KiB + Math.floor(random() * 500 * KiB);
    const offset = Math.floor(random() * (size - length));
    const pattern = writes.length === 1 ? "zero" : 1 + Math.floor(random() * 254);
    writes.push({ offset, length, pattern });
    total += length;
  }
  return writes;
}

/** qemu-io arguments making these writes. */
export function ioCommands(writes: Write[]): string[] {
  return writes.flatMap((w) => [
    "-c",
    w.pattern === "zero" ? `write -z ${w.offset} ${w.length}` : `write -P ${w.pattern} ${w.offset} ${w.length}`,
  ]);
}

export async function applyWrites(image: string, format: "raw" | "qcow2", writes: Write[]): Promise<void> {
  await execa("qemu-io", ["-f", format, ...ioCommands(writes), image], { timeout: 60_000 });
}

/** What a dirty bitmap of `granularity` marks for these writes: their union, widened to whole granules. */
export function dirtyBytesOf(writes: Write[], granularity = CLUSTER): number {
  const granules = new Set<number>();
  for (const w of writes) {
    for (let g = Math.floor(w.offset / granularity); g * granularity < w.offset + w.length; g += 1) granules.add(g);
  }
  return granules.size * granularity;
}

/** The source as it is now, as a sparse raw file: the truth a point must equal. */
export async function snapshot(image: string, format: "raw" | "qcow2", file: string): Promise<string> {
  await execa("qemu-img", ["convert", "-f", format, "-O", "raw", image, file], { timeout: 120_000 });
  return file;
}

/**
 * Bytes in 64 KiB blocks of `after` that differ from `before` (raw files); past the end of a
 * shorter `before` (the disk grew) it reads zero, and what lay past a shorter `after` is gone.
 */
export async function differingBlockBytes(before: string, after: string, block = CLUSTER): Promise<number> {
  const [fa, fb] = await Promise.all([open(before), open(after)]);
  try {
    const size = (await fb.stat()).size;
    const x = Buffer.alloc(4 * MiB);
    const y = Buffer.alloc(4 * MiB);
    let differing = 0;
    for (let at = 0; at < size; at += x.length) {
      x.fill(0);
      y.fill(0);
      await Promise.all([fa.read(x, 0, x.length, at), fb.read(y, 0, y.length, at)]);
      for (let i = 0; i < x.length && at + i < size; i += block) {
        const end = Math.min(i + block, size - at);
        if (!x.subarray(i, end).equals(y.subarray(i, end))) differing += end - i;
      }
    }
    return differing;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

export async function actualSize(image: string): Promise<number> {
  const { stdout } = await execa("qemu-img", ["info", "-f", "qcow2", "--output=json", image]);
  return (JSON.parse(stdout) as { "actual-size": number })["actual-size"];
}

export async function virtualSize(image: string, format: "raw" | "qcow2"): Promise<number> {
  const { stdout } = await execa("qemu-img", ["info", "-f", format, "--force-share", "--output=json", image]);
  return (JSON.parse(stdout) as { "virtual-size": number })["virtual-size"];
}

export async function createOverlay(file: string, backing: string, size: number): Promise<void> {
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", file, String(size)]);
}

/** qemu-img compare through the point's backing chain: exit 0 = identical. */
export async function compareWithPoint(
  truthRaw: string,
  point: string,
): Promise<{ exitCode?: number; output: string }> {
  const r = await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", truthRaw, point], { reject: false });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

export type RunOutcome = {
  mode: "changed-blocks" | "content-diff";
  changedBytes: number;
  bytesWritten: number;
  bytesZeroed: number;
  changedRanges: Range[];
  progressTotal: number;
  verified: Awaited<ReturnType<typeof verifyExtents>>;
};

async function serve(list: QemuNbdServer[], ...args: Parameters<typeof startQemuNbd>): Promise<QemuNbdServer> {
  const s = await startQemuNbd(...args);
  list.push(s);
  return s;
}

/**
 * One incremental of `source` into `overlay` (already created on the previous point). With a
 * `bitmap` the source is exported with -B and only dirty extents move; without, a content diff
 * against `previousPoint`. Written extents are then verified by reading both sides back.
 */
export async function runIncremental(options: {
  source: string;
  sourceFormat: "raw" | "qcow2";
  overlay: string;
  previousPoint: string;
  bitmap?: string;
  /** Serve the source over TCP (an NBD source on the network) instead of a Unix socket. */
  sourceOverTcp?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<RunOutcome> {
  const servers: QemuNbdServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const src = await serve(servers, options.source, {
      format: options.sourceFormat,
      readOnly: true,
      bitmap: options.bitmap,
      unix: !options.sourceOverTcp,
    });
    const dst = await serve(servers, options.overlay, { format: "qcow2", unix: true });
    const metaContexts = options.bitmap ? changedBlocksContexts(options.bitmap) : [BASE_ALLOCATION];
    const from = await connect(src.uri, { metaContexts });
    const to = await connect(dst.uri);
    let progressTotal = 0;
    try {
      let outcome: Omit<RunOutcome, "verified" | "progressTotal">;
      if (options.bitmap) {
        const r = await copyChangedBlocks(from, to, {
          bitmap: options.bitmap,
          requestSize: 256 * KiB,
          onProgress: (p) => {
            progressTotal = p.total;
            options.onProgress?.(p.done, p.total);
          },
        });
        outcome = { mode: "changed-blocks", ...r };
      } else {
        const prev = await serve(servers, options.previousPoint, { format: "qcow2", readOnly: true, unix: true });
        const before = await connect(prev.uri);
        try {
          const r = await contentDiff(from, before, to, {
            requestSize: MiB,
            onProgress: (p) => {
              progressTotal = p.total;
              options.onProgress?.(p.done, p.total);
            },
          });
          outcome = { mode: "content-diff", ...r };
        } finally {
          await before.disconnect();
        }
      }
      const verified = await verifyExtents(from, to, outcome.changedRanges);
      return { ...outcome, progressTotal, verified };
    } finally {
      await Promise.all([from.disconnect(), to.disconnect()]);
    }
  } finally {
    await stop();
  }
}
