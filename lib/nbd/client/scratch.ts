// A transfer worker's reused buffer. Allocated at the transfer's largest request up front, 16
// workers of 4 MiB made 64 MiB of buffers per copy even when every piece was 64 KiB (an
// incremental's dirty ranges), and external memory of that size is what drives V8's garbage
// collector: the buffer now grows to the largest piece the worker has been given.

export class Scratch {
  private buf = Buffer.alloc(0);

  /** `length` bytes of the buffer (not zeroed: whatever the last piece left there). */
  view(length: number): Buffer {
    if (this.buf.length < length) this.buf = Buffer.allocUnsafe(length);
    return this.buf.subarray(0, length);
  }

  /** Bytes held. */
  get capacity(): number {
    return this.buf.length;
  }
}
