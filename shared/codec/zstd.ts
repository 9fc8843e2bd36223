/**
 * Zstandard as Kafka writes it for RecordBatch v2 (compression type 4): one or more frames, back to back.
 *
 *   Data          => (Frame | SkippableFrame)+
 *   Frame         => Magic uint32le 0xFD2FB528 · FrameHeader · Block+ · [ContentChecksum uint32le]
 *     FrameHeader => Descriptor · [WindowDescriptor] · [DictionaryId 0/1/2/4 bytes] · [ContentSize 0/1/2/4/8 bytes]
 *       Descriptor       => content size flag (bits 7–6) · single segment (5) · unused (4) · reserved 0 (3) ·
 *                           content checksum (2) · dictionary id flag (1–0)
 *       WindowDescriptor => exponent (7–3) · mantissa (2–0): window = 2^(10 + e) · (1 + m / 8); absent
 *                           for a single segment, whose window is its content size
 *       ContentSize      => 1 byte only for a single segment with flag 0; 2 bytes hold size − 256
 *     Block       => Header uint24le: last (bit 0) · type (2–1: raw, RLE, compressed, reserved) · size (23–3) ·
 *                    Data (raw: size bytes; RLE: 1 byte repeated size times; compressed: size bytes that
 *                    decode to at most min(window, 128 KB))
 *   SkippableFrame => Magic uint32le 0x184D2A50–0x184D2A5F · Size uint32le · Data[Size]
 *
 * https://github.com/facebook/zstd/blob/dev/doc/zstd_compression_format.md (RFC 8878)
 *
 * Kafka's producer (zstd-jni's stream) and librdkafka write one frame per batch, with or without the
 * content size; a reader must take several frames too, as zstd's own does. Reading walks every frame's
 * header and block headers first: that rejects framing errors, dictionaries and windows beyond 2^27 bytes
 * (zstd's default decoder limit, so Kafka's too), and bounds the output — raw and RLE blocks and declared
 * content sizes count exactly, compressed blocks at their largest — so a bomb is refused before anything
 * is allocated and stopped block by block while decompressing. Like Kafka, the content checksum is
 * skipped, not verified (the batch CRC covers every byte).
 *
 * Decompression: Node's zlib (libzstd) where it exists (Node ≥ 22.15), else the pure-JS `fzstd`, frame by
 * frame through its streaming decoder (which allocates a window, not the frame's declared size, and hands
 * over each block so the count stops a bomb). Compression needs libzstd: Node ≥ 22.15 only.
 */
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { SluiceError } from '../errors';
import { type Implementation, implementationChoice, recordsTooLarge as tooLarge } from './native';

export type ZstdImplementation = Implementation;

interface NativeZstd {
  zstdCompressSync(input: Uint8Array, options?: { params?: Record<number, number> }): Buffer;
  zstdDecompressSync(
    input: Uint8Array,
    options?: { maxOutputLength?: number; params?: Record<number, number> },
  ): Buffer;
}

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_WINDOW_LOG = 27;
const MAX_BLOCK_BYTES = 128 * 1024;
/** zstd's default level, and what Kafka and librdkafka use unless told otherwise. */
const LEVEL = 3;

const zstdChoice = implementationChoice<NativeZstd>(
  () => {
    // Read through a variable so bundlers and older @types do not resolve the names at build time.
    const candidate = zlib as unknown as Partial<NativeZstd>;
    return typeof candidate.zstdDecompressSync === 'function' &&
      typeof candidate.zstdCompressSync === 'function'
      ? (candidate as NativeZstd)
      : null;
  },
  () => `Node ${process.version} has no zstd in zlib (it came in Node 22.15)`,
);
const loadNative = zstdChoice.load;
const native = zstdChoice.native;

/**
 * Chooses the zstd decompressor: 'auto' (default) uses Node's zlib when it has zstd; 'js' forces fzstd
 * (for tests); 'native' fails on a Node without it.
 */
export const useZstdImplementation: (choice: 'auto' | ZstdImplementation) => void = zstdChoice.use;

/** The zstd decompressor in use. */
export const zstdImplementation: () => ZstdImplementation = zstdChoice.implementation;

/** Whether this runtime can write zstd (Node's zlib has it from Node 22.15). */
export function canCompressZstd(): boolean {
  return loadNative() !== null;
}

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', `zstd: ${message}`);
}

/** Compresses `src` as one zstd frame at level 3. Needs Node ≥ 22.15 (see canCompressZstd). */
export function zstdCompress(src: Buffer): Buffer {
  const zstd = loadNative();
  if (zstd === null) {
    throw new SluiceError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `Writing zstd needs Node 22.15 or later (zlib's zstd); this is Node ${process.version}. Reading works everywhere`,
    );
  }
  const constants = zlib.constants as unknown as Record<string, number>;
  const level = constants.ZSTD_c_compressionLevel;
  return zstd.zstdCompressSync(src, level === undefined ? {} : { params: { [level]: LEVEL } });
}

/** One frame found by the walk: where it is, and what it may decode to. */
interface FrameInfo {
  start: number;
  end: number;
  skippable: boolean;
  /** The declared content size, or −1. */
  contentSize: number;
  /** Bytes it decodes to at least (raw and RLE blocks; the content size when declared). */
  atLeast: number;
  /** Bytes it decodes to at most. */
  atMost: number;
  /** Where its window descriptor is (−1: none), and the window it declares. */
  windowAt: number;
  window: number;
}

function readLE(src: Buffer, at: number, bytes: number): number {
  let value = 0;
  for (let i = bytes - 1; i >= 0; i--) value = value * 256 + src[at + i]!;
  return value;
}

/** Walks the frame at `start` without decoding it; throws CORRUPT_MESSAGE on any framing error. */
function walkFrame(src: Buffer, start: number, end: number): FrameInfo {
  if (end - start < 4) throw corrupt(`${end - start} bytes left, too few for a frame's magic number`);
  const magic = src.readUInt32LE(start);
  if (magic >>> 4 === SKIPPABLE_MAGIC >>> 4) {
    if (end - start < 8) throw corrupt('a skippable frame is cut short');
    const size = src.readUInt32LE(start + 4);
    if (size > end - start - 8) throw corrupt('a skippable frame is cut short');
    return {
      start,
      end: start + 8 + size,
      skippable: true,
      contentSize: 0,
      atLeast: 0,
      atMost: 0,
      windowAt: -1,
      window: 0,
    };
  }
  if (magic !== FRAME_MAGIC) throw corrupt('wrong magic number');
  let pos = start + 4;
  if (pos >= end) throw corrupt('ends inside a frame header');
  const descriptor = src[pos++]!;
  if (descriptor & 0x08) throw corrupt('a reserved bit of the frame header is set');
  const singleSegment = (descriptor & 0x20) !== 0;
  const checksumBytes = descriptor & 0x04 ? 4 : 0;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  const sizeFlag = descriptor >>> 6;
  const sizeBytes = sizeFlag === 0 ? (singleSegment ? 1 : 0) : 1 << sizeFlag;
  const headerRest = (singleSegment ? 0 : 1) + dictionaryBytes + sizeBytes;
  if (end - pos < headerRest) throw corrupt('ends inside a frame header');
  let window = 0;
  const windowAt = singleSegment ? -1 : pos;
  if (!singleSegment) {
    const wd = src[pos++]!;
    const log = 10 + (wd >>> 3);
    window = 2 ** log + (2 ** log / 8) * (wd & 7);
    if (window > 2 ** MAX_WINDOW_LOG) {
      throw corrupt(`a window of ${window} bytes is beyond the 2^${MAX_WINDOW_LOG} allowed`);
    }
  }
  if (dictionaryBytes > 0 && readLE(src, pos, dictionaryBytes) !== 0) {
    throw corrupt('frames that need a dictionary are not supported');
  }
  pos += dictionaryBytes;
  let contentSize = -1;
  if (sizeBytes > 0) {
    contentSize = readLE(src, pos, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
    pos += sizeBytes;
  }
  if (singleSegment) window = contentSize;
  const blockMax = Math.min(window, MAX_BLOCK_BYTES);
  let atLeast = 0;
  let atMost = 0;
  for (;;) {
    if (end - pos < 3) throw corrupt('ends before a block header');
    const header = src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16);
    pos += 3;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw corrupt('a block has the reserved type');
    if (size > blockMax) throw corrupt(`a block of ${size} bytes is beyond the frame's ${blockMax}`);
    const stored = type === 1 ? 1 : size;
    if (end - pos < stored) throw corrupt('ends inside a block');
    if (type === 2) {
      atMost += blockMax;
    } else {
      atLeast += size;
      atMost += size;
    }
    pos += stored;
    if (header & 1) break;
  }
  if (end - pos < checksumBytes) throw corrupt('ends inside the content checksum');
  pos += checksumBytes;
  if (contentSize >= 0) {
    if (contentSize < atLeast || contentSize > atMost) {
      throw corrupt(`the frame declares ${contentSize} bytes, but its blocks hold ${atLeast}–${atMost}`);
    }
    atLeast = contentSize;
    atMost = contentSize;
  }
  return { start, end: pos, skippable: false, contentSize, atLeast, atMost, windowAt, window };
}

/**
 * The frame's bytes, with its window lowered to what its blocks can produce when that is much less:
 * fzstd allocates the declared window up front, and a hostile 20-byte frame may declare 128 MB. A
 * window of at least the frame's whole output, and of at least 128 KB (so the block size limit stays
 * the same), decodes every valid frame to the same bytes: no match can reach before the frame's start.
 */
function withSmallWindow(src: Buffer, frame: FrameInfo): Buffer {
  const bytes = src.subarray(frame.start, frame.end);
  const log = Math.max(17, Math.ceil(Math.log2(Math.max(1, frame.atMost))));
  if (frame.windowAt < 0 || frame.window <= 2 ** log) return bytes;
  const copy = Buffer.from(bytes);
  copy[frame.windowAt - frame.start] = (log - 10) << 3;
  return copy;
}

/**
 * Decompresses the zstd data `src[start, end)`. Fails with CORRUPT_MESSAGE on any framing or decoding
 * error, and with RECORD_LIST_TOO_LARGE when the output would pass `maxBytes` — from the headers before
 * anything is allocated, else as soon as the decoder passes it.
 */
export function zstdDecompress(src: Buffer, start: number, end: number, maxBytes: number): Buffer {
  if (start >= end) throw corrupt('no frame');
  const frames: FrameInfo[] = [];
  let atLeast = 0;
  let atMost = 0;
  for (let pos = start; pos < end; ) {
    const frame = walkFrame(src, pos, end);
    atLeast += frame.atLeast;
    atMost += frame.atMost;
    if (atLeast > maxBytes) throw tooLarge(maxBytes);
    frames.push(frame);
    pos = frame.end;
  }
  if (frames.every((f) => f.skippable)) throw corrupt('no frame holds data');
  const cap = Math.min(atMost, maxBytes);

  const zstd = native();
  if (zstd !== null) {
    let out: Buffer;
    try {
      out = zstd.zstdDecompressSync(src.subarray(start, end), { maxOutputLength: Math.max(1, cap) });
    } catch (err) {
      // Past the cap is a bomb; past what the blocks can hold (below the cap) is a broken frame.
      if (err instanceof RangeError && cap === maxBytes) throw tooLarge(maxBytes);
      throw new SluiceError('CORRUPT_MESSAGE', 'zstd: the data does not decompress', { cause: err });
    }
    if (out.length < atLeast) throw corrupt(`decodes to ${out.length} bytes, fewer than its blocks hold`);
    return out;
  }

  // fzstd, frame by frame: each block is counted as it comes, so a bomb stops at the cap.
  const exact = atLeast === atMost;
  const out = exact ? Buffer.allocUnsafe(atLeast) : null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const frame of frames) {
    if (frame.skippable) continue;
    let produced = 0;
    // fzstd hands over a fresh array per block, so chunks are kept without copying.
    const decoder = new Decompress((chunk) => {
      produced += chunk.length;
      if (total + chunk.length > cap) {
        // Past the cap is a bomb; past what the blocks can hold (below the cap) is a broken frame.
        throw cap === maxBytes ? tooLarge(maxBytes) : corrupt('decodes to more than its blocks can hold');
      }
      if (out !== null) out.set(chunk, total);
      else chunks.push(chunk);
      total += chunk.length;
    });
    try {
      decoder.push(withSmallWindow(src, frame), true);
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('CORRUPT_MESSAGE', 'zstd: a frame does not decompress', { cause: err });
    }
    if (produced < frame.atLeast || produced > frame.atMost) {
      throw corrupt(
        `a frame decodes to ${produced} bytes, not the ${frame.atLeast}–${frame.atMost} it holds`,
      );
    }
  }
  if (out !== null) return out;
  const result = Buffer.allocUnsafe(total);
  let at = 0;
  for (const chunk of chunks) {
    result.set(chunk, at);
    at += chunk.length;
  }
  return result;
}
