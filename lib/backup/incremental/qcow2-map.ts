// Where a qcow2 image keeps a guest range, read from its own metadata as the qcow2 format
// specifies it (qemu's docs/interop/qcow2.txt): the header, the active L1 table and the L2
// tables the range needs (cached). Used to read an incremental's data straight from the file
// (file-reads.ts, decision 034) instead of through a qemu-nbd.
//
// Only what is plainly readable is mapped: a standard cluster at a host offset (`data`), a
// cluster with the all-zero flag (`zero`). Everything else is `other` and is read through
// qemu, which knows it: unallocated clusters (a backing file may show through), compressed
// clusters, and every image this reader does not fully understand (encryption, an external
// data file, extended L2 entries, a corrupt flag, version 2 zero bits, reserved bits set, an
// offset past the file's end). The file is only ever read through its own descriptor, so
// whatever its metadata says, nothing else of the host is read.
export type Qcow2Segment =
  | { kind: "data"; offset: number; length: number; host: number }
  | { kind: "zero" | "other"; offset: number; length: number };

export type ReadAt = (position: number, length: number) => Promise<Buffer>;

const MAGIC = 0x514649fb;
/** Incompatible features this reader maps past: 0 dirty (refcounts only), 3 compression type
 * (compressed clusters are `other` anyway). Any other bit: nothing is mapped. */
const KNOWN_INCOMPATIBLE = (1 << 0) | (1 << 3);
/** L1 and L2 entries: bits 9-55 are the offset (the high word's low 24 bits and the low word's 9-31). */
const OFFSET_HIGH_MASK = 0x00ffffff;
const OFFSET_LOW_MASK = 0xfffffe00;
const TWO_32 = 2 ** 32;
/** L2 entry: bit 62 compressed; bits 56-61 reserved; bit 0 all-zero (version 3); bits 1-8 reserved. */
const L2_COMPRESSED_HIGH = 1 << 30;
const L2_RESERVED_HIGH = 0x3f000000;
const L2_RESERVED_LOW = 0x1fe;
/** The most L1 entries read (8 bytes each): 32 MiB of table, far past any sane image's. */
const MAX_L1_ENTRIES = 4 * 1024 * 1024;

export type Qcow2Header = {
  version: number;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1Offset: number;
  /** Why nothing of this image is mapped (every range is `other`), or null. */
  unmapped: string | null;
};

function u64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64BE(at);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
}

/** The header's fields this reader needs, or why the image is not mapped at all. */
export function parseQcow2Header(buf: Buffer, fileSize: number): Qcow2Header | { invalid: string } {
  if (buf.length < 72 || buf.readUInt32BE(0) !== MAGIC) return { invalid: "not a qcow2 image" };
  const version = buf.readUInt32BE(4);
  const clusterBits = buf.readUInt32BE(20);
  const size = u64(buf, 24);
  const l1Size = buf.readUInt32BE(36);
  const l1Offset = u64(buf, 40);
  if (version !== 2 && version !== 3) return { invalid: `qcow2 version ${version}` };
  if (clusterBits < 9 || clusterBits > 21) return { invalid: `cluster bits ${clusterBits}` };
  const header: Qcow2Header = { version, clusterBits, size, l1Size, l1Offset, unmapped: null };
  const unmapped = (why: string): Qcow2Header => ({ ...header, unmapped: why });
  if (!Number.isSafeInteger(size)) return unmapped("virtual size out of range");
  if (buf.readUInt32BE(32) !== 0) return unmapped("encrypted");
  if (version === 3) {
    if (buf.length < 104) return { invalid: "short version 3 header" };
    const incompatibleHigh = buf.readUInt32BE(72);
    const incompatibleLow = buf.readUInt32BE(76);
    if (incompatibleHigh !== 0 || (incompatibleLow & ~KNOWN_INCOMPATIBLE) !== 0) {
      return unmapped(
        `incompatible features 0x${incompatibleHigh.toString(16)}${incompatibleLow.toString(16).padStart(8, "0")}`,
      );
    }
  }
  const clusterSize = 2 ** clusterBits;
  const perL2 = clusterSize / 8;
  const needed = Math.ceil(size / (clusterSize * perL2));
  if (l1Size < needed || l1Size > MAX_L1_ENTRIES) return unmapped(`L1 size ${l1Size} for ${needed} tables`);
  if (l1Size > 0 && (l1Offset % clusterSize !== 0 || l1Offset + l1Size * 8 > fileSize)) {
    return unmapped("L1 table outside the file");
  }
  return header;
}

/** The host offset in an L1 or L2 entry (bits 9-55). */
function entryOffset(high: number, low: number): number {
  return (high & OFFSET_HIGH_MASK) * TWO_32 + ((low & OFFSET_LOW_MASK) >>> 0);
}

type Cluster = { kind: "data"; host: number } | { kind: "zero" | "other" };

export class Qcow2Map {
  private l1: Buffer | null = null;
  /** L2 tables being read, and those read (null: none, or not plainly readable). */
  private readonly l2 = new Map<number, Promise<Buffer | null>>();
  private readonly l2Read = new Map<number, Buffer | null>();
  private readonly clusterSize: number;
  private readonly l2Bits: number;

  private constructor(
    readonly header: Qcow2Header,
    private readonly readAt: ReadAt,
    private readonly fileSize: number,
  ) {
    this.clusterSize = 2 ** header.clusterBits;
    this.l2Bits = header.clusterBits - 3;
  }

  /** Reads the header (and later the tables a range needs) through `readAt`. */
  static async open(readAt: ReadAt, fileSize: number): Promise<Qcow2Map> {
    const head = await readAt(0, Math.min(fileSize, 112));
    const header = parseQcow2Header(head, fileSize);
    if ("invalid" in header) throw new Error(`qcow2 map: ${header.invalid}`);
    return new Qcow2Map(header, readAt, fileSize);
  }

  /** Why nothing is mapped (the header), or null. */
  get unmapped(): string | null {
    return this.header.unmapped;
  }

  private async l2Table(l1Index: number): Promise<Buffer | null> {
    let table = this.l2.get(l1Index);
    if (!table) {
      table = (async () => {
        this.l1 ??= await this.readAt(this.header.l1Offset, this.header.l1Size * 8);
        const high = this.l1.readUInt32BE(l1Index * 8);
        const low = this.l1.readUInt32BE(l1Index * 8 + 4);
        const at = entryOffset(high, low);
        // No L2 table (the range is unallocated here), or one qemu would call corrupt.
        if (at === 0 || at % this.clusterSize !== 0 || at + this.clusterSize > this.fileSize) return null;
        const buf = await this.readAt(at, this.clusterSize);
        return buf.length === this.clusterSize ? buf : null;
      })();
      this.l2.set(l1Index, table);
      this.l2Read.set(l1Index, await table);
    }
    return table;
  }

  /** Cluster `index`, its L2 table read already (segments reads the tables a range needs first). */
  private cluster(index: number): Cluster {
    const table = this.l2Read.get(Math.floor(index / 2 ** this.l2Bits));
    if (!table) return { kind: "other" };
    const at = (index % 2 ** this.l2Bits) * 8;
    const high = table.readUInt32BE(at);
    const low = table.readUInt32BE(at + 4);
    if ((high & (L2_COMPRESSED_HIGH | L2_RESERVED_HIGH)) !== 0 || (low & L2_RESERVED_LOW) !== 0) {
      return { kind: "other" };
    }
    const zeroFlag = (low & 1) !== 0;
    if (zeroFlag) return this.header.version === 3 ? { kind: "zero" } : { kind: "other" };
    const host = entryOffset(high, low);
    if (host === 0 || host % this.clusterSize !== 0 || host + this.clusterSize > this.fileSize) {
      return { kind: "other" };
    }
    return { kind: "data", host };
  }

  /** The guest range [offset, offset + length) as segments in order, adjacent ones merged. */
  async segments(offset: number, length: number): Promise<Qcow2Segment[]> {
    if (offset < 0 || length < 0 || offset + length > this.header.size) {
      throw new RangeError(`qcow2 map: ${offset}+${length} outside the image (${this.header.size} bytes)`);
    }
    if (this.header.unmapped !== null) return length > 0 ? [{ kind: "other", offset, length }] : [];
    const out: Qcow2Segment[] = [];
    const end = offset + length;
    // The L2 tables of the range, read once each (almost always cached: one covers 512 MiB).
    const perTable = this.clusterSize * 2 ** this.l2Bits;
    for (let t = Math.floor(offset / perTable); t * perTable < end; t += 1) {
      if (!this.l2Read.has(t)) await this.l2Table(t);
    }
    let at = offset;
    while (at < end) {
      const index = Math.floor(at / this.clusterSize);
      const within = at - index * this.clusterSize;
      const n = Math.min(this.clusterSize - within, end - at);
      const c = this.cluster(index);
      const last = out[out.length - 1];
      if (c.kind === "data") {
        const host = c.host + within;
        if (last?.kind === "data" && last.host + last.length === host) last.length += n;
        else out.push({ kind: "data", offset: at, length: n, host });
      } else if (last && last.kind === c.kind) {
        last.length += n;
      } else {
        out.push({ kind: c.kind, offset: at, length: n });
      }
      at += n;
    }
    return out;
  }
}
