/**
 * Snappy as Kafka clients write it for RecordBatch v2 (compression type 2): either one raw Snappy
 * stream, or the same inside snappy-java's ("xerial") framing.
 *
 *   Raw      => UncompressedLength uvarint · Element*
 *     Element  => Tag uint8, low 2 bits:
 *                 00 literal: length − 1 = Tag >> 2 when < 60, else in the next (Tag >> 2) − 59 bytes (LE) · bytes
 *                 01 copy:    length = 4 + ((Tag >> 2) & 7) · offset = (Tag >> 5) << 8 | uint8
 *                 10 copy:    length = 1 + (Tag >> 2) · offset uint16le
 *                 11 copy:    length = 1 + (Tag >> 2) · offset uint32le
 *   Xerial   => Magic 82 'SNAPPY' 00 · Version int32be · Compatible int32be · Chunk*
 *     Chunk    => Length int32be · Raw[Length]
 *
 * https://github.com/google/snappy/blob/main/format_description.txt
 * https://github.com/xerial/snappy-java/blob/master/src/main/java/org/xerial/snappy/SnappyOutputStream.java
 *
 * Who writes what: Kafka's Java producer writes the xerial framing (SnappyOutputStream, 32 KB chunks);
 * librdkafka (kcat, confluent-kafka) writes one raw stream (rd_kafka_snappy_compress_iov) and reads both,
 * as Java's SnappyInputStream does (no magic: the whole input is one raw stream). Sluice writes one raw
 * stream, like librdkafka: the smaller of the two, and every Kafka client reads it. A raw stream cannot be
 * taken for a frame: its first element must be a literal, and the magic's 3rd byte would be a copy tag.
 *
 * Reading bounds the output before allocating anything: each raw stream declares its length up front, so
 * the sum is checked against the cap, then every stream decodes into its own slot of one buffer and
 * must produce exactly its declared length. Decompression: the native `snappy` addon (Rust's `snap`,
 * memory-safe, though here no faster than the JS loop below) when it loads, else our own bounds-checked
 * decoder — not snappyjs's, which checks neither that a copy stays within the output nor that a tag's
 * bytes are present (a hostile stream decodes to wrong bytes instead of failing). Compression: the
 * native addon (2–3× faster), else the pure-JS `snappyjs`.
 */
import { compress as jsCompress } from 'snappyjs';
import { SluiceError } from '../errors';
import { type BlockDecoder, copyLiterals, copyMatch } from './lz77';
import { addonChoice, type Implementation, recordsTooLarge as tooLarge } from './native';

export type SnappyImplementation = Implementation;

interface NativeSnappy {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean }): Buffer | string;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

const snappyChoice = addonChoice<NativeSnappy>('snappy', ['compressSync', 'uncompressSync']);
const native = snappyChoice.native;

/**
 * Chooses the Snappy implementation: 'auto' (default) uses the native addon when it loads; 'js' forces
 * the pure-JS path (for tests, and to reproduce Lambda); 'native' fails if the addon does not load.
 */
export const useSnappyImplementation: (choice: 'auto' | SnappyImplementation) => void = snappyChoice.use;

/** The Snappy implementation in use. */
export const snappyImplementation: () => SnappyImplementation = snappyChoice.implementation;

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', `Snappy: ${message}`);
}

/** Compresses `src` as one raw Snappy stream. */
export function snappyCompress(src: Buffer): Buffer {
  const snappy = native();
  if (snappy !== null) return snappy.compressSync(src);
  const out = jsCompress(src);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Compresses `src` in snappy-java's framing, `chunkBytes` of input per chunk (Java's default: 32 KB). */
export function snappyCompressXerial(src: Buffer, chunkBytes = 32 * 1024): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let at = 0; at < src.length; at += chunkBytes) {
    const chunk = snappyCompress(src.subarray(at, Math.min(src.length, at + chunkBytes)));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(chunk.length, 0);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

/** A raw stream's declared length and where its elements start, or null when the varint is malformed. */
function preamble(src: Buffer, start: number, end: number): { length: number; body: number } | null {
  let length = 0;
  for (let i = 0, pos = start; i < 5 && pos < end; i++, pos++) {
    const b = src[pos]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return length > 0xffffffff ? null : { length, body: pos + 1 };
  }
  return null;
}

/**
 * Decompresses the Snappy data `src[start, end)` — a raw stream or a xerial frame. Fails with
 * CORRUPT_MESSAGE on anything malformed, and with RECORD_LIST_TOO_LARGE, before allocating, when the
 * declared lengths pass `maxBytes`.
 */
export function snappyDecompress(src: Buffer, start: number, end: number, maxBytes: number): Buffer {
  // Each stream: [start of its preamble, end, declared length, start of its elements].
  const streams: number[] = [];
  let total = 0;
  const add = (from: number, to: number) => {
    const head = preamble(src, from, to);
    if (head === null) throw corrupt('a stream does not start with a valid length');
    total += head.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    streams.push(from, to, head.length, head.body);
  };
  if (end - start >= XERIAL_MAGIC.length && src.compare(XERIAL_MAGIC, 0, 8, start, start + 8) === 0) {
    if (end - start < XERIAL_HEADER_BYTES) throw corrupt('the xerial header is cut short');
    let pos = start + XERIAL_HEADER_BYTES;
    while (pos < end) {
      if (end - pos < 4) throw corrupt('a xerial chunk length is cut short');
      const length = src.readInt32BE(pos);
      pos += 4;
      if (length <= 0 || length > end - pos) {
        throw corrupt(`a xerial chunk of ${length} bytes does not fit the ${end - pos} left`);
      }
      add(pos, pos + length);
      pos += length;
    }
  } else {
    add(start, end);
  }

  const snappy = native();
  // One stream through the native addon (what librdkafka writes) is answered with its own buffer.
  if (snappy !== null && streams.length === 4) {
    return nativeStream(snappy, src, streams[0]!, streams[1]!, total);
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < streams.length; i += 4) {
    const from = streams[i]!;
    const to = streams[i + 1]!;
    const length = streams[i + 2]!;
    if (snappy !== null) {
      nativeStream(snappy, src, from, to, length).copy(out, at);
    } else {
      const n = jsDecompressRaw(src, streams[i + 3]!, to, out, at, at + length);
      if (n !== length) throw corrupt(`a stream declares ${length} bytes but does not decode to them`);
    }
    at += length;
  }
  return out;
}

function nativeStream(snappy: NativeSnappy, src: Buffer, from: number, to: number, length: number): Buffer {
  let decoded: Buffer | string;
  try {
    decoded = snappy.uncompressSync(src.subarray(from, to), { asBuffer: true });
  } catch (err) {
    throw new SluiceError('CORRUPT_MESSAGE', 'Snappy: a stream does not decompress', { cause: err });
  }
  if (typeof decoded === 'string' || decoded.length !== length) {
    throw corrupt(`a stream declares ${length} bytes but decodes to ${decoded.length}`);
  }
  return decoded;
}

/**
 * Decodes the elements of a raw stream `src[sPos, sEnd)` into `dst[dStart, dEnd)`, every length and
 * offset bounds-checked. Returns the bytes written, or −1 when the stream is malformed or overflows.
 */
export const jsDecompressRaw: BlockDecoder = (src, sPos, sEnd, dst, dStart, dEnd) => {
  let dPos = dStart;
  while (sPos < sEnd) {
    const tag = src[sPos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let length = (tag >>> 2) + 1;
      if (length > 60) {
        const bytes = length - 60;
        if (sEnd - sPos < bytes) return -1;
        length = 0;
        for (let i = bytes - 1; i >= 0; i--) length = length * 256 + src[sPos + i]!;
        length += 1;
        sPos += bytes;
      }
      if (length > sEnd - sPos || length > dEnd - dPos) return -1;
      copyLiterals(src, sPos, dst, dPos, length);
      sPos += length;
      dPos += length;
      continue;
    }
    let length: number;
    let offset: number;
    if (kind === 1) {
      if (sPos >= sEnd) return -1;
      length = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[sPos++]!;
    } else if (kind === 2) {
      if (sEnd - sPos < 2) return -1;
      length = (tag >>> 2) + 1;
      offset = src[sPos]! | (src[sPos + 1]! << 8);
      sPos += 2;
    } else {
      if (sEnd - sPos < 4) return -1;
      length = (tag >>> 2) + 1;
      offset = (src[sPos]! | (src[sPos + 1]! << 8) | (src[sPos + 2]! << 16)) + src[sPos + 3]! * 0x1000000;
      sPos += 4;
    }
    if (offset === 0 || offset > dPos - dStart || length > dEnd - dPos) return -1;
    dPos = copyMatch(dst, dPos, offset, length);
  }
  return dPos - dStart;
};
