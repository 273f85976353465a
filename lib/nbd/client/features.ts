// Transmission flags as named booleans, and the interface the client and the pool share, so
// block-status iteration and copy take either.
import { NBD_FLAG } from "./protocol";
import type { BlockSize } from "./handshake";

export type NbdFeatures = {
  readOnly: boolean;
  canFlush: boolean;
  canFua: boolean;
  canTrim: boolean;
  canWriteZeroes: boolean;
  canFastZero: boolean;
  canMultiConn: boolean;
  canDf: boolean;
  canCache: boolean;
  rotational: boolean;
  /** Structured replies and at least one meta context were negotiated. */
  canBlockStatus: boolean;
};

export function featuresOf(transmissionFlags: number, blockStatus: boolean): NbdFeatures {
  const has = (bit: number) => (transmissionFlags & bit) !== 0;
  return {
    readOnly: has(NBD_FLAG.READ_ONLY),
    canFlush: has(NBD_FLAG.SEND_FLUSH),
    canFua: has(NBD_FLAG.SEND_FUA),
    canTrim: has(NBD_FLAG.SEND_TRIM),
    canWriteZeroes: has(NBD_FLAG.SEND_WRITE_ZEROES),
    canFastZero: has(NBD_FLAG.SEND_FAST_ZERO),
    canMultiConn: has(NBD_FLAG.CAN_MULTI_CONN),
    canDf: has(NBD_FLAG.SEND_DF),
    canCache: has(NBD_FLAG.SEND_CACHE),
    rotational: has(NBD_FLAG.ROTATIONAL),
    canBlockStatus: blockStatus,
  };
}

export type RequestOptions = {
  signal?: AbortSignal;
  /** Overrides the connection's `requestTimeoutMs` for this call; 0 turns it off. */
  timeoutMs?: number;
};
export type WriteOptions = RequestOptions & { fua?: boolean };
export type ZeroOptions = RequestOptions & { fua?: boolean; noHole?: boolean; fastZero?: boolean };

/** One extent as the server described it, placed at its absolute offset. */
export type BlockExtent = { offset: number; length: number; flags: number };

/** What a client and a pool of clients both offer. */
export interface NbdDevice {
  readonly exportName: string;
  readonly size: number;
  readonly features: NbdFeatures;
  readonly blockSize: BlockSize;
  readonly metaContexts: ReadonlyMap<string, number>;
  read(offset: number, length: number, options?: RequestOptions): Promise<Buffer>;
  readInto(offset: number, target: Buffer, options?: RequestOptions): Promise<void>;
  write(offset: number, data: Buffer, options?: WriteOptions): Promise<void>;
  writeZeroes(offset: number, length: number, options?: ZeroOptions): Promise<void>;
  trim(offset: number, length: number, options?: WriteOptions): Promise<void>;
  flush(options?: RequestOptions): Promise<void>;
  /**
   * One NBD_CMD_BLOCK_STATUS: the extents the server chose to describe for `context`, starting
   * at `offset`. They may cover less than `length` (qemu caps them per reply), and the last
   * may run past it; `extents()` loops, clamps and merges.
   */
  blockStatus(offset: number, length: number, context: string, options?: RequestOptions): Promise<BlockExtent[]>;
  disconnect(options?: { timeoutMs?: number }): Promise<void>;
}
