/**
 * The producer, as KafkaJS's: `send({ topic, messages })` resolves with each record's partition and
 * offset once the log has committed it. Split by role, as KafkaJS's producer/:
 *
 *   index.ts        this facade: validates messages, chooses partitions, holds buffer memory
 *   accumulator.ts  per-partition record lists and unacknowledged batches; what one request carries
 *   sender.ts       when a request leaves (lingerMs, pacing, in-flight limit), sending, answers, retries
 *   identity.ts     the idempotent producer id and sequences of a partition, and their version
 *   options.ts      options, profiles (latency / balanced / cost) and defaults
 *
 *   send() → partitioner → accumulator → sender: ONE request carrying every partition with records
 *        → per-partition answers resolve the records' promises, or schedule retries.
 *
 * Idempotence (on by default): each partition's batches carry a producer id (random, a safe 48-bit
 * integer), epoch 0 and a sequence number; the server stores a retried batch once and answers the first
 * attempt's offsets, so a retry after a lost answer never duplicates.
 */

import { partitionForKey, StickyPartitioner } from '../../shared/codec/partitioner';
import type { ProducerRecord as CodecRecord, RecordHeader } from '../../shared/codec/record-batch';
import { SluiceError } from '../../shared/errors';
import { resolveRetry } from '../retry';
import { seg } from '../transport';
import { type Message, type RecordMetadata, toBuffer, toRecordHeaders, toTimestamp } from '../types';
import { type Pending, RecordAccumulator } from './accumulator';
import { BufferPool, SendContext } from './buffer';
import { type Clock, SYSTEM_CLOCK } from './clock';
import { type ProducerOptions, type ResolvedProducerOptions, resolveProducerOptions } from './options';
import { type ProducerStats, type ProducerTransport, Sender } from './sender';

export { type Clock, SYSTEM_CLOCK } from './clock';
export {
  type Partitioner,
  PRODUCER_DEFAULTS,
  PRODUCER_PROFILES,
  type ProducerOptions,
  type ProducerProfile,
  REQUEST_BURST,
} from './options';
export type { ProducerStats, ProducerTransport } from './sender';

/** What `send` takes: KafkaJS's ProducerRecord. */
export interface ProducerRecord {
  readonly topic: string;
  readonly messages: readonly Message[];
}

export interface ProducerBatch {
  readonly topicMessages: readonly ProducerRecord[];
}

/** An upper bound of a record's encoded size (before compression), varints at their widest. */
function recordBytes(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[]): number {
  let size = 5 + 1 + 10 + 5 + 5 + (key?.length ?? 0) + 5 + (value?.length ?? 0) + 5;
  for (const h of headers) size += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0);
  return size;
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
  /** Counters: requests, partitions carried, bytes on the wire, batches, records, retries. */
  readonly stats: ProducerStats = {
    requests: 0,
    partitions: 0,
    requestBytes: 0,
    batches: 0,
    records: 0,
    retries: 0,
  };
  private readonly options: ResolvedProducerOptions;
  private readonly sticky = new StickyPartitioner();
  private readonly pool: BufferPool;
  private readonly accumulator: RecordAccumulator;
  private readonly sender: Sender;
  private readonly metadata = new Map<string, { count: number; at: number; pending?: Promise<number> }>();
  private readonly sends = new Set<SendContext>();
  private flushing = 0;
  private closed = false;

  /** @internal Use `sluice.producer()`. */
  constructor(
    private readonly transport: ProducerTransport,
    options: ProducerOptions = {},
    perTopicAuth = false,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.options = resolveProducerOptions(options);
    const o = this.options;
    this.pool = new BufferPool(o.bufferMemoryBytes);
    this.accumulator = new RecordAccumulator(o, this.pool, this.stats, (topic, partition) => {
      // Kafka's sticky partitioner moves null-key records to another partition once a batch is complete.
      const count = this.metadata.get(topic)?.count;
      if (count) this.sticky.onNewBatch(topic, count, partition);
    });
    this.sender = new Sender(
      {
        requestIntervalMs: o.requestIntervalMs,
        maxInFlightRequests: o.maxInFlightRequests,
        idempotent: o.idempotent,
        retry: resolveRetry(o.retry),
        perTopicAuth,
      },
      this.accumulator,
      this.pool,
      transport,
      clock,
      this.stats,
      () => this.flushing > 0 || this.closed,
    );
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
      this.sender.drain();
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
    this.sender.stop();
    this.transport.close();
  }

  // ---- send path ----------------------------------------------------------------------------

  private convert(m: Message, field: string): { record: CodecRecord; key: Buffer | null; bytes: number } {
    if (m === null || typeof m !== 'object')
      throw new SluiceError('INVALID_RECORD', `${field} must be an object`);
    const key = toBuffer(m.key, `${field}.key`);
    const value = toBuffer(m.value, `${field}.value`);
    const headers = toRecordHeaders(m.headers, field);
    const timestamp = toTimestamp(m.timestamp, field) ?? this.clock.now();
    const bytes = recordBytes(key, value, headers);
    if (bytes > this.options.maxBatchBytes) {
      throw new SluiceError(
        'MESSAGE_TOO_LARGE',
        `${field} must be ≤ ${this.options.maxBatchBytes} bytes (maxBatchBytes), but is about ${bytes} bytes`,
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
        this.sender.schedule();
        await wait;
      }
      this.append(topic, partitions[i] ?? 0, { record: c.record, bytes: c.bytes, send: ctx, index: i });
    }
  }

  private choosePartition(topic: string, count: number, m: Message, key: Buffer | null, i: number): number {
    let partition: number;
    if (m.partition !== undefined) partition = m.partition;
    else if (this.options.partitioner)
      partition = this.options.partitioner({ topic, partitionCount: count, message: m, key });
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
    if (entry && !refresh && this.clock.now() - entry.at < this.options.metadataMaxAgeMs) return entry.count;
    if (entry === undefined) {
      entry = { count: 0, at: 0 };
      this.metadata.set(topic, entry);
    }
    const e = entry;
    e.pending ??= this.transport
      .json<{ partitionCount: number }>('GET', `/v1/topics/${seg(topic)}`)
      .then((t) => {
        e.count = t.partitionCount;
        e.at = this.clock.now();
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

  private append(topic: string, partition: number, pending: Pending): void {
    const full = this.accumulator.append(topic, partition, pending, this.clock.now());
    if (full || this.options.lingerMs === 0 || this.flushing > 0 || this.closed) this.sender.schedule();
    else this.sender.wakeAt(this.clock.now() + this.options.lingerMs);
  }
}
