// Exact-length reads from a stream socket. NBD is a sequence of fixed headers and
// length-prefixed payloads, so the handshake and the reply loop both want "the next N bytes"
// rather than "whatever arrived". One reader per socket; a TLS upgrade detaches it from the
// raw socket and a new one reads the TLS socket.
import type { Duplex } from "node:stream";

type Waiter = {
  need: number;
  into?: { buf: Buffer; at: number };
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
};

/** Above this much unread data the socket is paused, so a slow consumer bounds memory. */
const HIGH_WATER = 16 * 1024 * 1024;

export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: Waiter | null = null;
  private failure: unknown = null;
  private paused = false;
  private readonly onData = (chunk: Buffer) => this.push(chunk);
  private readonly onEnd = () => this.fail(new Error("connection closed by the server"));
  private readonly onError = (e: Error) => this.fail(e);

  constructor(private readonly stream: Duplex) {
    stream.on("data", this.onData);
    stream.on("end", this.onEnd);
    stream.on("close", this.onEnd);
    stream.on("error", this.onError);
  }

  /** Stop reading this stream (before handing the socket to TLS). Unread bytes are an error. */
  detach(): void {
    this.stream.off("data", this.onData);
    this.stream.off("end", this.onEnd);
    this.stream.off("close", this.onEnd);
    this.stream.off("error", this.onError);
    if (this.buffered > 0) throw new Error(`${this.buffered} unexpected bytes before the TLS handshake`);
  }

  get error(): unknown {
    return this.failure;
  }

  /** The next `n` bytes, as a new Buffer (a view when it lies within one received chunk). */
  read(n: number): Promise<Buffer> {
    if (this.waiter) throw new Error("ByteReader: concurrent reads");
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { need: n, resolve, reject };
      this.maybeResume();
    });
  }

  /** The next `n` bytes copied into `buf` at `at`, without an intermediate Buffer. */
  readInto(buf: Buffer, at: number, n: number): Promise<void> {
    if (this.waiter) throw new Error("ByteReader: concurrent reads");
    const into = { buf, at };
    const copied = this.copyOut(into, n);
    if (copied === n) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { need: n - copied, into, resolve: () => resolve(), reject };
      this.maybeResume();
    });
  }

  /** Discard `n` bytes (a reply nobody waits for any more). */
  async skip(n: number): Promise<void> {
    const step = 1024 * 1024;
    for (let left = n; left > 0; left -= Math.min(left, step)) await this.read(Math.min(left, step));
  }

  private push(chunk: Buffer): void {
    const w = this.waiter;
    if (w?.into && this.buffered === 0) {
      // Straight into the caller's buffer: large read payloads are copied once.
      const n = Math.min(w.need, chunk.length);
      chunk.copy(w.into.buf, w.into.at, 0, n);
      w.into.at += n;
      w.need -= n;
      if (n < chunk.length) this.enqueue(chunk.subarray(n));
    } else {
      this.enqueue(chunk);
    }
    this.settle();
  }

  private enqueue(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
  }

  private settle(): void {
    const w = this.waiter;
    if (!w) return;
    if (w.into) {
      w.need -= this.copyOut(w.into, w.need);
      if (w.need > 0) return;
      this.waiter = null;
      w.resolve(Buffer.alloc(0));
    } else if (this.buffered >= w.need) {
      this.waiter = null;
      w.resolve(this.take(w.need));
    }
  }

  private maybeResume(): void {
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private copyOut(into: { buf: Buffer; at: number }, n: number): number {
    let copied = 0;
    while (copied < n && this.chunks.length) {
      const head = this.chunks[0];
      const k = Math.min(head.length, n - copied);
      head.copy(into.buf, into.at, 0, k);
      into.at += k;
      copied += k;
      this.consumeHead(k);
    }
    return copied;
  }

  private take(n: number): Buffer {
    const head = this.chunks[0];
    if (head.length >= n) {
      const out = head.subarray(0, n);
      this.consumeHead(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut({ buf: out, at: 0 }, n);
    return out;
  }

  private consumeHead(k: number): void {
    const head = this.chunks[0];
    if (k === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(k);
    this.buffered -= k;
  }

  private fail(error: unknown): void {
    if (!this.failure) this.failure = error;
    const w = this.waiter;
    // Bytes still buffered are served first; only a read that cannot complete fails.
    if (w) {
      this.waiter = null;
      w.reject(this.failure);
    }
  }
}
