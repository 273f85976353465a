// An NBD device whose reads come from the image file itself where its metadata says plainly
// where the bytes are, and from the NBD export for the rest (decision 034). An incremental's
// data moves through the kernel's page cache (read in place while it answers from there, else on
// the thread pool), not through a qemu-nbd and a socket: the source's changed blocks (the
// export still gives the dirty bitmap and the allocation), and the read-back of the new point
// after its flush.
// A raw file is read at the guest offset; a qcow2 through Qcow2Map. Only the opened file is
// read, whatever it holds; what the map does not know is read through the export, as before.
import fs from "node:fs";
import type { NbdDevice, RequestOptions } from "@/lib/nbd/client";
import { abortReason } from "@/lib/nbd/client/errors";
import { Qcow2Map, type Qcow2Segment } from "./qcow2-map";

export type FileReadStats = {
  /** Bytes read from the file. */
  fromFile: number;
  /** Of those, bytes read on the thread pool (the rest in place, from the page cache). */
  onThreadPool: number;
  /** Bytes that read as zero from the metadata alone. */
  zero: number;
  /** Bytes read through the export. */
  viaExport: number;
};

type Mapper = (offset: number, length: number) => Promise<Qcow2Segment[]>;

/**
 * A read in place that brought blocks in from the disk, or took longer than this (the process
 * may also just have waited for a core), sends the file's later reads to the thread pool.
 */
export const SYNC_READ_LIMIT_MS = 10;

/**
 * pread into `buf` at `position`: the bytes read. The callback API, not a FileHandle's: one
 * thread-pool request and one promise a piece, where FileHandle.read costs several promises.
 */
function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, buf.length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Rejects as every NBD device does once the caller's signal is aborted: with its reason. */
function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
}

export class FileReads implements NbdDevice {
  readonly stats: FileReadStats = { fromFile: 0, onThreadPool: 0, zero: 0, viaExport: 0 };
  /** Reads are made in place until one is slower than `syncReadLimitMs` (see pread). */
  private inPlace = true;

  private constructor(
    private readonly device: NbdDevice,
    private readonly fd: number,
    private readonly map: Mapper,
    /** Why the file's metadata maps nothing (all reads go through the export), or null. */
    readonly unmapped: string | null,
    private readonly syncReadLimitMs: number,
  ) {}

  /**
   * `device` reads the image `path` of `format`, of the same size. The file is opened here and
   * read only after this returns: open it once the image's metadata is final (the source is
   * exported read-only; the new point is flushed).
   */
  static async open(
    device: NbdDevice,
    path: string,
    format: "raw" | "qcow2",
    { syncReadLimitMs = SYNC_READ_LIMIT_MS }: { syncReadLimitMs?: number } = {},
  ): Promise<FileReads> {
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(path, "r", (error, opened) => (error ? reject(error) : resolve(opened))),
    );
    try {
      const { size } = await new Promise<fs.Stats>((resolve, reject) =>
        fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats))),
      );
      if (format === "raw") {
        const map: Mapper = async (offset, length) =>
          offset + length <= size
            ? [{ kind: "data", offset, length, host: offset }]
            : [{ kind: "other", offset, length }];
        return new FileReads(device, fd, map, null, syncReadLimitMs);
      }
      const read = async (position: number, length: number) => {
        const buf = Buffer.allocUnsafe(length);
        return buf.subarray(0, await readAt(fd, buf, position));
      };
      const qcow2 = await Qcow2Map.open(read, size);
      const unmapped =
        qcow2.unmapped ?? (qcow2.header.size !== device.size ? `size ${qcow2.header.size} is not the export's` : null);
      const map: Mapper =
        unmapped === null
          ? (offset, length) => qcow2.segments(offset, length)
          : async (offset, length) => [{ kind: "other", offset, length }];
      return new FileReads(device, fd, map, unmapped, syncReadLimitMs);
    } catch (error) {
      fs.close(fd, () => undefined);
      throw error;
    }
  }

  get exportName() {
    return this.device.exportName;
  }
  get size() {
    return this.device.size;
  }
  get features() {
    return this.device.features;
  }
  get blockSize() {
    return this.device.blockSize;
  }
  get metaContexts() {
    return this.device.metaContexts;
  }

  async read(offset: number, length: number, options?: RequestOptions): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(offset, buf, options);
    return buf;
  }

  async readInto(offset: number, target: Buffer, options?: RequestOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const segments = await this.map(offset, target.length);
    // The usual piece: one run of data clusters, one read.
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only?.kind === "data" && (await this.pread(target, only.host)) === target.length) {
      this.stats.fromFile += target.length;
      return;
    }
    await Promise.all(
      segments.map(async (s) => {
        const into = target.subarray(s.offset - offset, s.offset - offset + s.length);
        if (s.kind === "zero") {
          into.fill(0);
          this.stats.zero += s.length;
          return;
        }
        if (s.kind === "data") {
          if ((await this.pread(into, s.host)) === s.length) {
            this.stats.fromFile += s.length;
            return;
          }
          // Shorter than the map said (the file ends early): qemu answers for it.
        }
        throwIfAborted(options?.signal);
        await this.device.readInto(s.offset, into, options);
        this.stats.viaExport += s.length;
      }),
    );
  }

  write: NbdDevice["write"] = (...args) => this.device.write(...args);
  writeZeroes: NbdDevice["writeZeroes"] = (...args) => this.device.writeZeroes(...args);
  trim: NbdDevice["trim"] = (...args) => this.device.trim(...args);
  flush: NbdDevice["flush"] = (...args) => this.device.flush(...args);
  blockStatus: NbdDevice["blockStatus"] = (...args) => this.device.blockStatus(...args);

  private closed = false;
  /** Reads on the thread pool; the descriptor is closed only when none is left (a number reused
   * by another open must never be read under this one's name). */
  private reading = 0;
  private idle: (() => void)[] = [];

  /**
   * One pread. In place (readSync) while the file answers from the page cache: a 64 KiB piece
   * takes some 20 µs there, less than handing it to the thread pool and back, which on two cores
   * cost the data phase 50 ms of CPU in three (the diagnostic, decision 034). The first read
   * the disk answered (block input counted by getrusage), or slower than the limit, sends this
   * file's later reads to the thread pool, so the event loop waits for a disk at most once.
   */
  private async pread(into: Buffer, position: number): Promise<number> {
    if (this.closed) throw new Error("file reads: closed");
    if (this.inPlace) {
      const began = performance.now();
      const blocks = process.resourceUsage().fsRead;
      const n = fs.readSync(this.fd, into, 0, into.length, position);
      // The disk answered (blocks came in), or the read took long however it was served.
      if (process.resourceUsage().fsRead > blocks || performance.now() - began > this.syncReadLimitMs) {
        this.inPlace = false;
      }
      return n;
    }
    this.stats.onThreadPool += into.length;
    this.reading += 1;
    try {
      return await readAt(this.fd, into, position);
    } finally {
      this.reading -= 1;
      if (this.reading === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Closes the file (once, when its reads are done); the export's connection is the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reading > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
  }

  /** The NbdDevice's disconnect: closes the file and disconnects the export. */
  async disconnect(options?: { timeoutMs?: number }): Promise<void> {
    await this.close();
    await this.device.disconnect(options);
  }
}
