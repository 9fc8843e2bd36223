/**
 * The producer, as KafkaJS's: `send({ topic, messages })` resolves with each record's partition and
 * offset once the log has committed it.
 *
 * How records travel:
 *
 *   send() → partitioner → per-partition accumulator (record lists ≤ maxBatchBytes)
 *          → drain: a partition is ready when a list is full, lingerMs passed, or on flush()
 *          → each ready partition's oldest list is encoded (compressed once, here) as one RecordBatch
 *            with the partition's next sequence number
 *          → the parts of one drain go out in ONE multi-partition request (POST /v1/produce), split
 *            only where a request would pass LOG_LIMITS.maxProduceBytes
 *          → per-partition answers resolve the records' promises, or schedule retries.
 *
 * Idempotence (on by default): each partition's batches carry a producer id (random, a safe 48-bit
 * integer), epoch 0 and a sequence number; the server stores a retried batch once and answers the
 * first attempt's offsets, so a retry after a lost answer never duplicates. Order per partition holds
 * because a partition's next part is not sent while an earlier one is unacknowledged (unless
 * maxInFlightRequests > 1), and a part being retried goes alone, first, before anything after it.
 *
 * A part that fails for good (a non-retriable error, or retries exhausted) rejects its records' sends;
 * its partition then starts over under a new producer id, so the sequence gap it leaves cannot block
 * the records after it.
 */

import { randomInt } from 'node:crypto';
import { decodeProduceResponse, encodeProduceRequest, FRAME_CONTENT_TYPE } from '../shared/api/framing';
import { partitionForKey, StickyPartitioner } from '../shared/codec/partitioner';
import {
  type ProducerRecord as CodecRecord,
  type Compression,
  encodeRecordBatch,
  type RecordHeader,
} from '../shared/codec/record-batch';
import { isSluiceError, SluiceError } from '../shared/errors';
import { LOG_LIMITS } from '../shared/log/types';
import { nextBackoff, type ResolvedRetry, type RetryOptions, resolveRetry } from './retry';
import { seg, type Transport } from './transport';
import { type Message, type RecordMetadata, toBuffer, toRecordHeaders, toTimestamp, tpKey } from './types';

/** Chooses a partition for a message that names none. */
export type Partitioner = (args: {
  readonly topic: string;
  readonly partitionCount: number;
  readonly message: Message;
  /** The message key as bytes, null when it has none. */
  readonly key: Buffer | null;
}) => number;

export interface ProducerOptions {
  /** How long a partition's records wait for more before they are sent, in ms. @default 5 */
  readonly lingerMs?: number;
  /**
   * Largest record batch (before compression), in bytes. A partition whose records reach it is sent at
   * once. At most LOG_LIMITS.maxProduceBytes − 64 KiB, so one batch always fits one request.
   * @default 1048576 (1 MiB)
   */
  readonly maxBatchBytes?: number;
  /** Compression of each batch; done once here, stored and fetched as sent. @default 'lz4' */
  readonly compression?: Compression;
  /** Producer id and sequence numbers, so retries store each batch exactly once. @default true */
  readonly idempotent?: boolean;
  /**
   * Unacknowledged parts per partition. 1 keeps a partition's requests strictly one after another, which
   * here costs little: the records that arrive meanwhile go out together in the next request, and on AWS
   * fewer, larger requests are cheaper. Up to 5, as Kafka allows with idempotence.
   * @default 1
   */
  readonly maxInFlightRequests?: number;
  /** Bytes of records the producer may hold before `send` waits for room (back-pressure). @default 33554432 (32 MiB) */
  readonly bufferMemoryBytes?: number;
  /** Custom partitioner for messages without an explicit partition. @default Kafka's: murmur2 of the key, sticky for null keys */
  readonly partitioner?: Partitioner;
  /** Retries of a failed part, with jittered backoff. @default { retries: 10, maxElapsedMs: 60000, … } */
  readonly retry?: RetryOptions;
  /** How long a topic's partition count is trusted before it is read again, in ms. @default 60000 */
  readonly metadataMaxAgeMs?: number;
}

/** What `send` takes: KafkaJS's ProducerRecord. */
export interface ProducerRecord {
  readonly topic: string;
  readonly messages: readonly Message[];
}

export interface ProducerBatch {
  readonly topicMessages: readonly ProducerRecord[];
}

/** Counters for tests and tools. */
export interface ProducerStats {
  /** Produce requests sent (one per drain, more only past the request size limit). */
  requests: number;
  /** Request bodies, in bytes, as sent on the wire. */
  requestBytes: number;
  /** Record batches encoded. */
  batches: number;
  /** Records acknowledged. */
  records: number;
  /** Parts sent again after a failure. */
  retries: number;
}

export const PRODUCER_DEFAULTS = {
  lingerMs: 5,
  maxBatchBytes: 1024 * 1024,
  compression: 'lz4' as Compression,
  idempotent: true,
  maxInFlightRequests: 1,
  bufferMemoryBytes: 32 * 1024 * 1024,
  metadataMaxAgeMs: 60_000,
} as const;

/** Room kept in a request for framing and compression overhead beyond the records' own bytes. */
const REQUEST_SLACK_BYTES = 64 * 1024;
const MAX_REQUEST_BYTES = LOG_LIMITS.maxProduceBytes;
const MAX_PARTITIONS_PER_REQUEST = 1_000;
const SEQUENCE_LIMIT = 2 ** 31 - 1;
/** How long the log is trusted to remember a producer id between acknowledgements (its cleanup forgets after 7 days). */
const PRODUCER_STATE_TRUST_MS = 24 * 3600 * 1000;

/** A record waiting in an accumulator, and whose send it belongs to. */
interface Pending {
  readonly record: CodecRecord;
  readonly bytes: number;
  readonly send: SendContext;
  readonly index: number;
}

interface RecordList {
  readonly records: Pending[];
  bytes: number;
  readonly createdAt: number;
  closed: boolean;
}

/** An encoded batch of one partition with its records, sent (and retried) as a unit. */
interface Part {
  readonly queue: PartitionQueue;
  readonly records: Pending[];
  readonly bytes: number;
  /** One encoded RecordBatch. */
  batch: Buffer;
  /** The producer identity the batches were encoded under. */
  generation: number;
  state: 'waiting' | 'inflight';
  failures: number;
  retryAt: number;
  firstSentAt: number;
}

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  lists: RecordList[];
  /** Encoded parts not yet acknowledged, in sequence order. */
  unacked: Part[];
  producerId: number;
  nextSequence: number;
  generation: number;
  /** When the log last acknowledged a part under the current identity; 0: never. */
  ackedAt: number;
}

class SendContext {
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
class BufferPool {
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

/** An upper bound of a record's encoded size (before compression), varints at their widest. */
function recordBytes(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[]): number {
  let size = 5 + 1 + 10 + 5 + 5 + (key?.length ?? 0) + 5 + (value?.length ?? 0) + 5;
  for (const h of headers) size += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return size;
}

/** Framing of one partition in a produce request: topic string, partition, batches length. */
const partFraming = (topic: string) => 2 + Buffer.byteLength(topic) + 4 + 4;

function newProducerId(): number {
  // A safe 48-bit integer: collisions between producers are negligible, and it fits a Kafka int64.
  return randomInt(1, 2 ** 48 - 1);
}

function positiveInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, but ${value} was provided`);
  }
  return value;
}

/**
 * Sends records to Sluice. Create it with `sluice.producer()`.
 *
 * @example
 * ```ts
 * const producer = sluice.producer({ lingerMs: 10 });
 * const [meta] = await producer.send({
 *   topic: 'orders',
 *   messages: [{ key: 'user-1', value: JSON.stringify({ total: 42 }), headers: { source: 'web' } }],
 * });
 * console.log(meta.partition, meta.offset);
 * await producer.disconnect();
 * ```
 */
export class Producer {
  /** Counters: requests, bytes on the wire, batches, records, retries. */
  readonly stats: ProducerStats = { requests: 0, requestBytes: 0, batches: 0, records: 0, retries: 0 };
  private readonly lingerMs: number;
  private readonly maxBatchBytes: number;
  private readonly compression: Compression;
  private readonly idempotent: boolean;
  private readonly maxInFlight: number;
  private readonly retry: ResolvedRetry;
  private readonly metadataMaxAgeMs: number;
  private readonly partitioner: Partitioner | undefined;
  private readonly sticky = new StickyPartitioner();
  private readonly pool: BufferPool;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly metadata = new Map<string, { count: number; at: number; pending?: Promise<number> }>();
  private readonly sends = new Set<SendContext>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private drainScheduled = false;
  private flushing = 0;
  private closed = false;

  /** @internal Use `sluice.producer()`. */
  constructor(
    private readonly transport: Transport,
    options: ProducerOptions = {},
    private readonly perTopicAuth = false,
  ) {
    this.lingerMs = positiveInt('lingerMs', options.lingerMs ?? PRODUCER_DEFAULTS.lingerMs, 0, 600_000);
    this.maxBatchBytes = positiveInt(
      'maxBatchBytes',
      options.maxBatchBytes ?? PRODUCER_DEFAULTS.maxBatchBytes,
      1024,
      MAX_REQUEST_BYTES - REQUEST_SLACK_BYTES,
    );
    this.compression = options.compression ?? PRODUCER_DEFAULTS.compression;
    if (!['none', 'gzip', 'lz4'].includes(this.compression)) {
      throw new RangeError(`compression must be none, gzip or lz4, but ${this.compression} was provided`);
    }
    this.idempotent = options.idempotent ?? PRODUCER_DEFAULTS.idempotent;
    this.maxInFlight = positiveInt(
      'maxInFlightRequests',
      options.maxInFlightRequests ?? PRODUCER_DEFAULTS.maxInFlightRequests,
      1,
      5,
    );
    this.pool = new BufferPool(
      positiveInt(
        'bufferMemoryBytes',
        options.bufferMemoryBytes ?? PRODUCER_DEFAULTS.bufferMemoryBytes,
        this.maxBatchBytes,
        2 ** 40,
      ),
    );
    this.retry = resolveRetry(options.retry);
    this.metadataMaxAgeMs = options.metadataMaxAgeMs ?? PRODUCER_DEFAULTS.metadataMaxAgeMs;
    this.partitioner = options.partitioner;
  }

  /**
   * Nothing to open: requests go over the producer's keep-alive pool. Kept for KafkaJS familiarity.
   *
   * @example
   * ```ts
   * await producer.connect(); // optional
   * ```
   */
  async connect(): Promise<void> {}

  /**
   * Sends messages to a topic; resolves, in message order, with where each record was stored once the
   * log committed it. Rejects with a SluiceError when a record could not be stored (after retries).
   *
   * @example
   * ```ts
   * const metadata = await producer.send({
   *   topic: 'orders',
   *   messages: [
   *     { key: 'user-1', value: 'created' },
   *     { value: 'no key: the sticky partition' },
   *     { value: 'pinned', partition: 2, timestamp: Date.now() },
   *   ],
   * });
   * ```
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.closed) {
      return Promise.reject(new SluiceError('INVALID_REQUEST', 'the producer is disconnected'));
    }
    let converted: { record: CodecRecord; key: Buffer | null; bytes: number }[];
    try {
      if (typeof record?.topic !== 'string' || record.topic === '') {
        throw new SluiceError('INVALID_TOPIC', 'send needs a topic name');
      }
      if (!Array.isArray(record.messages)) {
        throw new SluiceError('INVALID_RECORD', 'send needs messages: an array of { key?, value, headers? }');
      }
      converted = record.messages.map((m, i) => this.convert(m, `messages[${i}]`));
    } catch (err) {
      return Promise.reject(err);
    }
    const ctx = new SendContext(converted.length);
    if (converted.length === 0) return ctx.promise;
    this.sends.add(ctx);
    const forget = () => this.sends.delete(ctx);
    ctx.promise.then(forget, forget);
    this.enqueue(record.topic, record.messages, converted, ctx).catch((err) => ctx.fail(err));
    return ctx.promise;
  }

  /**
   * Sends messages to several topics; resolves with the metadata of all of them, topic by topic.
   *
   * @example
   * ```ts
   * await producer.sendBatch({
   *   topicMessages: [
   *     { topic: 'orders', messages: [{ value: 'a' }] },
   *     { topic: 'audit', messages: [{ value: 'b' }] },
   *   ],
   * });
   * ```
   */
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const results = await Promise.all(batch.topicMessages.map((r) => this.send(r)));
    return results.flat();
  }

  /**
   * Sends everything accumulated now, without waiting for lingerMs, and resolves once every record sent
   * before the call is acknowledged or has failed.
   *
   * @example
   * ```ts
   * void producer.send({ topic: 'orders', messages });
   * await producer.flush();
   * ```
   */
  async flush(): Promise<void> {
    const pending = [...this.sends].map((s) => s.promise);
    this.flushing++;
    try {
      this.drain();
      await Promise.allSettled(pending);
    } finally {
      this.flushing--;
    }
  }

  /**
   * Flushes, then closes the connections. Later sends are rejected.
   *
   * @example
   * ```ts
   * await producer.disconnect();
   * ```
   */
  async disconnect(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.transport.close();
  }

  // ---- send path ----------------------------------------------------------------------------

  private convert(m: Message, field: string): { record: CodecRecord; key: Buffer | null; bytes: number } {
    if (m === null || typeof m !== 'object')
      throw new SluiceError('INVALID_RECORD', `${field} must be an object`);
    const key = toBuffer(m.key, `${field}.key`);
    const value = toBuffer(m.value, `${field}.value`);
    const headers = toRecordHeaders(m.headers, field);
    const timestamp = toTimestamp(m.timestamp, field) ?? Date.now();
    const bytes = recordBytes(key, value, headers);
    if (bytes > this.maxBatchBytes) {
      throw new SluiceError(
        'MESSAGE_TOO_LARGE',
        `${field} must be ≤ ${this.maxBatchBytes} bytes (maxBatchBytes), but is about ${bytes} bytes`,
      );
    }
    return { record: { key, value, headers, timestamp }, key, bytes };
  }

  private async enqueue(
    topic: string,
    messages: readonly Message[],
    converted: { record: CodecRecord; key: Buffer | null; bytes: number }[],
    ctx: SendContext,
  ): Promise<void> {
    let count = await this.partitionCount(topic);
    const explicit = messages.reduce((max, m) => Math.max(max, m.partition ?? -1), -1);
    if (explicit >= count) count = await this.partitionCount(topic, true);
    const partitions = converted.map((c, i) => this.choosePartition(topic, count, messages[i]!, c.key, i));
    for (let i = 0; i < converted.length; i++) {
      const c = converted[i]!;
      const wait = this.pool.acquire(c.bytes);
      if (wait) {
        // Full: send what is held now rather than wait out lingerMs, so room comes back soon.
        this.scheduleDrain();
        await wait;
      }
      this.append(
        topic,
        partitions[i] ?? 0,
        { record: c.record, bytes: c.bytes, send: ctx, index: i },
        count,
      );
    }
  }

  private choosePartition(topic: string, count: number, m: Message, key: Buffer | null, i: number): number {
    let partition: number;
    if (m.partition !== undefined) partition = m.partition;
    else if (this.partitioner)
      partition = this.partitioner({ topic, partitionCount: count, message: m, key });
    else if (key !== null) partition = partitionForKey(key, count);
    else partition = this.sticky.partition(topic, count);
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= count) {
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `messages[${i}].partition must be from 0 to ${count - 1} (${topic} has ${count} partitions), but ${partition} was chosen`,
      );
    }
    return partition;
  }

  private async partitionCount(topic: string, refresh = false): Promise<number> {
    let entry = this.metadata.get(topic);
    if (entry && !refresh && Date.now() - entry.at < this.metadataMaxAgeMs) return entry.count;
    if (entry === undefined) {
      entry = { count: 0, at: 0 };
      this.metadata.set(topic, entry);
    }
    const e = entry;
    e.pending ??= this.transport
      .json<{ partitionCount: number }>('GET', `/v1/topics/${seg(topic)}`)
      .then((t) => {
        e.count = t.partitionCount;
        e.at = Date.now();
        return e.count;
      })
      .finally(() => {
        e.pending = undefined;
      });
    if (e.count > 0 && !refresh) {
      // Stale: keep using the known count while it is read again.
      e.pending.catch(() => undefined);
      return e.count;
    }
    return e.pending;
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const key = tpKey(topic, partition);
    let q = this.queues.get(key);
    if (q === undefined) {
      q = {
        topic,
        partition,
        lists: [],
        unacked: [],
        producerId: this.idempotent ? newProducerId() : -1,
        nextSequence: 0,
        generation: 0,
        ackedAt: 0,
      };
      this.queues.set(key, q);
    }
    return q;
  }

  private append(topic: string, partition: number, pending: Pending, partitionCount: number): void {
    const q = this.queue(topic, partition);
    let list = q.lists.at(-1);
    if (list === undefined || list.closed || list.bytes + pending.bytes > this.maxBatchBytes) {
      if (list && !list.closed) this.closeList(q, list, partitionCount);
      list = { records: [], bytes: 61, createdAt: Date.now(), closed: false };
      q.lists.push(list);
    }
    list.records.push(pending);
    list.bytes += pending.bytes;
    if (list.bytes >= this.maxBatchBytes) this.closeList(q, list, partitionCount);
    if (q.lists.length > 1 || list.closed || this.lingerMs === 0 || this.flushing > 0 || this.closed) {
      this.scheduleDrain();
    } else {
      this.armTimer(list.createdAt + this.lingerMs);
    }
  }

  private closeList(q: PartitionQueue, list: RecordList, partitionCount: number): void {
    list.closed = true;
    // Kafka's sticky partitioner moves null-key records to another partition once a batch is complete.
    this.sticky.onNewBatch(q.topic, partitionCount, q.partition);
  }

  // ---- drain --------------------------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private armTimer(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.drain();
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Sends every part that is ready and allowed, packed into as few requests as the size limit allows. */
  private drain(): void {
    const now = Date.now();
    const force = this.flushing > 0 || this.closed || this.pool.waiting;
    const parts: Part[] = [];
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const q of this.queues.values()) {
      wakeAt = Math.min(wakeAt, this.readyParts(q, now, force, parts));
    }
    if (wakeAt < Number.POSITIVE_INFINITY) this.armTimer(wakeAt);
    if (parts.length === 0) return;

    // First fit: one request unless the size limit or a second part of one partition forces another.
    const requests: { parts: Part[]; bytes: number; keys: Set<string> }[] = [];
    for (const part of parts) {
      const size = partFraming(part.queue.topic) + part.batch.length;
      const key = tpKey(part.queue.topic, part.queue.partition);
      let req = requests.find(
        (r) =>
          r.bytes + size <= MAX_REQUEST_BYTES &&
          !r.keys.has(key) &&
          r.parts.length < MAX_PARTITIONS_PER_REQUEST,
      );
      if (req === undefined) {
        req = { parts: [], bytes: 6, keys: new Set() };
        requests.push(req);
      }
      req.parts.push(part);
      req.bytes += size;
      req.keys.add(key);
    }
    for (const req of requests) void this.dispatch(req.parts);
  }

  /**
   * Adds the partition's sendable parts to `out`, encoding ready records into a new part when allowed.
   * Returns when the partition should be looked at again (a linger or backoff ending), or +∞.
   */
  private readyParts(q: PartitionQueue, now: number, force: boolean, out: Part[]): number {
    const inflight = q.unacked.filter((p) => p.state === 'inflight');
    // After a reset, nothing goes out while a part encoded under the old identity is still in flight:
    // its answer decides whether it must be re-encoded, and it must keep its place in the order.
    if (inflight.some((p) => p.generation !== q.generation)) return Number.POSITIVE_INFINITY;
    if (q.unacked.some((p) => p.failures > 0)) {
      // Recovering: only the oldest part, alone, so the log sees the partition's batches in order.
      const head = q.unacked[0]!;
      if (inflight.length > 0 || head.state !== 'waiting') return Number.POSITIVE_INFINITY;
      if (head.retryAt > now) return head.retryAt;
      if (head.generation !== q.generation) this.encode(q, head);
      out.push(head);
      return Number.POSITIVE_INFINITY;
    }
    // The log takes any sequence from a producer id it does not know (yet, or any more), so until it has
    // acknowledged one part of this identity, a second in flight could overtake the first.
    const known = q.ackedAt > 0 && now - q.ackedAt < PRODUCER_STATE_TRUST_MS;
    let slots = (known ? this.maxInFlight : 1) - inflight.length;
    for (const p of q.unacked) {
      if (slots <= 0) return Number.POSITIVE_INFINITY;
      if (p.state !== 'waiting') continue;
      if (p.generation !== q.generation) this.encode(q, p);
      out.push(p);
      slots--;
    }
    while (slots > 0 && q.lists.length > 0) {
      const first = q.lists[0]!;
      const ready = force || first.closed || q.lists.length > 1 || now - first.createdAt >= this.lingerMs;
      if (!ready) return first.createdAt + this.lingerMs;
      const part = this.encodePart(q);
      if (part === undefined) return Number.POSITIVE_INFINITY;
      q.unacked.push(part);
      out.push(part);
      slots--;
    }
    return Number.POSITIVE_INFINITY;
  }

  /**
   * Takes the partition's oldest ready list and encodes it as one part: one RecordBatch. (A part could
   * carry several batches, but the log stores a part as one index entry, and today's fetch cannot start
   * inside an entry it had to cut: one batch per part keeps every fetch able to progress.)
   */
  private encodePart(q: PartitionQueue): Part | undefined {
    const list = q.lists[0]!;
    if (this.idempotent && q.nextSequence + list.records.length > SEQUENCE_LIMIT) {
      // The server compares sequences as numbers and will not wrap them: start a new producer id, once
      // every part under the old one is acknowledged.
      if (q.unacked.length > 0) return undefined;
      this.resetIdentity(q);
    }
    q.lists.shift();
    if (!list.closed) {
      const count = this.metadata.get(q.topic)?.count;
      if (count) this.closeList(q, list, count);
    }
    const part: Part = {
      queue: q,
      records: list.records,
      bytes: list.records.reduce((n, r) => n + r.bytes, 0),
      batch: Buffer.alloc(0),
      generation: q.generation,
      state: 'waiting',
      failures: 0,
      retryAt: 0,
      firstSentAt: 0,
    };
    this.encode(q, part);
    return part;
  }

  /** Encodes a part's records as one RecordBatch with the partition's next sequence (again after a reset). */
  private encode(q: PartitionQueue, part: Part): void {
    part.batch = encodeRecordBatch(
      part.records.map((p) => p.record),
      {
        compression: this.compression,
        ...(this.idempotent
          ? { producerId: q.producerId, producerEpoch: 0, baseSequence: q.nextSequence }
          : {}),
      },
    );
    if (this.idempotent) q.nextSequence += part.records.length;
    part.generation = q.generation;
    this.stats.batches++;
  }

  private resetIdentity(q: PartitionQueue): void {
    q.producerId = newProducerId();
    q.nextSequence = 0;
    q.generation++;
    q.ackedAt = 0;
  }

  // ---- requests and answers -----------------------------------------------------------------

  private async dispatch(parts: Part[]): Promise<void> {
    const now = Date.now();
    for (const p of parts) {
      p.state = 'inflight';
      if (p.firstSentAt === 0) p.firstSentAt = now;
      if (p.failures > 0) this.stats.retries++;
    }
    let results: (SluiceError | { baseOffset: number; lastOffset: number })[];
    try {
      results = this.perTopicAuth ? await this.sendPerPartition(parts) : await this.sendFramed(parts);
    } catch (err) {
      const error = isSluiceError(err)
        ? err
        : new SluiceError('UNKNOWN_SERVER_ERROR', `produce failed: ${(err as Error).message}`, {
            cause: err,
          });
      results = parts.map(() => error);
    }
    for (let i = 0; i < parts.length; i++) this.complete(parts[i]!, results[i]!);
    this.drain();
  }

  private async sendFramed(parts: Part[]) {
    const body = encodeProduceRequest(
      parts.map((p) => ({ topic: p.queue.topic, partition: p.queue.partition, batches: p.batch })),
    );
    this.stats.requests++;
    this.stats.requestBytes += body.length;
    const res = await this.transport.request({
      method: 'POST',
      path: '/v1/produce',
      body,
      contentType: FRAME_CONTENT_TYPE,
      accept: FRAME_CONTENT_TYPE,
      idempotent: this.idempotent,
      retry: false,
    });
    const answers = decodeProduceResponse(res.body);
    const byKey = new Map(answers.map((a) => [tpKey(a.topic, a.partition), a]));
    return parts.map((p) => {
      const a = byKey.get(tpKey(p.queue.topic, p.queue.partition));
      if (a === undefined) {
        return new SluiceError(
          'UNKNOWN_SERVER_ERROR',
          `the answer left out ${p.queue.topic}/${p.queue.partition}`,
        );
      }
      return a.error ?? a;
    });
  }

  /** perTopicAuth: one request per partition on its own route, which IAM can limit to one topic. */
  private sendPerPartition(parts: Part[]) {
    return Promise.all(
      parts.map(async (p) => {
        this.stats.requests++;
        this.stats.requestBytes += p.batch.length;
        try {
          const res = await this.transport.request({
            method: 'POST',
            path: `/v1/topics/${seg(p.queue.topic)}/partitions/${p.queue.partition}/batches`,
            body: p.batch,
            contentType: 'application/vnd.kafka.record-batch',
            idempotent: this.idempotent,
            retry: false,
          });
          return JSON.parse(res.body.toString('utf8')) as { baseOffset: number; lastOffset: number };
        } catch (err) {
          if (isSluiceError(err)) return err;
          throw err;
        }
      }),
    );
  }

  private complete(part: Part, result: SluiceError | { baseOffset: number; lastOffset: number }): void {
    const q = part.queue;
    if (!(result instanceof SluiceError)) {
      if (part.generation === q.generation) q.ackedAt = Date.now();
      this.remove(part);
      const { topic, partition } = q;
      part.records.forEach((r, i) => {
        r.send.done(r.index, {
          topic,
          partition,
          offset: result.baseOffset < 0 ? -1 : result.baseOffset + i,
        });
      });
      this.stats.records += part.records.length;
      return;
    }
    part.state = 'waiting';
    part.failures++;
    const now = Date.now();
    if (isSluiceError(result, 'OUT_OF_ORDER_SEQUENCE') && this.idempotent) {
      const earlier = q.unacked.indexOf(part) > 0;
      if (part.generation !== q.generation || earlier) {
        // An earlier part is not stored yet (it failed or is still in flight), or the partition started
        // over: send this one again once the earlier ones are settled. Bounded by the retry limits below.
        const delay = nextBackoff(this.retry, part.failures - 1, part.firstSentAt, now);
        if (delay !== undefined) {
          part.retryAt = now;
          return;
        }
      }
      this.fail(part, result);
      return;
    }
    if (result.retriable) {
      const delay = nextBackoff(this.retry, part.failures - 1, part.firstSentAt, now);
      if (delay !== undefined) {
        part.retryAt = now + delay;
        return;
      }
    }
    this.fail(part, result);
  }

  private fail(part: Part, error: SluiceError): void {
    const q = part.queue;
    this.remove(part);
    for (const r of part.records) r.send.fail(error);
    // The log did not store this part, so its sequences are a gap: later parts start a new identity.
    if (this.idempotent) this.resetIdentity(q);
  }

  private remove(part: Part): void {
    const q = part.queue;
    const i = q.unacked.indexOf(part);
    if (i >= 0) q.unacked.splice(i, 1);
    // The queue stays, with its producer id and sequence: a new id per burst would grow the
    // partition's producer state on the server.
    this.pool.release(part.bytes);
  }
}
