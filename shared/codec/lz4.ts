/**
 * LZ4 frames as Kafka writes and reads them for RecordBatch v2 (compression type 3).
 *
 *   Frame      => Magic Descriptor HC Block* EndMark [ContentChecksum]
 *   Magic      => uint32le 0x184D2204
 *   Descriptor => FLG BD [ContentSize uint64le]
 *     FLG      => version 01 (bits 7–6) · block independence (5) · block checksum (4) · content size (3) ·
 *                 content checksum (2) · reserved 0 (1) · dictionary id (0)
 *     BD       => reserved 0 (7) · block max size id 4..7 = 64 KB, 256 KB, 1 MB, 4 MB (6–4) · reserved 0 (3–0)
 *   HC         => (xxh32(Descriptor, seed 0) >> 8) & 0xFF
 *   Block      => Size uint32le (high bit set: stored raw) · Data[Size & 0x7FFFFFFF] · [BlockChecksum uint32le]
 *   EndMark    => uint32le 0
 *
 * Follows Kafka's KafkaLZ4BlockOutputStream / KafkaLZ4BlockInputStream:
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/compress/Lz4BlockOutputStream.java
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/compress/Lz4BlockInputStream.java
 *
 * Writing: FLG 0x60, BD 0x40, independent 64 KB blocks, a block stored raw when compression does not
 * shrink it, no checksums (the batch CRC covers every byte) — the exact bytes Kafka's producer writes.
 * Reading: any conforming frame Kafka accepts, e.g. the npm `lz4` default (FLG 0x64, BD 0x70). Like Kafka,
 * block and content checksums are skipped, not verified; dependent blocks, dictionaries and reserved bits
 * are rejected. Unlike Kafka, bytes after the frame are rejected too.
 *
 * Block compression: the native `lz4` addon (LZ4 1.9's C code) when it loads — ~10× faster — else the
 * pure-JS `lz4js`. Lambda bundles leave the native addon out, so both paths are tested on their own.
 * Block decompression falls back to our own decoder rather than lz4js's decompressBlock: that one checks
 * no bounds (a match offset before the output start silently yields zeros, writes past the end are
 * dropped), so a hostile frame carrying a valid CRC could decode to wrong bytes instead of failing.
 */
import { compressBlock as jsCompressBlock } from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { SluiceError } from '../errors';
import { type BlockDecoder, copyLiterals, copyMatch } from './lz77';
import { addonChoice, type Implementation, recordsTooLarge as tooLarge } from './native';

const MAGIC = 0x184d2204;
const FLG_KAFKA = 0x60;
const BD_64KB = 0x40;
const BLOCK_64KB = 64 * 1024;
const RAW_BLOCK = 0x80000000;
/** LZ4's best ratio: each input byte of a block yields at most 255 output bytes. */
const MAX_RATIO = 255;
/** Frames bound to decompress to at most this go through a scratch buffer kept between calls. */
const SMALL_FRAME_BYTES = 64 * 1024;

export type Lz4Implementation = Implementation;

interface NativeLz4 {
  encodeBlock(input: Uint8Array, output: Uint8Array, start: number, end: number): number;
  decodeBlock(input: Uint8Array, output: Uint8Array, start: number, end: number): number;
}

const lz4Choice = addonChoice<NativeLz4>('lz4', ['encodeBlock', 'decodeBlock']);
const native = lz4Choice.native;

/**
 * Chooses the block compressor: 'auto' (default) uses the native addon when it loads; 'js' forces lz4js
 * (for tests, and to reproduce Lambda); 'native' fails if the addon does not load.
 */
export const useLz4Implementation: (choice: 'auto' | Lz4Implementation) => void = lz4Choice.use;

/** The block compressor in use. */
export const lz4Implementation: () => Lz4Implementation = lz4Choice.implementation;

/** Most bytes `lz4CompressFrame` writes for `n` input bytes: header, raw blocks at worst, end mark. */
export function lz4FrameBound(n: number): number {
  return 7 + n + 4 * Math.ceil(n / BLOCK_64KB) + 4;
}

const HEADER_CHECKSUM = (xxh32(0, Uint8Array.of(FLG_KAFKA, BD_64KB), 0, 2) >>> 8) & 0xff;
let jsHashTable: Uint32Array | undefined;

/**
 * Compresses `src[start, end)` as a Kafka LZ4 frame into `out` at `pos` (room for `lz4FrameBound` bytes
 * needed); returns the position after the frame.
 */
export function lz4CompressFrame(src: Buffer, start: number, end: number, out: Buffer, pos: number): number {
  out.writeUInt32LE(MAGIC, pos);
  out[pos + 4] = FLG_KAFKA;
  out[pos + 5] = BD_64KB;
  out[pos + 6] = HEADER_CHECKSUM;
  pos += 7;
  const lz4 = native();
  for (let blockStart = start; blockStart < end; blockStart += BLOCK_64KB) {
    const blockLen = Math.min(BLOCK_64KB, end - blockStart);
    const dataPos = pos + 4;
    let compressed: number;
    if (lz4 !== null) {
      // Room for one byte less than raw: LZ4 returns 0 when the block does not shrink.
      compressed = lz4.encodeBlock(
        src.subarray(blockStart, blockStart + blockLen),
        out,
        dataPos,
        dataPos + blockLen - 1,
      );
    } else {
      compressed = jsCompressBlockSafe(
        src,
        blockStart,
        blockLen,
        out.subarray(dataPos, dataPos + blockLen - 1),
      );
    }
    if (compressed > 0 && compressed < blockLen) {
      out.writeUInt32LE(compressed, pos);
      pos = dataPos + compressed;
    } else {
      out.writeUInt32LE((blockLen | RAW_BLOCK) >>> 0, pos);
      src.copy(out, dataPos, blockStart, blockStart + blockLen);
      pos = dataPos + blockLen;
    }
  }
  out.writeUInt32LE(0, pos);
  return pos + 4;
}

/**
 * lz4js's compressBlock into `dst` (its room is the most the block may take), returning the size, or 0
 * for "store it raw". lz4js lets the last match start 10 bytes before the end of the block, where the
 * format requires 12: LZ4's own decoder — and so Kafka's, through lz4-java — rejects such a block when it
 * fills the output buffer (a full 64 KB block). So lz4js compresses all but the last 3 bytes, and those
 * are appended to its final, literal-only sequence.
 */
function jsCompressBlockSafe(src: Buffer, start: number, length: number, dst: Buffer): number {
  // lz4js's last match starts ≥ 10 bytes before the end it is given: holding back 3 leaves ≥ 13.
  const held = 3;
  if (length < 16 + held) return 0;
  // A fresh (zeroed) table per block keeps blocks independent; lz4js drops writes past the view's end.
  if (jsHashTable === undefined) jsHashTable = new Uint32Array(1 << 16);
  else jsHashTable.fill(0);
  const n = jsCompressBlock(src, dst, start, length - held, jsHashTable);
  if (n === 0 || n > dst.length) return 0;
  // Find the final sequence: token, literal count (15 + extension bytes), literals, end.
  let token = 0;
  let literals = 0;
  for (let p = 0; ; ) {
    token = p;
    literals = dst[p++]! >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = dst[p++]!;
        literals += b;
      } while (b === 255);
    }
    p += literals;
    if (p >= n) break;
    p += 2;
    if ((dst[token]! & 15) === 15) while (dst[p++] === 255);
  }
  // Rewrite it with the held-back bytes; literals are copied from `src`, so overwriting in place is safe.
  literals += held;
  let p = token;
  if (p + 2 + Math.floor(literals / 255) + literals > dst.length) return 0;
  if (literals < 15) {
    dst[p++] = literals << 4;
  } else {
    dst[p++] = 0xf0;
    let rest = literals - 15;
    for (; rest >= 255; rest -= 255) dst[p++] = 255;
    dst[p++] = rest;
  }
  src.copy(dst, p, start + length - literals, start + length);
  return p + literals;
}

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', `LZ4 frame: ${message}`);
}

let scratch: Buffer = Buffer.alloc(0);

/**
 * Decompresses the LZ4 frame `src[start, end)`. Fails with CORRUPT_MESSAGE on any framing error and
 * with RECORD_LIST_TOO_LARGE as soon as the output would pass `maxBytes` — checked from the block sizes
 * before anything is allocated, and enforced block by block while decompressing.
 */
export function lz4DecompressFrame(src: Buffer, start: number, end: number, maxBytes: number): Buffer {
  if (end - start < 7) throw corrupt(`${end - start} bytes is shorter than a frame header`);
  if (src.readUInt32LE(start) !== MAGIC) throw corrupt('wrong magic number');
  const flg = src[start + 4]!;
  const bd = src[start + 5]!;
  if (flg >>> 6 !== 1) throw corrupt(`version ${flg >>> 6} is not 1`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw corrupt('reserved bits are set');
  if ((flg & 0x01) !== 0) throw corrupt('dictionary ids are not supported');
  if ((flg & 0x20) === 0)
    throw corrupt('dependent blocks are not supported (Kafka writes independent blocks)');
  const blockChecksumBytes = (flg & 0x10) !== 0 ? 4 : 0;
  const contentChecksumBytes = (flg & 0x04) !== 0 ? 4 : 0;
  const descriptorLength = (flg & 0x08) !== 0 ? 10 : 2;
  const sizeId = (bd >>> 4) & 7;
  if (sizeId < 4) throw corrupt(`block size id ${sizeId} is not one of 4–7`);
  const blockMax = 1 << (8 + 2 * sizeId);
  if (end - start < 5 + descriptorLength) throw corrupt('ends inside its descriptor');
  const hc = (xxh32(0, src, start + 4, descriptorLength) >>> 8) & 0xff;
  if (hc !== src[start + 4 + descriptorLength]) throw corrupt('header checksum mismatch');
  const firstBlock = start + 5 + descriptorLength;

  // Pass 1: walk the block sizes, bound the output, reject a bomb before allocating.
  let rawTotal = 0;
  let bound = 0;
  let pos = firstBlock;
  for (;;) {
    if (end - pos < 4) throw corrupt('ends before its end mark');
    const word = src.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw corrupt(`block of ${size} bytes exceeds the frame's ${blockMax}-byte blocks`);
    if (end - pos < size + blockChecksumBytes) throw corrupt('ends inside a block');
    if (word & RAW_BLOCK) {
      rawTotal += size;
      bound += size;
    } else {
      bound += Math.min(blockMax, size * MAX_RATIO);
    }
    pos += size + blockChecksumBytes;
  }
  if (end - pos !== contentChecksumBytes) {
    throw corrupt(
      end - pos < contentChecksumBytes ? 'ends inside its content checksum' : 'bytes follow the frame',
    );
  }
  if (rawTotal > maxBytes) throw tooLarge(maxBytes);

  // Pass 2: decompress into a buffer no larger than the cap. Writers fill every block but the last, so
  // the bound is close to the size: a large frame decompresses straight into a buffer of its own, which
  // is returned when the slack is small; a small one goes through a reused scratch buffer and is copied.
  const workSize = Math.min(bound, maxBytes);
  const work = workSize > SMALL_FRAME_BYTES ? Buffer.allocUnsafe(workSize) : scratchOf(workSize);
  const lz4 = native();
  let out = 0;
  pos = firstBlock;
  for (;;) {
    const word = src.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (word & RAW_BLOCK) {
      if (size > workSize - out) throw tooLarge(maxBytes);
      src.copy(work, out, pos, pos + size);
      out += size;
    } else {
      const blockBound = Math.min(blockMax, size * MAX_RATIO);
      const room = Math.min(blockBound, workSize - out);
      const n = decompressBlock(lz4, src, pos, pos + size, work, out, out + room);
      if (n < 0) {
        // Out of room under the cap: tell a block that is merely too large from a broken one.
        if (room < blockBound && blockDecompressedSize(lz4, src, pos, pos + size, blockBound) >= 0) {
          throw tooLarge(maxBytes);
        }
        throw corrupt('a block does not decompress');
      }
      out += n;
    }
    pos += size + blockChecksumBytes;
  }
  if (work !== scratch && out >= work.length * 0.75) return work.subarray(0, out);
  const result = Buffer.allocUnsafe(out);
  work.copy(result, 0, 0, out);
  return result;
}

function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(size);
  return scratch;
}

/** Decompresses one block into dst[dStart, dEnd); returns the bytes written, or −1 if it does not fit or is broken. */
function decompressBlock(
  lz4: NativeLz4 | null,
  src: Buffer,
  sStart: number,
  sEnd: number,
  dst: Buffer,
  dStart: number,
  dEnd: number,
): number {
  if (lz4 !== null) {
    const n = lz4.decodeBlock(src, dst.subarray(dStart, dEnd), sStart, sEnd);
    return n >= 0 ? n : -1;
  }
  return jsDecompressBlock(src, sStart, sEnd, dst, dStart, dEnd);
}

function blockDecompressedSize(
  lz4: NativeLz4 | null,
  src: Buffer,
  sStart: number,
  sEnd: number,
  room: number,
) {
  return decompressBlock(lz4, src, sStart, sEnd, Buffer.allocUnsafe(room), 0, room);
}

/**
 * LZ4 block decoder (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) with every length and
 * offset bounds-checked. Returns the bytes written to dst[dStart, dEnd), or −1.
 *
 * It decodes every well-formed block as LZ4's C decoder does. On malformed blocks, decoders differ at the
 * edges (LZ4 1.9's own fast and safe loops apply different end-of-block checks); this one accepts any
 * block whose every sequence stays within its input, its output and the data decoded so far.
 */
export const jsDecompressBlock: BlockDecoder = (src, sPos, sEnd, dst, dStart, dEnd) => {
  let dPos = dStart;
  for (;;) {
    if (sPos >= sEnd) return -1;
    const token = src[sPos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) return -1;
        b = src[sPos++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > sEnd - sPos || literals > dEnd - dPos) return -1;
    copyLiterals(src, sPos, dst, dPos, literals);
    sPos += literals;
    dPos += literals;
    // The last sequence of a block has literals only.
    if (sPos === sEnd) return dPos - dStart;
    if (sEnd - sPos < 2) return -1;
    const offset = src[sPos]! | (src[sPos + 1]! << 8);
    sPos += 2;
    if (offset === 0 || offset > dPos - dStart) return -1;
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (sPos >= sEnd) return -1;
        b = src[sPos++]!;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += 4;
    if (matchLength > dEnd - dPos) return -1;
    dPos = copyMatch(dst, dPos, offset, matchLength);
  }
};
