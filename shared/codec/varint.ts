/**
 * Zigzag LEB128 varints, as Kafka's record format uses them.
 *
 *   varint  => zigzag(int32) as unsigned LEB128, 1–5 bytes
 *   varlong => zigzag(int64) as unsigned LEB128, 1–10 bytes
 *   zigzag(n) = (n << 1) ^ (n >> 63): 0 → 0, −1 → 1, 1 → 2, −2 → 3 …
 *
 * Follows org.apache.kafka.common.utils.ByteUtils (readVarint, readVarlong, writeVarint, writeVarlong):
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/utils/ByteUtils.java
 *
 * Values are JS numbers. A varint fits an int32, so it takes the bitwise fast path. A varlong carries
 * timestamp deltas, which may exceed 2^31: it is computed with float arithmetic while exact (zigzag
 * value < 2^53) and with BigInt beyond; a decoded value that is not a safe integer is rejected.
 *
 * Stricter than Java in one way: a varint whose fifth byte carries bits beyond 32, or a varlong whose
 * tenth byte carries bits beyond 64, is rejected instead of silently truncated. No writer emits them.
 */
import { SluiceError } from '../errors';

const TWO_POW_31 = 2 ** 31;
const TWO_POW_52 = 2 ** 52;

/** Bytes a zigzag varint of `n` (an int32) takes. */
export function sizeOfVarint(n: number): number {
  const z = ((n << 1) ^ (n >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Bytes a zigzag varlong of `n` (a safe integer) takes. */
export function sizeOfVarlong(n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return sizeOfVarint(n);
  if (n >= TWO_POW_52 || n < -TWO_POW_52) return sizeOfBigVarlong(BigInt(n));
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

function zigzagBig(n: bigint): bigint {
  return BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
}

function sizeOfBigVarlong(n: bigint): number {
  let z = zigzagBig(n);
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/** Writes `n` (an int32) as a zigzag varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Writes `n` (a safe integer) as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return writeVarint(buf, pos, n);
  if (n >= TWO_POW_52 || n < -TWO_POW_52) {
    let z = zigzagBig(BigInt(n));
    while (z >= 0x80n) {
      buf[pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    buf[pos++] = Number(z);
    return pos;
  }
  // |n| < 2^52, so the zigzag value is below 2^53 and float division is exact.
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= TWO_POW_31) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  let small = z >>> 0;
  while (small >= 0x80) {
    buf[pos++] = (small & 0x7f) | 0x80;
    small >>>= 7;
  }
  buf[pos++] = small;
  return pos;
}

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', message);
}

/**
 * A cursor over a byte range that reads Kafka's primitive types, failing with CORRUPT_MESSAGE when a read
 * would pass `end`. One class with plain fields so V8 keeps the hot paths monomorphic.
 */
export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  readInt8(): number {
    if (this.pos >= this.end) throw corrupt(`Record data ends at byte ${this.pos} inside an int8`);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  readVarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return (b >>> 1) ^ -(b & 1);
      }
    }
    let z = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw corrupt(`Record data ends at byte ${pos} inside a varint`);
      const b = buf[pos++]!;
      if (shift === 28 && b > 0x0f) throw corrupt(`Varint at byte ${this.pos} is longer than 32 bits`);
      z |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return (z >>> 1) ^ -(z & 1);
      }
    }
    throw corrupt(`Varint at byte ${this.pos} is longer than 5 bytes`);
  }

  readVarlong(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    // Up to 7 bytes (49 bits) the sum is exact in a double.
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= end) throw corrupt(`Record data ends at byte ${pos} inside a varlong`);
      const b = buf[pos++]!;
      z += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      scale *= 128;
    }
    return this.readBigVarlong();
  }

  private readBigVarlong(): number {
    const start = this.pos;
    let pos = start;
    let z = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= this.end) throw corrupt(`Record data ends at byte ${pos} inside a varlong`);
      const b = this.buf[pos++]!;
      if (shift === 63n && b > 0x01) throw corrupt(`Varlong at byte ${start} is longer than 64 bits`);
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        const n = (z >> 1n) ^ -(z & 1n);
        if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw corrupt(`Varlong at byte ${start} is beyond ±2^53, which Sluice does not represent`);
        }
        this.pos = pos;
        return Number(n);
      }
    }
    throw corrupt(`Varlong at byte ${start} is longer than 10 bytes`);
  }
}
