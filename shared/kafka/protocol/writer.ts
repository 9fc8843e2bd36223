/**
 * Writes Kafka's protocol primitive types; the grammar is in reader.ts. A flexible writer emits the
 * compact forms and tag buffers, a classic writer the classic forms and no tag buffers.
 *
 * Writes go into one growing buffer, so an encoder builds the whole response before anything reaches
 * the socket: a response is written whole or not at all.
 */

export class KafkaWriter {
  readonly flexible: boolean;
  private buffer: Buffer;
  private pos = 0;

  constructor(options: { flexible?: boolean; initialSize?: number } = {}) {
    this.flexible = options.flexible ?? false;
    this.buffer = Buffer.allocUnsafe(options.initialSize ?? 256);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Reserves n bytes and returns where they start. Call it before reading this.buffer: it may replace it. */
  private room(n: number): number {
    if (this.pos + n > this.buffer.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.pos + n));
      this.buffer.copy(next, 0, 0, this.pos);
      this.buffer = next;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(v: number): this {
    const at = this.room(1);
    this.buffer.writeInt8(v, at);
    return this;
  }

  int16(v: number): this {
    const at = this.room(2);
    this.buffer.writeInt16BE(v, at);
    return this;
  }

  int32(v: number): this {
    const at = this.room(4);
    this.buffer.writeInt32BE(v, at);
    return this;
  }

  uint32(v: number): this {
    const at = this.room(4);
    this.buffer.writeUInt32BE(v, at);
    return this;
  }

  int64(v: bigint | number): this {
    const at = this.room(8);
    this.buffer.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), at);
    return this;
  }

  float64(v: number): this {
    const at = this.room(8);
    this.buffer.writeDoubleBE(v, at);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  uuid(v: Buffer): this {
    if (v.length !== 16) throw new RangeError(`A UUID is 16 bytes, not ${v.length}`);
    const at = this.room(16);
    v.copy(this.buffer, at);
    return this;
  }

  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uvarint out of range: ${v}`);
    while (v >= 0x80) {
      const at = this.room(1);
      this.buffer[at] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    const at = this.room(1);
    this.buffer[at] = v;
    return this;
  }

  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Raw bytes, no length prefix. */
  raw(v: Buffer): this {
    const at = this.room(v.length);
    v.copy(this.buffer, at);
    return this;
  }

  private lengthPrefix(n: number, classicWidth: 2 | 4): void {
    if (this.flexible) this.uvarint(n + 1);
    else if (classicWidth === 2) this.int16(n);
    else this.int32(n);
  }

  nullableString(v: string | null): this {
    if (v === null) {
      this.lengthPrefix(-1, 2);
      return this;
    }
    const n = Buffer.byteLength(v, 'utf8');
    if (n > 0x7fff) throw new RangeError(`A string is at most 32767 bytes, not ${n}`);
    this.lengthPrefix(n, 2);
    const at = this.room(n);
    this.buffer.write(v, at, n, 'utf8');
    return this;
  }

  string(v: string): this {
    return this.nullableString(v);
  }

  nullableBytes(v: Buffer | null): this {
    if (v === null) {
      this.lengthPrefix(-1, 4);
      return this;
    }
    this.lengthPrefix(v.length, 4);
    return this.raw(v);
  }

  bytes(v: Buffer): this {
    return this.nullableBytes(v);
  }

  records(v: Buffer | null): this {
    return this.nullableBytes(v);
  }

  nullableArray<T>(items: readonly T[] | null, item: (w: KafkaWriter, v: T) => void): this {
    if (items === null) {
      if (this.flexible) this.uvarint(0);
      else this.int32(-1);
      return this;
    }
    if (this.flexible) this.uvarint(items.length + 1);
    else this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  array<T>(items: readonly T[], item: (w: KafkaWriter, v: T) => void): this {
    return this.nullableArray(items, item);
  }

  taggedFields(fields?: ReadonlyMap<number, Buffer>): this {
    if (!this.flexible) return this;
    const tags = [...(fields?.keys() ?? [])].sort((a, b) => a - b);
    this.uvarint(tags.length);
    for (const tag of tags) {
      const value = fields!.get(tag)!;
      this.uvarint(tag).uvarint(value.length).raw(value);
    }
    return this;
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.pos);
  }
}
