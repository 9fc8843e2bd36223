/**
 * What the accumulator holds besides records: each send's promise, resolved once all its records are
 * acknowledged, and the buffer memory that bounds how much the producer holds (back-pressure).
 */

import type { RecordMetadata } from '../types';

/** One `send` call: resolves with every record's metadata in message order, or rejects with the first failure. */
export class SendContext {
  readonly results: RecordMetadata[];
  readonly promise: Promise<RecordMetadata[]>;
  private remaining: number;
  private settled = false;
  private resolveFn!: (v: RecordMetadata[]) => void;
  private rejectFn!: (e: unknown) => void;

  constructor(count: number) {
    this.results = new Array(count);
    this.remaining = count;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (count === 0) this.finish();
  }

  done(index: number, meta: RecordMetadata): void {
    this.results[index] = meta;
    if (--this.remaining === 0) this.finish();
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectFn(err);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveFn(this.results);
  }
}

/** Bytes of buffer memory, handed out first come, first served. */
export class BufferPool {
  private available: number;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  /** Undefined when granted at once; else a promise that resolves when granted. */
  acquire(bytes: number): Promise<void> | undefined {
    if (this.waiters.length === 0 && bytes <= this.available) {
      this.available -= bytes;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push({ bytes, resolve }));
  }

  release(bytes: number): void {
    this.available += bytes;
    while (this.waiters.length > 0 && this.waiters[0]!.bytes <= this.available) {
      const w = this.waiters.shift()!;
      this.available -= w.bytes;
      w.resolve();
    }
  }
}
