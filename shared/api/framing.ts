/**
 * The binary framing of `POST /v1/produce` and `POST /v1/fetch`: several partitions in one request,
 * record batches carried as raw bytes (no base64, no JSON on the client's wire). The server and the
 * client SDK both use these encoders and decoders; docs/openapi.yaml documents the same layout.
 *
 * All integers are big-endian. string = length:u16 + UTF-8 bytes. bytes = length:u32 + bytes.
 * u32 0xFFFFFFFF in an optional field means "not given". Offsets are i64, -1 where there is none.
 *
 * Frame            => magic:u16 (0x534C, "SL") version:u8 (1) kind:u8 body (nothing may follow it)
 * ProduceRequest   => (kind 1) count:u16 [topic:string partition:u32 batches:bytes]
 *                     batches = one or more Kafka RecordBatches (magic 2) for that partition
 * ProduceResponse  => (kind 2) count:u16 [topic:string partition:u32 error:bytes baseOffset:i64
 *                     lastOffset:i64 flags:u8]
 *                     error = empty, or the UTF-8 JSON of an error object {code, message, ...details};
 *                     flags bit 0 = duplicate (a retry of a stored batch: the offsets are the first
 *                     attempt's); on error the offsets are -1
 * FetchRequest     => (kind 3) maxWaitMs:u32 minBytes:u32 maxBytes:u32 count:u16
 *                     [topic:string partition:u32 offset:i64 maxBytes:u32]
 * FetchResponse    => (kind 4) count:u16 [topic:string partition:u32 highWatermark:i64
 *                     logStartOffset:i64 nextOffset:i64 error:bytes records:bytes]
 *                     records = concatenated RecordBatches as stored, base offsets stamped (the first
 *                     may start before the offset asked); nextOffset = where to fetch next
 *
 * Answers list the partitions in request order.
 */

import { batchSpans } from '../codec/record-batch';
import { isErrorCode, SluiceError } from '../errors';
import type {
  FetchPartitionRequest,
  FetchPartitionResult,
  FetchRequest,
  PartitionError,
  ProducePartitionRequest,
  ProducePartitionResult,
} from '../model';
import { countWithinBudget } from '../model/fetch-budget';

export const FRAME_MAGIC = 0x534c;
export const FRAME_VERSION = 1;
export const FRAME_KIND = {
  produceRequest: 1,
  produceResponse: 2,
  fetchRequest: 3,
  fetchResponse: 4,
} as const;
type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];

const UNSET_U32 = 0xffffffff;
const MAX_U16 = 0xffff;
const MAX_U32 = 0xffffffff;

/** The content type of framed bodies, both ways. */
export const FRAME_CONTENT_TYPE = 'application/octet-stream';

class Writer {
  private readonly chunks: Buffer[] = [];

  private fixed(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.allocUnsafe(size);
    write(b);
    this.chunks.push(b);
    return this;
  }
  u8(v: number): this {
    return this.fixed(1, (b) => b.writeUInt8(v));
  }
  u16(field: string, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U16)
      throw frameError(`${field} must fit in 16 bits, but is ${v}`);
    return this.fixed(2, (b) => b.writeUInt16BE(v));
  }
  u32(field: string, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U32)
      throw frameError(`${field} must fit in 32 bits, but is ${v}`);
    return this.fixed(4, (b) => b.writeUInt32BE(v));
  }
  optionalU32(field: string, v: number | undefined): this {
    if (v !== undefined && v >= UNSET_U32) throw frameError(`${field} must be < ${UNSET_U32}, but is ${v}`);
    return this.u32(field, v ?? UNSET_U32);
  }
  i64(field: string, v: number): this {
    if (!Number.isSafeInteger(v) || v < -1)
      throw frameError(`${field} must be -1 or a safe non-negative integer, but is ${v}`);
    return this.fixed(8, (b) => b.writeBigInt64BE(BigInt(v)));
  }
  string(field: string, s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.u16(`${field} length`, bytes.length);
    this.chunks.push(bytes);
    return this;
  }
  bytes(field: string, data: Buffer): this {
    this.u32(`${field} length`, data.length);
    this.chunks.push(data);
    return this;
  }
  header(kind: FrameKind): this {
    return this.fixed(4, (b) => {
      b.writeUInt16BE(FRAME_MAGIC, 0);
      b.writeUInt8(FRAME_VERSION, 2);
      b.writeUInt8(kind, 3);
    });
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw frameError(
        `the frame is truncated: ${what} needs ${n} bytes at byte ${this.pos}, but ${this.buf.length - this.pos} remain`,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  optionalU32(what: string): number | undefined {
    const v = this.u32(what);
    return v === UNSET_U32 ? undefined : v;
  }
  i64(what: string, allowNone: boolean): number {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.pos);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < (allowNone ? -1n : 0n)) {
      throw frameError(
        `${what} must be ${allowNone ? '-1 or ' : ''}a non-negative integer ≤ ${Number.MAX_SAFE_INTEGER}, but is ${v}`,
      );
    }
    this.pos += 8;
    return Number(v);
  }
  string(what: string): string {
    const length = this.u16(`${what} length`);
    this.need(length, what);
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    try {
      return utf8.decode(bytes);
    } catch {
      throw frameError(`${what} is not valid UTF-8`);
    }
  }
  bytes(what: string): Buffer {
    const length = this.u32(`${what} length`);
    this.need(length, what);
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return bytes;
  }
  header(kind: FrameKind, name: string): void {
    if (this.buf.length < 4)
      throw frameError(
        `a ${name} frame starts with a 4-byte header, but the body has ${this.buf.length} bytes`,
      );
    const magic = this.u16('magic');
    const version = this.u8('version');
    const actual = this.u8('kind');
    if (magic !== FRAME_MAGIC)
      throw frameError(
        `the frame must start with magic 0x534c ("SL"), but starts with 0x${magic.toString(16)}`,
      );
    if (version !== FRAME_VERSION)
      throw frameError(`frame version ${version} is not supported (expected ${FRAME_VERSION})`);
    if (actual !== kind) throw frameError(`expected a ${name} frame (kind ${kind}), but got kind ${actual}`);
  }
  end(): void {
    if (this.pos !== this.buf.length) {
      throw frameError(`${this.buf.length - this.pos} unexpected bytes follow the frame at byte ${this.pos}`);
    }
  }
}

function frameError(message: string): SluiceError {
  return new SluiceError('INVALID_REQUEST', `binary framing: ${message}`);
}

function errorBytes(error: SluiceError | undefined): Buffer {
  return error === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(error.toJSON().error), 'utf8');
}

function errorFromBytes(bytes: Buffer): SluiceError | undefined {
  if (bytes.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch {
    throw frameError('a partition error is not valid UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw frameError('a partition error is not a JSON object');
  const { code, message, ...details } = parsed as Record<string, unknown>;
  const known = isErrorCode(code);
  return new SluiceError(
    known ? code : 'UNKNOWN_SERVER_ERROR',
    typeof message === 'string' ? message : undefined,
    {
      details: known ? details : { ...details, code },
    },
  );
}

function count(field: string, n: number): number {
  if (n === 0) throw frameError(`${field} must list at least one partition`);
  return n;
}

export function encodeProduceRequest(parts: readonly ProducePartitionRequest[]): Buffer {
  const w = new Writer()
    .header(FRAME_KIND.produceRequest)
    .u16('partition count', count('a produce request', parts.length));
  for (const p of parts) w.string('topic', p.topic).u32('partition', p.partition).bytes('batches', p.batches);
  return w.finish();
}

/** Decodes a produce request. The batches are views into `body` (no copy). */
export function decodeProduceRequest(body: Buffer): ProducePartitionRequest[] {
  const r = new Reader(body);
  r.header(FRAME_KIND.produceRequest, 'produce request');
  const n = count('a produce request', r.u16('partition count'));
  const parts: ProducePartitionRequest[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string(`partition ${i} topic`);
    const partition = r.u32(`partition ${i} number`);
    parts.push({ topic, partition, batches: r.bytes(`partition ${i} batches`) });
  }
  r.end();
  return parts;
}

export function encodeProduceResponse(results: readonly (ProducePartitionResult | PartitionError)[]): Buffer {
  const w = new Writer().header(FRAME_KIND.produceResponse).u16('partition count', results.length);
  for (const res of results) {
    w.string('topic', res.topic).u32('partition', res.partition);
    if (res.error) {
      w.bytes('error', errorBytes(res.error)).i64('baseOffset', -1).i64('lastOffset', -1).u8(0);
    } else {
      w.bytes('error', Buffer.alloc(0))
        .i64('baseOffset', res.baseOffset)
        .i64('lastOffset', res.lastOffset)
        .u8(res.duplicate ? 1 : 0);
    }
  }
  return w.finish();
}

export function decodeProduceResponse(body: Buffer): (ProducePartitionResult | PartitionError)[] {
  const r = new Reader(body);
  r.header(FRAME_KIND.produceResponse, 'produce response');
  const n = r.u16('partition count');
  const results: (ProducePartitionResult | PartitionError)[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string(`result ${i} topic`);
    const partition = r.u32(`result ${i} partition`);
    const error = errorFromBytes(r.bytes(`result ${i} error`));
    const baseOffset = r.i64(`result ${i} baseOffset`, true);
    const lastOffset = r.i64(`result ${i} lastOffset`, true);
    const flags = r.u8(`result ${i} flags`);
    results.push(
      error
        ? { topic, partition, error }
        : { topic, partition, baseOffset, lastOffset, duplicate: (flags & 1) === 1 },
    );
  }
  r.end();
  return results;
}

export function encodeFetchRequest(req: FetchRequest): Buffer {
  const w = new Writer()
    .header(FRAME_KIND.fetchRequest)
    .optionalU32('maxWaitMs', req.maxWaitMs)
    .optionalU32('minBytes', req.minBytes)
    .optionalU32('maxBytes', req.maxBytes)
    .u16('partition count', count('a fetch request', req.partitions.length));
  for (const p of req.partitions) {
    w.string('topic', p.topic)
      .u32('partition', p.partition)
      .i64('offset', p.offset)
      .optionalU32('maxBytes', p.maxBytes);
  }
  return w.finish();
}

export function decodeFetchRequest(body: Buffer): FetchRequest {
  const r = new Reader(body);
  r.header(FRAME_KIND.fetchRequest, 'fetch request');
  const maxWaitMs = r.optionalU32('maxWaitMs');
  const minBytes = r.optionalU32('minBytes');
  const maxBytes = r.optionalU32('maxBytes');
  const n = count('a fetch request', r.u16('partition count'));
  const partitions: FetchPartitionRequest[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string(`partition ${i} topic`);
    const partition = r.u32(`partition ${i} number`);
    const offset = r.i64(`partition ${i} offset`, false);
    const partMaxBytes = r.optionalU32(`partition ${i} maxBytes`);
    partitions.push({
      topic,
      partition,
      offset,
      ...(partMaxBytes === undefined ? {} : { maxBytes: partMaxBytes }),
    });
  }
  r.end();
  return {
    partitions,
    ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    ...(minBytes === undefined ? {} : { minBytes }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  };
}

export function encodeFetchResponse(results: readonly FetchPartitionResult[]): Buffer {
  const w = new Writer().header(FRAME_KIND.fetchResponse).u16('partition count', results.length);
  for (const res of results) {
    w.string('topic', res.topic)
      .u32('partition', res.partition)
      .i64('highWatermark', res.highWatermark)
      .i64('logStartOffset', res.logStartOffset)
      .i64('nextOffset', res.nextOffset)
      .bytes('error', errorBytes(res.error))
      .bytes('records', res.records);
  }
  return w.finish();
}

/**
 * Bytes of a fetch response besides its records: the frame header, the count and each partition's fixed
 * fields, topic and error. What is left of maxBytes after it is the budget for records.
 */
function fetchResponseOverhead(results: readonly FetchPartitionResult[]): number {
  let bytes = 2 + 1 + 1 + 2;
  for (const r of results) {
    bytes += 2 + Buffer.byteLength(r.topic) + 4 + 8 + 8 + 8 + 4 + errorBytes(r.error).length + 4;
  }
  return bytes;
}

/**
 * Fits a framed fetch response within the request's maxBytes, framing included: each partition's
 * records are cut at a batch boundary to what is left of the budget and to the partition's own
 * maxBytes, except that the answer's first batch is always sent whole, so a consumer always progresses.
 */
export function fitFetchResponse(
  request: Pick<FetchRequest, 'partitions'> & { readonly maxBytes: number },
  results: readonly FetchPartitionResult[],
): FetchPartitionResult[] {
  let budget = request.maxBytes - fetchResponseOverhead(results);
  let first = true;
  return results.map((result, i) => {
    if (result.records.length === 0) return result;
    const asked = request.partitions[i];
    const limit = Math.max(0, Math.min(budget, asked?.maxBytes ?? budget));
    const cut = trimFetchResult(result, asked?.offset ?? 0, limit, first);
    budget -= cut.records.length;
    if (cut.records.length > 0) first = false;
    return cut;
  });
}

/**
 * Cuts a result's records to `budget` bytes at a batch boundary (with `keepFirst`, the first batch is
 * kept even when it alone is larger); nextOffset follows the cut, never before `offset`.
 */
export function trimFetchResult(
  result: FetchPartitionResult,
  offset: number,
  budget: number,
  keepFirst: boolean,
): FetchPartitionResult {
  const spans = batchSpans(result.records);
  const taken = countWithinBudget(
    spans.map((span) => span.end - span.start),
    budget,
    { keepFirst },
  );
  const last = spans[taken - 1];
  const end = last?.end ?? 0;
  if (end === result.records.length) return result;
  return {
    ...result,
    records: result.records.subarray(0, end),
    nextOffset: Math.max(offset, last?.nextOffset ?? offset),
  };
}

/** Decodes a fetch response. The records are views into `body` (no copy). */
export function decodeFetchResponse(body: Buffer): FetchPartitionResult[] {
  const r = new Reader(body);
  r.header(FRAME_KIND.fetchResponse, 'fetch response');
  const n = r.u16('partition count');
  const results: FetchPartitionResult[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string(`result ${i} topic`);
    const partition = r.u32(`result ${i} partition`);
    const highWatermark = r.i64(`result ${i} highWatermark`, true);
    const logStartOffset = r.i64(`result ${i} logStartOffset`, true);
    const nextOffset = r.i64(`result ${i} nextOffset`, false);
    const error = errorFromBytes(r.bytes(`result ${i} error`));
    const records = r.bytes(`result ${i} records`);
    results.push({
      topic,
      partition,
      highWatermark,
      logStartOffset,
      nextOffset,
      records,
      ...(error ? { error } : {}),
    });
  }
  r.end();
  return results;
}
