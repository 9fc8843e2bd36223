/**
 * A bounded LRU of object bytes: ranges this process read, and whole objects this process just wrote.
 * Segment objects are immutable and their keys never reused, so a warm function can keep what it read
 * (consumers of several groups reading the same tail cost one GET between them) and what it wrote (a
 * tail fetch served by the process that took the produce costs no GET at all).
 */
export class RangeCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value) {
      // Map keeps insertion order: re-insert to mark as most recently used.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.maxBytes / 4) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [oldest, buffer] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= buffer.length;
    }
  }

  /** Bytes [start, end) of an object, from a range read earlier or from the whole object written here. */
  getRange(objectKey: string, start: number, end: number): Buffer | undefined {
    const range = this.get(rangeKey(objectKey, start, end));
    if (range) return range;
    const whole = this.get(wholeKey(objectKey));
    if (whole && end <= whole.length) return whole.subarray(start, end);
    return undefined;
  }

  setRange(objectKey: string, start: number, end: number, bytes: Buffer): void {
    this.set(rangeKey(objectKey, start, end), bytes);
  }

  /** A whole object, as written. The caller must not modify the buffer afterwards. */
  setObject(objectKey: string, body: Buffer): void {
    this.set(wholeKey(objectKey), body);
  }

  get size(): number {
    return this.bytes;
  }
}

// Distinct key shapes, so a whole object and a range of it never share an entry.
const wholeKey = (objectKey: string) => `${objectKey}:*`;
const rangeKey = (objectKey: string, start: number, end: number) => `${objectKey}:${start}:${end}`;
