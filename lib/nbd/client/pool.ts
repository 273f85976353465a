// Several connections to one export, used as one device. Only a server that advertises
// NBD_FLAG_CAN_MULTI_CONN promises that a flush on one connection covers writes completed on
// the others (proto.md, multi-conn), so without it the pool keeps a single connection.
import type { NbdClient } from "./client";
import { connect, type ConnectOptions } from "./connect";
import type { BlockExtent, NbdDevice, NbdFeatures, RequestOptions, WriteOptions, ZeroOptions } from "./features";
import type { BlockSize } from "./handshake";
import type { NbdAddress } from "@/lib/nbd/uri";

export type PoolOptions = ConnectOptions & { connections?: number };

export class NbdPool implements NbdDevice {
  readonly clients: readonly NbdClient[];
  private turn = 0;

  constructor(clients: NbdClient[]) {
    if (!clients.length) throw new Error("a pool needs at least one connection");
    this.clients = clients;
  }

  get exportName(): string {
    return this.clients[0].exportName;
  }
  get size(): number {
    return this.clients[0].size;
  }
  get features(): NbdFeatures {
    return this.clients[0].features;
  }
  get blockSize(): BlockSize {
    return this.clients[0].blockSize;
  }
  get metaContexts(): ReadonlyMap<string, number> {
    return this.clients[0].metaContexts;
  }

  /** The open connection with the fewest requests in flight (ties taken in turn). */
  private pick(): NbdClient {
    const n = this.clients.length;
    let best: NbdClient | undefined;
    for (let i = 0; i < n; i += 1) {
      const c = this.clients[(this.turn + i) % n];
      if (c.isOpen && (!best || c.inFlight < best.inFlight)) best = c;
    }
    this.turn = (this.turn + 1) % n;
    // All closed: let the first one produce its connection error.
    return best ?? this.clients[0];
  }

  read(offset: number, length: number, options?: RequestOptions): Promise<Buffer> {
    return this.pick().read(offset, length, options);
  }
  readInto(offset: number, target: Buffer, options?: RequestOptions): Promise<void> {
    return this.pick().readInto(offset, target, options);
  }
  write(offset: number, data: Buffer, options?: WriteOptions): Promise<void> {
    return this.pick().write(offset, data, options);
  }
  writeZeroes(offset: number, length: number, options?: ZeroOptions): Promise<void> {
    return this.pick().writeZeroes(offset, length, options);
  }
  trim(offset: number, length: number, options?: WriteOptions): Promise<void> {
    return this.pick().trim(offset, length, options);
  }
  /** With multi-conn one flush covers every connection's completed writes. */
  flush(options?: RequestOptions): Promise<void> {
    return this.pick().flush(options);
  }
  blockStatus(offset: number, length: number, context: string, options?: RequestOptions): Promise<BlockExtent[]> {
    return this.pick().blockStatus(offset, length, context, options);
  }
  async disconnect(options?: { timeoutMs?: number }): Promise<void> {
    await Promise.all(this.clients.map((c) => c.disconnect(options)));
  }
  close(): void {
    for (const c of this.clients) c.close();
  }
}

export async function openPool(target: string | NbdAddress, options: PoolOptions = {}): Promise<NbdPool> {
  const { connections = 4, ...connectOptions } = options;
  const first = await connect(target, connectOptions);
  const wanted = first.features.canMultiConn ? Math.max(1, connections) : 1;
  const rest = await Promise.allSettled(Array.from({ length: wanted - 1 }, () => connect(target, connectOptions)));
  const failed = rest.find((r): r is PromiseRejectedResult => r.status === "rejected");
  const opened = rest.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  if (failed) {
    for (const c of [first, ...opened]) c.close();
    throw failed.reason;
  }
  return new NbdPool([first, ...opened]);
}
