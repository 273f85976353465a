// nbdhub's NBD client: a TypeScript implementation of the client side of the NBD protocol
// (NetworkBlockDevice/nbd doc/proto.md), on node:net and node:tls only, usable from the
// server and from a CLI (no Next, database or runtime imports).
//
//   const c = await connect("nbd://host:10809/disk0", { metaContexts: ["base:allocation",
//     "qemu:dirty-bitmap:b0"] });
//   for await (const e of extents(c, "qemu:dirty-bitmap:b0")) …
//   await copy(c, await openPool("nbd+unix:///?socket=/run/x.sock"), { ranges });
//   await c.disconnect();
//
// Supports: fixed newstyle handshake with NBD_OPT_GO (export size, transmission flags, block
// size constraints), STARTTLS (PSK or X.509), structured replies, meta contexts
// (base:allocation, qemu:dirty-bitmap:NAME, qemu:allocation-depth…), many requests in flight
// matched by cookie, transparent splitting above the maximum block size, per-request timeouts
// and AbortSignals, multi-connection pools when the server allows multi-conn, and a copy
// helper that turns zeroes into WRITE_ZEROES. Not supported: oldstyle or non-fixed newstyle
// servers, NBD_OPT_EXPORT_NAME fallback, extended headers (64-bit lengths), NBD_CMD_CACHE and
// NBD_CMD_RESIZE. Design notes: docs/decisions/008-nbd-client.md.
export { connect, listExports, listMetaContexts, DEFAULT_CONNECT_TIMEOUT_MS, type ConnectOptions } from "./connect";
export { NbdClient, MAX_DATA_REQUEST, MAX_NODATA_REQUEST, type ClientOptions } from "./client";
export { openPool, NbdPool, type PoolOptions } from "./pool";
export {
  extents,
  collectExtents,
  dirtyRanges,
  clampExtents,
  mergeExtents,
  isZeroExtent,
  isHoleExtent,
  dirtyBitmapContext,
  BASE_ALLOCATION,
} from "./block-status";
export {
  copy,
  runTransfer,
  type CopyOptions,
  type CopyResult,
  type CopyProgress,
  type TransferOptions,
  type TransferResult,
} from "./copy";
export { runWorkers, type WorkerPoolOptions } from "./workers";
export { isAllZero, makeZero } from "./zeroes";
export { Scratch } from "./scratch";
export { BlockAligner, blockRuns, allocationRuns, type BlockRun } from "./block-runs";
export { parseNbdUri, canonicalNbdUri, NbdUriRefused, NBD_DEFAULT_PORT, type NbdAddress } from "@/lib/nbd/uri";
export { NbdError, NbdConnectionError, NbdHandshakeError, NbdTimeoutError } from "./errors";
export type { NbdTlsOptions } from "./tls";
export type { BlockSize, ExportInfo } from "./handshake";
export type { NbdDevice, NbdFeatures, BlockExtent, RequestOptions, WriteOptions, ZeroOptions } from "./features";
export { normaliseRanges, splitRange, alignDown, checkRange, type Range } from "./ranges";
export { NBD_STATE_HOLE, NBD_STATE_ZERO, NBD_STATE_DIRTY, NBD_ERRNO } from "./protocol";
