/**
 * Apache Kafka's RecordBatch, magic 2, byte for byte.
 *
 *   RecordBatch =>
 *     BaseOffset           => int64   @0   stamped by the server; not covered by the CRC
 *     BatchLength          => int32   @8   bytes after this field (total − 12)
 *     PartitionLeaderEpoch => int32   @12  not covered by the CRC; Sluice ignores it
 *     Magic                => int8    @16  2
 *     CRC                  => uint32  @17  CRC-32C of bytes 21 … end
 *     Attributes           => int16   @21  bits 0–2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) ·
 *                                          0x08 LogAppendTime · 0x10 transactional · 0x20 control
 *     LastOffsetDelta      => int32   @23
 *     BaseTimestamp        => int64   @27  the first record's timestamp
 *     MaxTimestamp         => int64   @35
 *     ProducerId           => int64   @43  −1 when not idempotent
 *     ProducerEpoch        => int16   @51  −1
 *     BaseSequence         => int32   @53  −1
 *     RecordCount          => int32   @57  never compressed
 *     Records              => Record × RecordCount, @61, compressed as one stream per the codec
 *
 *   Record =>
 *     Length         => varint   bytes after this field
 *     Attributes     => int8     unused
 *     TimestampDelta => varlong  timestamp − BaseTimestamp
 *     OffsetDelta    => varint   the record's index in the batch
 *     Key            => varint length (−1 = null) · bytes
 *     Value          => varint length (−1 = null) · bytes
 *     Headers        => varint count · (varint key length · utf-8 key · varint value length (−1 = null) · bytes)
 *
 * Follows DefaultRecordBatch.java and DefaultRecord.java:
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/record/DefaultRecordBatch.java
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/record/DefaultRecord.java
 * and the produce-side checks of LogValidator.scala (validateBatch, validateRecord).
 *
 * Errors, all SluiceError:
 * - CORRUPT_MESSAGE: framing — a length that does not fit, a CRC mismatch, a truncated or trailing batch,
 *   a malformed varint, compressed data that does not decompress, an i64 beyond ±2^53.
 * - INVALID_RECORD: well-framed but inconsistent — recordCount ≠ lastOffsetDelta + 1, offset deltas not
 *   0, 1, 2 …, producer fields that contradict each other, and a sequence range that wraps past 2^31 − 1.
 *   (Kafka's producer wraps sequences to 0 there; Sluice compares sequences as numbers, so a producer that
 *   long-lived must start a new producer id or epoch instead.)
 * - UNSUPPORTED_FOR_MESSAGE_FORMAT: magic 0 or 1, transactional or control batches, unknown attribute bits.
 * - UNSUPPORTED_COMPRESSION_TYPE: encoding with snappy or zstd, decoding them (validation accepts all five).
 * - RECORD_LIST_TOO_LARGE: the records decompress to more than the cap (enforced while decompressing).
 * - MESSAGE_TOO_LARGE: a batch larger than validateBatches' maxBatchBytes.
 *
 * Decoded keys, values and header values are views into the decoded buffer (the input itself when the
 * batch is not compressed), as in kafkajs: copy them before mutating either.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { SluiceError } from '../errors';
import { LOG_LIMITS } from '../log/types';
import { crc32c } from './crc32c';
import { lz4CompressFrame, lz4DecompressFrame, lz4FrameBound } from './lz4';
import { ByteReader, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint';

/** Kafka's five codecs, by their compression.type names. */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface ProducerRecord {
  /** @default null */
  key?: Buffer | null;
  value: Buffer | null;
  /** @default [] */
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch. @default the batch's `now` */
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: Compression;
  timestampType: 'CreateTime' | 'LogAppendTime';
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** The whole batch: batchLength + 12. */
  sizeInBytes: number;
}

export interface EncodeOptions {
  /** @default 'lz4' */
  readonly compression?: Compression;
  /** @default 0 (the server stamps the real one) */
  readonly baseOffset?: number;
  /** @default -1 */
  readonly producerId?: number;
  /** @default -1 */
  readonly producerEpoch?: number;
  /** @default -1 */
  readonly baseSequence?: number;
  /** @default -1 */
  readonly partitionLeaderEpoch?: number;
  /** Timestamp of records that carry none, in ms. @default Date.now() */
  readonly now?: number;
}

export interface DecodeOptions {
  /** Cap on the decompressed records, in bytes. @default LOG_LIMITS.maxDecompressedBatchBytes */
  readonly maxDecompressedBytes?: number;
  /** @default true */
  readonly verifyCrc?: boolean;
}

export interface ValidateLimits {
  /** Largest batch accepted, header included, in bytes. @default no limit beyond the buffer */
  readonly maxBatchBytes?: number;
}

export interface DecodedBatch {
  header: RecordBatchHeader;
  records: DecodedRecord[];
}

/** Bytes of the batch header; the records start here. */
export const RECORD_BATCH_HEADER_BYTES = 61;
/** BatchLength of a batch with no record bytes. */
const MIN_BATCH_LENGTH = RECORD_BATCH_HEADER_BYTES - 12;
/** The smallest record: length, attributes, timestamp delta, offset delta, key, value, header count. */
const MIN_RECORD_BYTES = 7;
const MAGIC = 2;

const CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_FLAG = 0x08;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const KNOWN_ATTRIBUTES = 0x3f;

const CODEC_ID: Partial<Record<Compression, number>> = { none: 0, gzip: 1, lz4: 3 };
const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function corrupt(message: string): SluiceError {
  return new SluiceError('CORRUPT_MESSAGE', message);
}

function invalid(message: string): SluiceError {
  return new SluiceError('INVALID_RECORD', message);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

let recordScratch: Buffer = Buffer.alloc(0);
let frameScratch: Buffer = Buffer.alloc(0);
let sizeScratch = new Int32Array(1024);

function growScratch(buf: Buffer, size: number): Buffer {
  return buf.length >= size ? buf : Buffer.allocUnsafe(Math.max(size, 2 * buf.length));
}

function codecIdOf(compression: string): number {
  const id = Object.hasOwn(CODEC_ID, compression) ? CODEC_ID[compression as Compression] : undefined;
  if (id !== undefined) return id;
  throw new SluiceError(
    'UNSUPPORTED_COMPRESSION_TYPE',
    `Compression '${compression}' is not supported; use none, gzip or lz4`,
  );
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], but ${value} was provided`);
  }
  return value;
}

function bytesField(record: ProducerRecord, name: 'key' | 'value', index: number): Buffer | null {
  const bytes = record[name] ?? null;
  if (bytes !== null && !(bytes instanceof Uint8Array)) {
    throw invalid(`Record ${index}: ${name} must be a Buffer or null`);
  }
  return bytes;
}

function headersSize(headers: readonly RecordHeader[], index: number): number {
  let size = sizeOfVarint(headers.length);
  for (const header of headers) {
    if (typeof header.key !== 'string') throw invalid(`Record ${index}: a header key must be a string`);
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes;
    const value = header.value;
    if (value === null) size += 1;
    else if (value instanceof Uint8Array) size += sizeOfVarint(value.length) + value.length;
    else throw invalid(`Record ${index}: header '${header.key}' value must be a Buffer or null`);
  }
  return size;
}

/**
 * Encodes records as one RecordBatch v2 (compressed with lz4 unless told otherwise). Record timestamps
 * default to `now`; offsets are 0 … n − 1 from `baseOffset`.
 */
export function encodeRecordBatch(records: readonly ProducerRecord[], options: EncodeOptions = {}): Buffer {
  const count = records.length;
  if (count === 0) throw invalid('A record batch needs at least one record');
  if (count > 0x7fffffff) throw invalid(`A record batch holds at most 2^31 − 1 records, not ${count}`);
  const codec = codecIdOf(options.compression ?? 'lz4');
  const now = options.now ?? Date.now();
  const baseOffset = checkInteger('baseOffset', options.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER - count);
  const producerId = checkInteger('producerId', options.producerId ?? -1, -1, Number.MAX_SAFE_INTEGER);
  const producerEpoch = checkInteger('producerEpoch', options.producerEpoch ?? -1, -1, 0x7fff);
  const baseSequence = checkInteger('baseSequence', options.baseSequence ?? -1, -1, 0x7fffffff);
  const leaderEpoch = checkInteger(
    'partitionLeaderEpoch',
    options.partitionLeaderEpoch ?? -1,
    -1,
    0x7fffffff,
  );

  // Pass 1: timestamps and sizes, so the records are written once into a buffer of the right size.
  const first = records[0]!;
  const baseTimestamp = first.timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  if (sizeScratch.length < count) sizeScratch = new Int32Array(Math.max(count, 2 * sizeScratch.length));
  const bodySizes = sizeScratch;
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw invalid(
        `Record ${i}: timestamp must be a non-negative integer (ms), but ${timestamp} was provided`,
      );
    }
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const key = bytesField(record, 'key', i);
    const value = bytesField(record, 'value', i);
    const headers = record.headers;
    const body =
      1 +
      sizeOfVarlong(timestamp - baseTimestamp) +
      sizeOfVarint(i) +
      (key === null ? 1 : sizeOfVarint(key.length) + key.length) +
      (value === null ? 1 : sizeOfVarint(value.length) + value.length) +
      (headers === undefined || headers.length === 0 ? 1 : headersSize(headers, i));
    bodySizes[i] = body;
    recordsSize += sizeOfVarint(body) + body;
  }
  if (recordsSize > LOG_LIMITS.maxDecompressedBatchBytes) {
    throw new SluiceError(
      'RECORD_LIST_TOO_LARGE',
      `The records take ${recordsSize} bytes; a batch may hold at most ${LOG_LIMITS.maxDecompressedBatchBytes}`,
    );
  }

  // Pass 2: the records, straight into the batch when uncompressed, else into a scratch buffer.
  let out: Buffer;
  let size: number;
  if (codec === 0) {
    size = RECORD_BATCH_HEADER_BYTES + recordsSize;
    out = Buffer.allocUnsafe(size);
    writeRecords(records, now, baseTimestamp, bodySizes, out, RECORD_BATCH_HEADER_BYTES);
  } else {
    recordScratch = growScratch(recordScratch, recordsSize);
    writeRecords(records, now, baseTimestamp, bodySizes, recordScratch, 0);
    if (codec === 3) {
      frameScratch = growScratch(frameScratch, lz4FrameBound(recordsSize));
      const frameLength = lz4CompressFrame(recordScratch, 0, recordsSize, frameScratch, 0);
      size = RECORD_BATCH_HEADER_BYTES + frameLength;
      out = Buffer.allocUnsafe(size);
      frameScratch.copy(out, RECORD_BATCH_HEADER_BYTES, 0, frameLength);
    } else {
      const gzipped = gzipSync(recordScratch.subarray(0, recordsSize));
      size = RECORD_BATCH_HEADER_BYTES + gzipped.length;
      out = Buffer.allocUnsafe(size);
      gzipped.copy(out, RECORD_BATCH_HEADER_BYTES);
    }
    // Scratch buffers that grew for one huge batch are not kept.
    if (recordScratch.length > 8 * 1024 * 1024) recordScratch = Buffer.alloc(0);
    if (frameScratch.length > 8 * 1024 * 1024) frameScratch = Buffer.alloc(0);
  }

  out.writeBigInt64BE(BigInt(baseOffset), 0);
  out.writeInt32BE(size - 12, 8);
  out.writeInt32BE(leaderEpoch, 12);
  out[16] = MAGIC;
  out.writeInt16BE(codec, 21);
  out.writeInt32BE(count - 1, 23);
  out.writeBigInt64BE(BigInt(baseTimestamp), 27);
  out.writeBigInt64BE(BigInt(maxTimestamp), 35);
  out.writeBigInt64BE(BigInt(producerId), 43);
  out.writeInt16BE(producerEpoch, 51);
  out.writeInt32BE(baseSequence, 53);
  out.writeInt32BE(count, 57);
  out.writeUInt32BE(crc32c(out, 21, size), 17);
  return out;
}

function writeBytes(out: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    out[pos] = 1; // zigzag(−1)
    return pos + 1;
  }
  const length = bytes.length;
  pos = writeVarint(out, pos, length);
  if (length < 48) {
    for (let j = 0; j < length; j++) out[pos + j] = bytes[j]!;
  } else {
    out.set(bytes, pos);
  }
  return pos + length;
}

function writeRecords(
  records: readonly ProducerRecord[],
  now: number,
  baseTimestamp: number,
  bodySizes: Int32Array,
  out: Buffer,
  pos: number,
): number {
  const count = records.length;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    pos = writeVarint(out, pos, bodySizes[i]!);
    out[pos++] = 0;
    pos = writeVarlong(out, pos, (record.timestamp ?? now) - baseTimestamp);
    pos = writeVarint(out, pos, i);
    pos = writeBytes(out, pos, record.key ?? null);
    pos = writeBytes(out, pos, record.value ?? null);
    const headers = record.headers;
    if (headers === undefined || headers.length === 0) {
      out[pos++] = 0;
    } else {
      pos = writeVarint(out, pos, headers.length);
      for (const header of headers) {
        const keyBytes = Buffer.byteLength(header.key, 'utf8');
        pos = writeVarint(out, pos, keyBytes);
        pos += out.write(header.key, pos, keyBytes, 'utf8');
        pos = writeBytes(out, pos, header.value);
      }
    }
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------------
// Headers and validation

function readInt64(buf: Buffer, at: number, name: string): number {
  const value = buf.readBigInt64BE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw corrupt(`${name} ${value} is beyond ±2^53, which Sluice does not represent`);
  }
  return Number(value);
}

function parseHeader(buf: Buffer, at: number, exactBaseOffset: boolean): RecordBatchHeader {
  const available = buf.length - at;
  if (at < 0 || available < RECORD_BATCH_HEADER_BYTES) {
    throw corrupt(
      `A record batch header takes ${RECORD_BATCH_HEADER_BYTES} bytes, but ${Math.max(available, 0)} remain at byte ${at}`,
    );
  }
  checkMagic(buf, at);
  const attributes = buf.readInt16BE(at + 21);
  const codecId = attributes & CODEC_MASK;
  const compression = CODEC_NAMES[codecId];
  if (compression === undefined) throw corrupt(`Batch at byte ${at}: unknown compression type id ${codecId}`);
  const batchLength = buf.readInt32BE(at + 8);
  return {
    baseOffset: exactBaseOffset ? readInt64(buf, at, 'baseOffset') : Number(buf.readBigInt64BE(at)),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(at + 12),
    magic: MAGIC,
    crc: buf.readUInt32BE(at + 17),
    attributes,
    compression,
    timestampType: attributes & TIMESTAMP_TYPE_FLAG ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    isControl: (attributes & CONTROL_FLAG) !== 0,
    lastOffsetDelta: buf.readInt32BE(at + 23),
    baseTimestamp: readInt64(buf, at + 27, 'baseTimestamp'),
    maxTimestamp: readInt64(buf, at + 35, 'maxTimestamp'),
    producerId: readInt64(buf, at + 43, 'producerId'),
    producerEpoch: buf.readInt16BE(at + 51),
    baseSequence: buf.readInt32BE(at + 53),
    recordCount: buf.readInt32BE(at + 57),
    sizeInBytes: batchLength + 12,
  };
}

function checkMagic(buf: Buffer, at: number): void {
  const magic = buf.readInt8(at + 16);
  if (magic === MAGIC) return;
  if (magic === 0 || magic === 1) {
    throw new SluiceError(
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
      `Batch at byte ${at} uses message format v${magic}; Sluice accepts RecordBatch v2 only`,
    );
  }
  throw corrupt(`Batch at byte ${at}: magic ${magic} is not 2`);
}

/**
 * Reads the 61-byte header of the batch at `at` without checking its CRC or records. Fails with
 * CORRUPT_MESSAGE when fewer than 61 bytes remain, UNSUPPORTED_* for other formats and codecs.
 */
export function readBatchHeader(buf: Buffer, at = 0): RecordBatchHeader {
  return parseHeader(buf, at, true);
}

/**
 * Size of the batch at `at` (BatchLength + 12), checked to be at least a header; `null` when the buffer
 * ends before its length field or before its last byte.
 */
function completeBatchSize(buf: Buffer, at: number): number | null {
  const available = buf.length - at;
  if (available < 12) return null;
  if (available >= 17) checkMagic(buf, at);
  const batchLength = buf.readInt32BE(at + 8);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw corrupt(`Batch at byte ${at}: batchLength ${batchLength} is below the minimum ${MIN_BATCH_LENGTH}`);
  }
  const size = batchLength + 12;
  return size <= available ? size : null;
}

function partialBatch(buf: Buffer, at: number): SluiceError {
  const available = buf.length - at;
  const wanted =
    available >= 12 ? `${buf.readInt32BE(at + 8) + 12}` : `at least ${RECORD_BATCH_HEADER_BYTES}`;
  return corrupt(
    `The buffer ends with a partial batch: ${available} bytes at byte ${at}, the batch needs ${wanted}`,
  );
}

/** Batch-level checks shared by validateBatches and decodeRecordBatch; the batch is complete in `buf`. */
function checkBatch(buf: Buffer, at: number, size: number, verifyCrc: boolean, exactBaseOffset: boolean) {
  if (verifyCrc) {
    const stored = buf.readUInt32BE(at + 17);
    const computed = crc32c(buf, at + 21, at + size);
    if (stored !== computed) {
      throw corrupt(`Batch at byte ${at}: CRC-32C is ${computed}, but the batch says ${stored}`);
    }
  }
  const header = parseHeader(buf, at, exactBaseOffset);
  const { attributes, recordCount, lastOffsetDelta, producerId } = header;
  if (attributes & (TRANSACTIONAL_FLAG | CONTROL_FLAG)) {
    throw new SluiceError(
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
      `Batch at byte ${at} is ${attributes & TRANSACTIONAL_FLAG ? 'transactional' : 'a control batch'}; Sluice does not support transactions`,
    );
  }
  if (attributes & ~KNOWN_ATTRIBUTES) {
    throw new SluiceError(
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
      `Batch at byte ${at}: attribute bits 0x${(attributes & ~KNOWN_ATTRIBUTES & 0xffff).toString(16)} are not supported`,
    );
  }
  if (recordCount < 1) throw invalid(`Batch at byte ${at}: recordCount ${recordCount} is not positive`);
  if (recordCount !== lastOffsetDelta + 1) {
    throw invalid(
      `Batch at byte ${at}: recordCount ${recordCount} does not match lastOffsetDelta ${lastOffsetDelta} + 1`,
    );
  }
  if (header.compression === 'none' && recordCount > (size - RECORD_BATCH_HEADER_BYTES) / MIN_RECORD_BYTES) {
    throw corrupt(
      `Batch at byte ${at}: ${recordCount} records cannot fit in ${size - RECORD_BATCH_HEADER_BYTES} bytes`,
    );
  }
  if (producerId < -1) throw invalid(`Batch at byte ${at}: producerId ${producerId} is negative`);
  if (producerId >= 0) {
    if (header.producerEpoch < 0 || header.baseSequence < 0) {
      throw invalid(
        `Batch at byte ${at}: producerId ${producerId} needs a non-negative producerEpoch and baseSequence, ` +
          `but they are ${header.producerEpoch} and ${header.baseSequence}`,
      );
    }
    if (header.baseSequence + lastOffsetDelta > 0x7fffffff) {
      throw invalid(
        `Batch at byte ${at}: sequences ${header.baseSequence} … ${header.baseSequence + lastOffsetDelta} pass ` +
          '2^31 − 1; start a new producer epoch instead of wrapping',
      );
    }
  }
  if (
    exactBaseOffset &&
    (header.baseOffset < 0 || header.baseOffset + lastOffsetDelta > Number.MAX_SAFE_INTEGER)
  ) {
    throw corrupt(`Batch at byte ${at}: baseOffset ${header.baseOffset} is not a valid offset`);
  }
  return header;
}

/**
 * What the server runs on a produce body, without decompressing: `buf` must be one or more complete
 * batches, each with a sane length, magic 2, a matching CRC-32C, a supported codec, no transactional or
 * control bits, recordCount = lastOffsetDelta + 1 ≥ 1 and consistent producer fields. BaseOffset (stamped
 * by the server; read as a plain number, exact or not) and partitionLeaderEpoch are not checked.
 */
export function validateBatches(buf: Buffer, limits: ValidateLimits = {}): RecordBatchHeader[] {
  if (buf.length === 0) throw corrupt('The body holds no record batch');
  const maxBatchBytes = limits.maxBatchBytes ?? Number.POSITIVE_INFINITY;
  const headers: RecordBatchHeader[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at >= 12) {
      const claimed = buf.readInt32BE(at + 8) + 12;
      if (claimed > maxBatchBytes) {
        throw new SluiceError(
          'MESSAGE_TOO_LARGE',
          `Batch at byte ${at} takes ${claimed} bytes; the most allowed is ${maxBatchBytes}`,
          { details: { maxBatchBytes } },
        );
      }
    }
    const size = completeBatchSize(buf, at);
    if (size === null) throw partialBatch(buf, at);
    headers.push(checkBatch(buf, at, size, true, false));
    at += size;
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Decoding

function decompress(buf: Buffer, header: RecordBatchHeader, maxBytes: number): Buffer {
  const start = RECORD_BATCH_HEADER_BYTES;
  const end = header.sizeInBytes;
  if (header.compression === 'none') {
    if (end - start > maxBytes) throw tooLarge(maxBytes);
    return buf.subarray(0, end);
  }
  if (header.compression === 'lz4') return lz4DecompressFrame(buf, start, end, maxBytes);
  if (header.compression === 'snappy' || header.compression === 'zstd') {
    throw new SluiceError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `Decoding ${header.compression} is not supported yet`,
    );
  }
  try {
    return gunzipSync(buf.subarray(start, end), { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if (err instanceof RangeError) throw tooLarge(maxBytes);
    throw new SluiceError('CORRUPT_MESSAGE', 'The batch is not valid gzip', { cause: err });
  }
}

function tooLarge(maxBytes: number): SluiceError {
  return new SluiceError(
    'RECORD_LIST_TOO_LARGE',
    `The batch's records decompress to more than ${maxBytes} bytes, the most allowed`,
    { details: { maxDecompressedBytes: maxBytes } },
  );
}

/**
 * Node's own Buffer class (Buffer[Symbol.species] is its internal FastBuffer, whose prototype is
 * Buffer.prototype). Constructing views with it directly costs about half of `subarray`, which goes
 * through the species lookup on every call; two views per record make that a large share of decoding.
 */
const NodeBuffer = (() => {
  const species = (Buffer as unknown as Record<symbol, unknown>)[Symbol.species];
  if (typeof species === 'function' && species !== Buffer) {
    const Ctor = species as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Buffer;
    const probe = new Ctor(new ArrayBuffer(2), 1, 1);
    if (Object.getPrototypeOf(probe) === Buffer.prototype && probe.length === 1) return Ctor;
  }
  return null;
})();

/** Where the last `varintAt` stopped: a module variable, so the hot loop allocates no tuples. */
let next = 0;

/**
 * The zigzag varint at `pos`, inline for one and two bytes (lengths of records up to 8 KB, keys, values),
 * through ByteReader beyond; fails with CORRUPT_MESSAGE past `limit`.
 */
function varintAt(data: Buffer, pos: number, limit: number): number {
  if (pos < limit) {
    const b0 = data[pos]!;
    if (b0 < 0x80) {
      next = pos + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    if (pos + 1 < limit) {
      const b1 = data[pos + 1]!;
      if (b1 < 0x80) {
        next = pos + 2;
        const z = (b0 & 0x7f) | (b1 << 7);
        return (z >>> 1) ^ -(z & 1);
      }
    }
  }
  return longVarintAt(data, pos, limit);
}

function longVarintAt(data: Buffer, pos: number, limit: number): number {
  const reader = new ByteReader(data, pos, limit);
  const value = reader.readVarint();
  next = reader.pos;
  return value;
}

function parseRecords(header: RecordBatchHeader, data: Buffer, start: number, end: number): DecodedRecord[] {
  const count = header.recordCount;
  if (count > (end - start) / MIN_RECORD_BYTES) {
    throw corrupt(`${count} records cannot fit in ${end - start} bytes of record data`);
  }
  const { baseOffset, baseTimestamp, maxTimestamp } = header;
  const logAppendTime = header.timestampType === 'LogAppendTime';
  const arrayBuffer = data.buffer;
  const byteOffset = data.byteOffset;
  // Views of the data: see NodeBuffer.
  const Ctor = NodeBuffer;
  const view =
    Ctor === null
      ? (at: number, length: number): Buffer => data.subarray(at, at + length)
      : (at: number, length: number): Buffer => new Ctor(arrayBuffer, byteOffset + at, length);
  const records = new Array<DecodedRecord>(count);
  let pos = start;
  for (let i = 0; i < count; i++) {
    const length = varintAt(data, pos, end);
    const recordStart = next;
    if (length < MIN_RECORD_BYTES - 1 || length > end - recordStart) {
      throw corrupt(`Record ${i}: length ${length} does not fit the ${end - recordStart} bytes left`);
    }
    const recordEnd = recordStart + length;
    // Attributes (unused), then the timestamp delta: up to two bytes (±8 s) it is read like a varint.
    let timestampDelta: number;
    const t0 = data[recordStart + 1]!;
    const t1 = data[recordStart + 2]!;
    if (t0 < 0x80) {
      timestampDelta = (t0 >>> 1) ^ -(t0 & 1);
      pos = recordStart + 2;
    } else if (t1 < 0x80) {
      const z = (t0 & 0x7f) | (t1 << 7);
      timestampDelta = (z >>> 1) ^ -(z & 1);
      pos = recordStart + 3;
    } else {
      const reader = new ByteReader(data, recordStart + 1, recordEnd);
      timestampDelta = reader.readVarlong();
      pos = reader.pos;
    }
    const offsetDelta = varintAt(data, pos, recordEnd);
    if (offsetDelta !== i) throw invalid(`Record ${i}: offsetDelta is ${offsetDelta}, not ${i}`);
    pos = next;
    let key: Buffer | null = null;
    const keyLength = varintAt(data, pos, recordEnd);
    pos = next;
    if (keyLength !== -1) {
      if (keyLength < 0 || keyLength > recordEnd - pos) {
        throw corrupt(`Record ${i}: key length ${keyLength} does not fit the record`);
      }
      key = view(pos, keyLength);
      pos += keyLength;
    }
    let value: Buffer | null = null;
    const valueLength = varintAt(data, pos, recordEnd);
    pos = next;
    if (valueLength !== -1) {
      if (valueLength < 0 || valueLength > recordEnd - pos) {
        throw corrupt(`Record ${i}: value length ${valueLength} does not fit the record`);
      }
      value = view(pos, valueLength);
      pos += valueLength;
    }
    const headerCount = varintAt(data, pos, recordEnd);
    pos = next;
    const headers: RecordHeader[] = [];
    if (headerCount !== 0) {
      if (headerCount < 0 || headerCount > (recordEnd - pos) / 2) {
        throw corrupt(`Record ${i}: header count ${headerCount} does not fit the record`);
      }
      for (let h = 0; h < headerCount; h++) {
        const headerKeyLength = varintAt(data, pos, recordEnd);
        pos = next;
        if (headerKeyLength < 0 || headerKeyLength > recordEnd - pos) {
          throw corrupt(`Record ${i}: header key length ${headerKeyLength} does not fit the record`);
        }
        const headerKey = data.toString('utf8', pos, pos + headerKeyLength);
        pos += headerKeyLength;
        const headerValueLength = varintAt(data, pos, recordEnd);
        pos = next;
        let headerValue: Buffer | null = null;
        if (headerValueLength !== -1) {
          if (headerValueLength < 0 || headerValueLength > recordEnd - pos) {
            throw corrupt(`Record ${i}: header value length ${headerValueLength} does not fit the record`);
          }
          headerValue = view(pos, headerValueLength);
          pos += headerValueLength;
        }
        headers.push({ key: headerKey, value: headerValue });
      }
    }
    if (pos !== recordEnd) {
      throw corrupt(`Record ${i}: declares ${length} bytes, but its fields take ${pos - recordStart}`);
    }
    let timestamp: number;
    if (logAppendTime) {
      timestamp = maxTimestamp;
    } else {
      timestamp = baseTimestamp + timestampDelta;
      if (timestamp > Number.MAX_SAFE_INTEGER || timestamp < Number.MIN_SAFE_INTEGER) {
        throw corrupt(`Record ${i}: timestamp is beyond ±2^53`);
      }
    }
    records[i] = { offset: baseOffset + i, timestamp, key, value, headers };
  }
  if (pos !== end) throw corrupt(`${end - pos} bytes follow the last record`);
  return records;
}

/**
 * Decodes exactly one batch — `buf` must hold it and nothing else — with every check of validateBatches
 * plus the records themselves: varints within bounds, each record's length matching its fields, offset
 * deltas 0 … n − 1, and exactly recordCount records. Decompression stops at `maxDecompressedBytes`.
 */
export function decodeRecordBatch(buf: Buffer, options: DecodeOptions = {}): DecodedBatch {
  const size = completeBatchSize(buf, 0);
  if (size === null) throw partialBatch(buf, 0);
  if (size !== buf.length) {
    throw corrupt(`${buf.length - size} bytes follow the batch; decodeRecordBatches reads several batches`);
  }
  const header = checkBatch(buf, 0, size, options.verifyCrc ?? true, true);
  const maxBytes = options.maxDecompressedBytes ?? LOG_LIMITS.maxDecompressedBatchBytes;
  const data = decompress(buf, header, maxBytes);
  const start = header.compression === 'none' ? RECORD_BATCH_HEADER_BYTES : 0;
  return { header, records: parseRecords(header, data, start, data.length) };
}

/**
 * Decodes concatenated batches, as a fetch returns them. A partial batch at the end (a fetch cut at its
 * byte limit) is not an error: its bytes are counted in `partialBytes`.
 */
export function decodeRecordBatches(
  buf: Buffer,
  options: DecodeOptions = {},
): { batches: DecodedBatch[]; partialBytes: number } {
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (at < buf.length) {
    const size = completeBatchSize(buf, at);
    if (size === null) return { batches, partialBytes: buf.length - at };
    batches.push(decodeRecordBatch(buf.subarray(at, at + size), options));
    at += size;
  }
  return { batches, partialBytes: 0 };
}

/** Writes `baseOffset` into bytes 0–7 of the batch at `at`. The CRC does not cover them, so it stays valid. */
export function stampBaseOffset(buf: Buffer, at: number, baseOffset: number): void {
  checkInteger('baseOffset', baseOffset, 0, Number.MAX_SAFE_INTEGER);
  if (!Number.isSafeInteger(at) || at < 0 || buf.length - at < RECORD_BATCH_HEADER_BYTES) {
    throw new RangeError(`No batch header at byte ${at} of a ${buf.length}-byte buffer`);
  }
  buf.writeBigInt64BE(BigInt(baseOffset), at);
}
