// The in-process mover of an incremental (decision 010): changed blocks or content diff from
// the source into the job's export (the new overlay, on its pool port), with our NBD client.
// A file source has a private read-only qemu-nbd on a Unix socket (with -B for changed
// blocks), which answers the bitmap and the allocation and holds the file read-only while its
// data is read from the file itself (decision 034); the previous point, for a content diff, is
// read through another on its target file (read-only, so a completed backup stays untouched);
// an NBD source is read directly. What was written is then read back from the new point's file,
// once the export flushed it, and compared with the source's bytes: read again from a file
// source, kept (or their digests) for an NBD source (verifyWritten). A bitmap that turns out
// unusable here (the NBD export does not offer it, qemu-nbd refuses it) falls back to a
// content diff, and the caller is told why: never less than what changed is copied.
import "server-only";
import { BASE_ALLOCATION, connect, type NbdClient } from "@/lib/nbd/client";
import type { PrivateReader } from "@/lib/nbd/private-reader";
import type { ExportManagerApi } from "@/lib/nbd/types";
import type { PreviousPoint } from "./copy-plan";
import { changedBlocksContexts, copyChangedBlocks } from "./incremental/changed-blocks";
import { contentDiff } from "./incremental/content-diff";
import type { CopyPlan } from "./incremental/plan";
import { verifyWritten, WrittenLog } from "./incremental/verify-extents";
import { FileReads } from "./incremental/file-reads";
import type { InspectedSource } from "./source";
import { INCREMENTAL_TLS_REFUSAL, isTlsNbdSource } from "./incremental/tls-source";
import { messageOf } from "@/lib/messages";

export type IncrementalPlan = Exclude<CopyPlan, { mode: "full" }>;

/**
 * The engine's requests from the source: 256 KiB (nbdcopy's size), 16 in flight. Progress moves
 * when a request completes, so a request must complete well within the stall time even from a
 * slow source: a 4 MiB read from a source at 4 Mbit/s took 8 s and the disk was called stalled
 * (long campaign seed 1791164394, stall time 2 s); 256 KiB takes 0.5 s.
 */
const ENGINE_REQUESTS = { requestSize: 256 * 1024, inFlight: 16 };

export type EngineProgress = {
  /** What the progress counts: bytes to move (changed blocks) or to examine (content diff). */
  done: number;
  total: number;
  /** Bytes written into the target so far (data and zeroes). */
  written: number;
  /** Changed bytes known so far. */
  changed: number | null;
};

export type EngineCopyResult = {
  /** The plan that ran: the one given, or its content-diff fallback. */
  plan: IncrementalPlan;
  changedBytes: number;
  /** Bytes written into the target: data, and zeroes (WRITE_ZEROES). */
  writtenBytes: number;
  /** Bytes read back from both sides and found identical. */
  verifiedBytes: number;
};

/**
 * The source side of an incremental: its plan (the given one, or the content-diff fallback when
 * qemu-nbd refused the bitmap) and, for a file, its private reader. Started beside the job's
 * own export (runDisk), since neither needs the other: the two qemu-nbd starts overlap.
 */
export type EngineSource = {
  plan: IncrementalPlan;
  source: InspectedSource;
  previous: PreviousPoint;
  /** The file source's reader; null for an NBD source (read directly). */
  reader: PrivateReader | null;
  /** The previous point's reader, for a content diff of a file source. */
  previousReader: PrivateReader | null;
  /** Stops the readers (idempotent). */
  stop(): Promise<void>;
};

export type EngineSourceInput = {
  exports: ExportManagerApi;
  source: InspectedSource;
  plan: IncrementalPlan;
  previous: PreviousPoint;
  /** The plan changed (a fallback); said in the event log before the copy goes on. */
  onFallback(plan: IncrementalPlan): Promise<void>;
};

export type EngineCopyInput = {
  exports: ExportManagerApi;
  /** From startEngineSource; its stop begins when the copy ends, however; the caller awaits it. */
  engineSource: EngineSource;
  /** The job's export of the new overlay. */
  destinationUri: string;
  /** The new overlay's file: read back from once the export flushed it (decision 034). */
  destinationPath: string;
  signal: AbortSignal;
  onProgress(progress: EngineProgress): void;
  /** The plan changed (a fallback); said in the event log before the copy goes on. */
  onFallback(plan: IncrementalPlan): Promise<void>;
  /**
   * The copy is over and the read-back begins: the disk says "verifying" from here, so what it
   * shows matches what runs (the previous point's reader is stopped right after).
   */
  onCopied(): Promise<void>;
};

/** The content diff a doubtful bitmap falls back to, worded as planCopy words its own. */
function fallback(previous: PreviousPoint, why: string): IncrementalPlan {
  const reason = `content diff since job ${previous.jobId}: ${why}; every block was compared`;
  return { mode: "content-diff", reason, backingJobId: previous.jobId };
}

function lastLine(error: unknown): string {
  const text = messageOf(error);
  return text.split("\n").filter(Boolean).pop() ?? text;
}

/** Start the source side: a file source's private reader (with -B for changed blocks), and for a
 * content diff the previous point's. Nothing stays running when it throws. */
export async function startEngineSource(input: EngineSourceInput): Promise<EngineSource> {
  const { exports, source, previous } = input;
  let plan = input.plan;
  const readers: PrivateReader[] = [];
  const stop = async () => {
    await Promise.allSettled(readers.map((r) => r.stop()));
  };
  // A job accepted before the refusal at POST existed: it could only fail later, saying less.
  if (source.kind === "nbd" && isTlsNbdSource(source.uri)) throw new Error(INCREMENTAL_TLS_REFUSAL);
  if (source.kind !== "file") return { plan, source, previous, reader: null, previousReader: null, stop };
  try {
    let reader: PrivateReader | undefined;
    const bitmap = plan.mode === "changed-blocks" ? plan.bitmap : undefined;
    if (bitmap) {
      try {
        reader = await exports.startReader({ file: source.path, format: source.format, bitmap });
      } catch (error) {
        plan = fallback(previous, `qemu-nbd could not export bitmap ${bitmap} (${lastLine(error)})`);
        await input.onFallback(plan);
      }
    }
    reader ??= await exports.startReader({ file: source.path, format: source.format });
    readers.push(reader);
    let previousReader: PrivateReader | null = null;
    if (plan.mode === "content-diff") {
      previousReader = await exports.startReader({ file: previous.targetPath, format: "qcow2" });
      readers.push(previousReader);
    }
    return { plan, source, previous, reader, previousReader, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A file source's reader holds the file read-only (qemu's lock: no writer can open it) while the
 * engine reads its data from the file itself: should the reader end before the copy does, the
 * file is no longer vouched for, and the copy stops.
 */
function whileReaderLives(reader: PrivateReader, source: string, signal: AbortSignal) {
  const gone = new AbortController();
  let ending = false;
  void reader.exited.then(() => {
    if (!ending) gone.abort(new Error(`the private reader of ${source} (pid ${reader.pid}) ended before the copy did`));
  });
  return {
    signal: AbortSignal.any([signal, gone.signal]),
    end: () => {
      ending = true;
    },
  };
}

export async function engineCopy(input: EngineCopyInput): Promise<EngineCopyResult> {
  const { exports, engineSource } = input;
  const { source, previous } = engineSource;
  const readers: PrivateReader[] = [];
  const clients: NbdClient[] = [];
  const files: FileReads[] = [];
  const watch = engineSource.reader
    ? whileReaderLives(engineSource.reader, source.source, input.signal)
    : { signal: input.signal, end: () => {} };
  const { signal } = watch;
  const open = async (uri: string, metaContexts: string[], enterByName = false) => {
    const client = await connect(uri, { metaContexts, signal, enterByName });
    clients.push(client);
    return client;
  };
  const reader = async (file: string) => {
    const r = await exports.startReader({ file, format: "qcow2" });
    readers.push(r);
    return r;
  };
  let plan = engineSource.plan;
  let previousDone = async () => {};
  // A file source's data comes from the file (through the page cache, in place while it
  // answers from there); its reader still answers the bitmap and the allocation, and whatever
  // the file's map does not show plainly (decision 034).
  const readsFile = engineSource.reader !== null && source.kind === "file";
  // Every piece written: for a source read from its file, only where it went (the read-back reads
  // the file again, as cheap as keeping its bytes, and nothing is held); for an NBD source, with
  // the source's bytes it was made of (kept while the process's budget lasts, else a digest),
  // whose share of the budget goes back however the copy ends.
  const log = new WrittenLog(readsFile ? "places" : undefined);
  const fallBack = async (why: string) => {
    plan = fallback(previous, why);
    await input.onFallback(plan);
  };
  try {
    // The source (asking for the bitmap when one drives the copy), the new point's export, and
    // a second connection to it for the read-back, all at once.
    const bitmap = plan.mode === "changed-blocks" ? plan.bitmap : undefined;
    const sourceUri = engineSource.reader?.uri ?? (source.kind === "nbd" ? source.uri : null);
    if (!sourceUri) throw new Error(`the source ${source.source} has no reader`);
    const [src, dst, readBack] = await Promise.all([
      open(sourceUri, bitmap ? changedBlocksContexts(bitmap) : [BASE_ALLOCATION]),
      // The job's own export, whose name the hub knows: entered by name, without GO's info
      // replies, which qemu-nbd's Nagle holds back for our delayed ACK (40 ms a connection).
      open(input.destinationUri, [], true),
      open(input.destinationUri, [], true),
    ]);
    if (!engineSource.reader && bitmap && !src.metaContexts.has(`qemu:dirty-bitmap:${bitmap}`)) {
      await fallBack(`the NBD source does not offer qemu:dirty-bitmap:${bitmap}`);
    }
    let from: NbdClient | FileReads = src;
    if (readsFile) {
      from = await FileReads.open(src, source.path, source.format);
      files.push(from);
    }

    let changedBytes: number;
    let writtenBytes: number;
    // Nothing is flushed while copying: the new point is flushed once, before its read-back.
    if (plan.mode === "changed-blocks") {
      const r = await copyChangedBlocks(from, dst, {
        bitmap: plan.bitmap,
        ...ENGINE_REQUESTS,
        signal,
        flush: false,
        onWritten: log.add,
        buffers: log.buffers,
        onProgress: (p) => input.onProgress({ done: p.done, total: p.total, written: p.done, changed: p.total }),
      });
      changedBytes = r.changedBytes;
      writtenBytes = r.bytesWritten + r.bytesZeroed;
    } else {
      const prevReader = engineSource.previousReader ?? (await reader(previous.targetPath));
      const prev = await open(prevReader.uri, [BASE_ALLOCATION]);
      previousDone = async () => {
        await prev.disconnect();
        await prevReader.stop();
      };
      const r = await contentDiff(from, prev, dst, {
        ...ENGINE_REQUESTS,
        signal,
        flush: false,
        onWritten: log.add,
        onProgress: (p) =>
          input.onProgress({ done: p.done, total: p.total, written: p.changedBytes, changed: p.changedBytes }),
      });
      changedBytes = r.changedBytes;
      writtenBytes = r.bytesWritten + r.bytesZeroed;
    }
    // The disk says "verifying" from here (its database write is not waited for).
    void input.onCopied();
    // The previous point is not read again: its reader goes beside the read-back.
    const previousGone = previousDone().catch(() => undefined);
    // What was written, read back from the new point's file once the export flushed it (its
    // metadata is then in the file), against the source's bytes kept while copying (or their
    // digests); what the file's map does not show plainly, through the export, on the
    // connection that did not write it.
    await dst.flush({ signal });
    const point = await FileReads.open(readBack, input.destinationPath, "qcow2");
    files.push(point);
    const check = await verifyWritten(from, point, log, { signal });
    if (!check.identical) {
      throw new Error(`verification failed: the target differs from the source at byte ${check.offset}`);
    }
    await previousGone;
    return { plan, changedBytes, writtenBytes, verifiedBytes: check.bytesCompared };
  } finally {
    watch.end();
    log.release();
    await Promise.allSettled(files.map((f) => f.close()));
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    // The source's reader stops beside what comes next (the export's stop, the check): the
    // caller awaits engineSource.stop() before the job ends (runDisk), and it never rejects.
    void engineSource.stop();
    await Promise.allSettled(readers.map((r) => r.stop()));
  }
}
