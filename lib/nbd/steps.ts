// Where the time of one operation went: named points, each logged as the milliseconds since the
// point before it (`steps=checks:1.2,row:0.9,…` on the export's "ready" line), so a slow start
// shows which step was slow without a profiler.

export class Steps {
  private last: number;
  private readonly parts: string[] = [];

  constructor(readonly began = performance.now()) {
    this.last = began;
  }

  /** The time since the previous point (or the beginning), under `name`. */
  mark(name: string): void {
    const now = performance.now();
    this.parts.push(`${name}:${(now - this.last).toFixed(1)}`);
    this.last = now;
  }

  /** Milliseconds since the beginning. */
  elapsed(): number {
    return performance.now() - this.began;
  }

  toString(): string {
    return this.parts.join(",");
  }
}
