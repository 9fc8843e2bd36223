/**
 * Reads Kafka's protocol primitive types (https://kafka.apache.org/protocol#protocol_types).
 *
 *   INT8 INT16 INT32 INT64 UINT32 FLOAT64   big-endian, fixed width
 *   BOOLEAN                                 int8, 0 = false
 *   UUID                                    16 bytes
 *   UNSIGNED_VARINT                         unsigned LEB128, at most 5 bytes (int32 range)
 *   VARINT / VARLONG                        zigzag LEB128
 *   STRING         => length int16, utf-8 bytes        (length −1 = null in NULLABLE_STRING)
 *   COMPACT_STRING => length+1 uvarint, utf-8 bytes     (0 = null in COMPACT_NULLABLE_STRING)
 *   BYTES          => length int32, bytes               (−1 = null)
 *   COMPACT_BYTES  => length+1 uvarint, bytes           (0 = null)
 *   ARRAY          => count int32, items                (−1 = null)
 *   COMPACT_ARRAY  => count+1 uvarint, items            (0 = null)
 *   TAGGED_FIELDS  => count uvarint, (tag uvarint, size uvarint, bytes){count}, tags ascending
 *
 * A flexible reader (a message version at or past the API's first flexible version) reads the compact
 * forms and tag buffers; a classic reader reads the classic forms and no tag buffers.
 *
 * Any read past the end, negative length or oversized count throws KafkaProtocolError: the server
 * treats that as a malformed frame, answers nothing and closes the connection (what Kafka does).
 */

/** Malformed or truncated input: the server answers nothing and closes the connection. */
export class KafkaProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaProtocolError';
  }
}

export class KafkaReader {
  readonly flexible: boolean;
  private readonly buffer: Buffer;
  private pos: number;

  constructor(buffer: Buffer, options: { flexible?: boolean; offset?: number } = {}) {
    this.buffer = buffer;
    this.flexible = options.flexible ?? false;
    this.pos = options.offset ?? 0;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buffer.length - this.pos;
  }

  /** The same bytes read from the current position in the other encoding (request headers switch). */
  withFlexible(flexible: boolean): KafkaReader {
    return new KafkaReader(this.buffer, { flexible, offset: this.pos });
  }

  private take(n: number): number {
    if (n < 0 || this.pos + n > this.buffer.length) {
      throw new KafkaProtocolError(
        `Truncated: ${n} bytes wanted at offset ${this.pos}, ${this.buffer.length - this.pos} left`,
      );
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(): number {
    return this.buffer.readInt8(this.take(1));
  }

  int16(): number {
    return this.buffer.readInt16BE(this.take(2));
  }

  int32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }

  uint32(): number {
    return this.buffer.readUInt32BE(this.take(4));
  }

  int64(): bigint {
    return this.buffer.readBigInt64BE(this.take(8));
  }

  /** An int64 that must be a safe JS integer (offsets, timestamps); others are a protocol error. */
  int64Number(): number {
    const v = this.int64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new KafkaProtocolError(`int64 ${v} is beyond a safe integer`);
    }
    return Number(v);
  }

  float64(): number {
    return this.buffer.readDoubleBE(this.take(8));
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  uuid(): Buffer {
    const at = this.take(16);
    return this.buffer.subarray(at, at + 16);
  }

  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.buffer[this.take(1)]!;
      if (i === 4 && byte > 0x0f) throw new KafkaProtocolError('Unsigned varint exceeds 32 bits');
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) return value;
    }
    throw new KafkaProtocolError('Unsigned varint longer than 5 bytes');
  }

  varint(): number {
    const z = this.uvarint();
    // zigzag decode on the unsigned 32-bit value
    return (z >>> 1) ^ -(z & 1);
  }

  varlong(): bigint {
    let z = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.buffer[this.take(1)]!;
      z |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return (z >> 1n) ^ -(z & 1n);
    }
    throw new KafkaProtocolError('Varlong longer than 10 bytes');
  }

  /** Length of a string or bytes field; −1 for null. */
  private length(classicWidth: 2 | 4): number {
    if (this.flexible) return this.uvarint() - 1;
    const n = classicWidth === 2 ? this.int16() : this.int32();
    if (n < -1) throw new KafkaProtocolError(`Negative length ${n}`);
    return n;
  }

  nullableString(): string | null {
    const n = this.length(2);
    if (n === -1) return null;
    const at = this.take(n);
    return this.buffer.toString('utf8', at, at + n);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new KafkaProtocolError('Null where a string is required');
    return s;
  }

  nullableBytes(): Buffer | null {
    const n = this.length(4);
    if (n === -1) return null;
    const at = this.take(n);
    return this.buffer.subarray(at, at + n);
  }

  bytes(): Buffer {
    const b = this.nullableBytes();
    if (b === null) throw new KafkaProtocolError('Null where bytes are required');
    return b;
  }

  records(): Buffer | null {
    return this.nullableBytes();
  }

  nullableArray<T>(item: (r: KafkaReader) => T): T[] | null {
    const n = this.flexible ? this.uvarint() - 1 : this.int32();
    if (n === -1) return null;
    if (n < -1) throw new KafkaProtocolError(`Negative array length ${n}`);
    // Every item takes at least one byte: a count beyond the bytes left is a lie, not a big allocation.
    if (n > this.remaining) throw new KafkaProtocolError(`Array of ${n} items in ${this.remaining} bytes`);
    const items: T[] = [];
    for (let i = 0; i < n; i++) items.push(item(this));
    return items;
  }

  array<T>(item: (r: KafkaReader) => T): T[] {
    const a = this.nullableArray(item);
    if (a === null) throw new KafkaProtocolError('Null where an array is required');
    return a;
  }

  taggedFields(): Map<number, Buffer> {
    const fields = new Map<number, Buffer>();
    if (!this.flexible) return fields;
    const count = this.uvarint();
    let last = -1;
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      if (tag <= last) throw new KafkaProtocolError(`Tagged fields out of order: ${tag} after ${last}`);
      last = tag;
      const size = this.uvarint();
      const at = this.take(size);
      fields.set(tag, this.buffer.subarray(at, at + size));
    }
    return fields;
  }
}
