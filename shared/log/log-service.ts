import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { decodeRecordBatches, type RecordBatchHeader, validateBatches } from '../codec/record-batch';
import { isSluiceError, SluiceError } from '../errors';
import {
  type FetchPartitionResult,
  type FetchRequest,
  LOG_LIMITS,
  type OffsetSpec,
  type PartitionError,
  type PartitionInfo,
  type ProducePartitionRequest,
  type ProducePartitionResult,
  type Topic,
  type TopicDescription,
} from '../model';
import { validateTopicName } from '../model/names';
import { partitionLogId, partitionMemoryKey } from '../model/partitions';
import {
  type AppendTuning,
  DEFAULT_APPEND_TUNING,
  type LogAppendInfo,
  PartitionAppender,
  type PartitionAppendInput,
} from './append';
import type { FaultHooks } from './faults';
import { DEFAULT_FETCH_TUNING, Fetcher, type FetchTuning } from './fetch';
import { HighWatermarkSignal } from './high-watermark-signal';
import { AppendPipeline, type AppendTurn } from './pipeline';
import type { LogStore, PartitionHead, SegmentStore, TopicStore } from './ports';
import { RangeRepairer } from './repair';
import { nextSequence } from './sequences';

export interface LogServiceOptions {
  readonly append?: Partial<AppendTuning>;
  readonly fetch?: Partial<FetchTuning>;
  /** How long a warm function trusts its copy of a topic's metadata. @default 5000 */
  readonly topicCacheMs?: number;
  readonly faults?: FaultHooks;
  readonly now?: () => number;
  /**
   * Pipeline this process's appends to a partition in arrival order (pipeline.ts); false lets them
   * contend as appends from separate processes do (the protocol's contention tests). @default true
   */
  readonly appendInOrder?: boolean;
}

function validatePartitionCount(count: unknown): asserts count is number {
  if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > LOG_LIMITS.maxPartitions) {
    throw new SluiceError(
      'INVALID_PARTITIONS',
      `partitions must be an integer from 1 to ${LOG_LIMITS.maxPartitions}, but ${String(count)} was provided`,
    );
  }
}

export { validateTopicName };

/** Kafka's default retention.ms: 7 days. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

function validateRetention(name: string, value: unknown, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new SluiceError(
      'INVALID_CONFIG',
      `${name} must be a positive integer or null, but ${String(value)} was provided`,
    );
  }
  return value as number;
}

/** A partition's log id (its key in the log table): by the topic's creation id, so a recreated topic starts afresh. */
export const logIdOf = (topic: Topic, partition: number) => partitionLogId(topic.topicId, partition);

/** S3 keys spread over 4,096 prefixes (S3 scales request rates per prefix); the ULID keeps them unique. */
export const newObjectKey = () => `segments/${randomBytes(2).toString('hex').slice(0, 3)}/${ulid()}`;

interface ValidatedPart {
  readonly request: ProducePartitionRequest;
  readonly topic: Topic;
  readonly headers: RecordBatchHeader[];
  readonly count: number;
  readonly maxTimestamp: number;
  readonly producer?: PartitionAppendInput['producer'];
}

/**
 * The log: topic admin, produce, fetch and offset lookup over the stores. It never sees HTTP or Lambda;
 * handlers translate requests into these calls.
 */
export class LogService {
  readonly appender: PartitionAppender;
  /**
   * Advanced after every acknowledged append of this service; the long polls of its fetches wait on it.
   * Another door of the same process (a listener doing its own appends) may call `advanced` too.
   */
  readonly highWatermarks = new HighWatermarkSignal();
  private readonly fetcher: Fetcher;
  private readonly topicCache = new Map<string, { topic: Topic; at: number }>();
  /** This process's appends, pipelined per partition in arrival order. */
  private readonly pipeline = new AppendPipeline();
  private readonly now: () => number;
  private readonly topicCacheMs: number;

  constructor(
    readonly topics: TopicStore,
    readonly log: LogStore,
    readonly segments: SegmentStore,
    private readonly options: LogServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.topicCacheMs = options.topicCacheMs ?? 5000;
    const append = { ...DEFAULT_APPEND_TUNING, ...options.append };
    if (options.append?.repairAfterMs !== undefined && options.append.maxAckWaitMs === undefined) {
      append.maxAckWaitMs = append.repairAfterMs + 5000;
    }
    const repairer = new RangeRepairer(log, append, this.now);
    this.appender = new PartitionAppender(log, repairer, append, options.faults ?? {}, this.now);
    this.fetcher = new Fetcher(
      log,
      segments,
      repairer,
      { ...DEFAULT_FETCH_TUNING, ...options.fetch },
      this.now,
      this.highWatermarks,
    );
  }

  // ---- topics -------------------------------------------------------------------------------

  async createTopic(input: {
    name: string;
    partitionCount: number;
    retentionMs?: number | null;
    retentionBytes?: number | null;
  }): Promise<Topic> {
    validateTopicName(input.name);
    validatePartitionCount(input.partitionCount);
    const topic: Topic = {
      name: input.name,
      topicId: ulid(),
      partitionCount: input.partitionCount,
      retentionMs: validateRetention('retentionMs', input.retentionMs, DEFAULT_RETENTION_MS),
      retentionBytes: validateRetention('retentionBytes', input.retentionBytes, null),
      createdAt: this.now(),
    };
    if (await this.topics.get(topic.name)) {
      throw new SluiceError('TOPIC_ALREADY_EXISTS', `Topic '${topic.name}' already exists`);
    }
    // Heads first: the topic becomes visible only once every partition can take appends.
    await Promise.all(
      Array.from({ length: topic.partitionCount }, (_, p) => this.log.createHead(logIdOf(topic, p))),
    );
    await this.topics.create(topic);
    this.topicCache.set(topic.name, { topic, at: this.now() });
    return topic;
  }

  async listTopics(): Promise<Topic[]> {
    return this.topics.list();
  }

  async describeTopic(name: string): Promise<TopicDescription> {
    const topic = await this.requireTopic(name, true);
    const partitions = await Promise.all(
      Array.from({ length: topic.partitionCount }, async (_, p): Promise<PartitionInfo> => {
        const head = await this.log.getHead(logIdOf(topic, p));
        return {
          partition: p,
          logStartOffset: head?.logStartOffset ?? 0,
          highWatermark: head?.highWatermark ?? 0,
          logEndOffset: head?.logEndOffset ?? 0,
        };
      }),
    );
    return { ...topic, partitions };
  }

  async deleteTopic(name: string): Promise<void> {
    validateTopicName(name);
    const topic = await this.topics.delete(name);
    if (!topic) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist`);
    this.topicCache.delete(name);
    // Appends racing the delete fail their reserve from here on; cleanup removes the data later.
    await Promise.all(
      Array.from({ length: topic.partitionCount }, (_, p) => this.log.markDeleted(logIdOf(topic, p))),
    );
  }

  async createPartitions(name: string, partitionCount: number): Promise<TopicDescription> {
    validatePartitionCount(partitionCount);
    const topic = await this.requireTopic(name, true);
    if (partitionCount <= topic.partitionCount) {
      throw new SluiceError(
        'INVALID_PARTITIONS',
        `Topic '${name}' has ${topic.partitionCount} partitions; the count may only grow, but ${partitionCount} was requested`,
      );
    }
    await Promise.all(
      Array.from({ length: partitionCount - topic.partitionCount }, (_, i) =>
        this.log.createHead(logIdOf(topic, topic.partitionCount + i)),
      ),
    );
    if (!(await this.topics.setPartitionCount(name, topic.partitionCount, partitionCount))) {
      throw new SluiceError('INVALID_PARTITIONS', `Topic '${name}' was changed concurrently; retry`);
    }
    this.topicCache.delete(name);
    return this.describeTopic(name);
  }

  /**
   * Changes a topic's retention, as Kafka's AlterConfigs does retention.ms / retention.bytes: null keeps
   * records forever (no size bound); a field left out keeps its value. The next cleanup pass applies it.
   */
  async alterTopicConfig(
    name: string,
    config: { retentionMs?: number | null; retentionBytes?: number | null },
  ): Promise<Topic> {
    const topic = await this.requireTopic(name, true);
    const altered: Topic = {
      ...topic,
      retentionMs: validateRetention('retentionMs', config.retentionMs, topic.retentionMs),
      retentionBytes: validateRetention('retentionBytes', config.retentionBytes, topic.retentionBytes),
    };
    // Conditional on the topic id: a topic deleted and created again meanwhile is not altered.
    if (!(await this.topics.setRetention(name, topic.topicId, altered))) {
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist`);
    }
    this.topicCache.delete(name);
    return altered;
  }

  /** The topic's metadata, from the warm cache unless stale or told to refresh. */
  async requireTopic(name: string, fresh = false): Promise<Topic> {
    validateTopicName(name);
    const cached = this.topicCache.get(name);
    if (!fresh && cached && this.now() - cached.at < this.topicCacheMs) return cached.topic;
    const topic = await this.topics.get(name);
    if (!topic) {
      this.topicCache.delete(name);
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist`);
    }
    this.topicCache.set(name, { topic, at: this.now() });
    return topic;
  }

  private async requirePartition(name: string, partition: number): Promise<Topic> {
    if (!Number.isSafeInteger(partition) || partition < 0) {
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${partition} is not valid`);
    }
    let topic = await this.requireTopic(name);
    // A partition beyond a cached count may have been added since: look again before refusing.
    if (partition >= topic.partitionCount) topic = await this.requireTopic(name, true);
    if (partition >= topic.partitionCount) {
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `Topic '${name}' has ${topic.partitionCount} partitions; partition ${partition} does not exist`,
      );
    }
    return topic;
  }

  /** The head of an existing partition (read consistently), with its log table key. */
  private async requireHead(
    topicName: string,
    partition: number,
  ): Promise<{ topic: Topic; logId: string; head: PartitionHead }> {
    const topic = await this.requirePartition(topicName, partition);
    const logId = logIdOf(topic, partition);
    const head = await this.log.getHead(logId);
    if (!head)
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `Partition ${topicName}/${partition} does not exist`,
      );
    return { topic, logId, head };
  }

  // ---- produce ------------------------------------------------------------------------------

  /**
   * Appends each partition's batches. Everything is validated before anything is written; then one S3
   * object holds all the batches, and each partition runs the append protocol on its byte range.
   * Protocol outcomes (a fenced producer, a sequence gap, an aborted range) come back per partition.
   */
  async produce(
    parts: readonly ProducePartitionRequest[],
  ): Promise<(ProducePartitionResult | PartitionError)[]> {
    const validated = await this.validateProduce(parts);
    const key = newObjectKey();
    const body = Buffer.concat(validated.map((v) => v.request.batches));
    await this.segments.put(key, body);
    // Immutable from here on: the fetches this process serves read the tail from memory.
    this.fetcher.written(key, body);
    this.options.faults?.crash?.('after-object-put', key);
    let position = 0;
    const inputs = validated.map((v) => {
      const input: PartitionAppendInput = {
        count: v.count,
        objectKey: key,
        position,
        size: v.request.batches.length,
        maxTimestamp: v.maxTimestamp,
        producer: v.producer,
      };
      position += v.request.batches.length;
      return input;
    });
    const settled = await Promise.allSettled(
      validated.map((v, i) => this.appendAcknowledged(logIdOf(v.topic, v.request.partition), inputs[i]!)),
    );
    return settled.map((outcome, i) => {
      const { topic, partition } = validated[i]!.request;
      if (outcome.status === 'rejected') {
        if (isSluiceError(outcome.reason)) return { topic, partition, error: outcome.reason };
        throw outcome.reason; // unknown failures (and simulated crashes) fail the whole request
      }
      const { baseOffset, count, duplicate } = outcome.value;
      return {
        topic,
        partition,
        baseOffset,
        lastOffset: baseOffset < 0 ? -1 : baseOffset + count - 1,
        duplicate,
      };
    });
  }

  /**
   * Appends parts gathered from many produce requests (the Kafka listener's linger window) with ONE S3
   * object for all of them. Unlike produce(), a partition may appear many times, and each part is
   * answered alone, in the order given: its own base offset, or its own error (a bad part fails only
   * itself; nothing of it is written).
   *
   * Per partition, the parts run in order: consecutive parts without a producer id are concatenated
   * into one append (their offsets follow one another), while each idempotent part is its own append,
   * pipelined after the one before (pipeline.ts: reserves and claims in the order given). Idempotent
   * parts are not concatenated even when they share a producer, so that a later retry of one of them
   * still matches the append it was stored in (duplicates are recognised per append: first sequence
   * and record count).
   */
  async produceGathered(
    parts: readonly ProducePartitionRequest[],
  ): Promise<(ProducePartitionResult | PartitionError)[]> {
    const results: (ProducePartitionResult | PartitionError | undefined)[] = new Array(parts.length);
    const fail = (i: number, error: SluiceError) => {
      results[i] = { topic: parts[i]!.topic, partition: parts[i]!.partition, error };
    };
    const validated = await Promise.all(
      parts.map(async (request, i) => {
        try {
          if (request.batches.length > LOG_LIMITS.maxProduceBytes) {
            throw new SluiceError(
              'MESSAGE_TOO_LARGE',
              `A partition's batches may be at most ${LOG_LIMITS.maxProduceBytes} bytes, but ${request.batches.length} were sent`,
            );
          }
          const topic = await this.requirePartition(request.topic, request.partition);
          const headers = validateBatches(request.batches);
          const part: ValidatedPart = { request, topic, headers, ...this.summarise(request, headers) };
          return part;
        } catch (err) {
          fail(i, asSluiceError(err));
          return undefined;
        }
      }),
    );
    // Runs: what becomes one append. Consecutive non-idempotent parts of a partition share a run.
    interface Run {
      readonly logId: string;
      readonly members: number[];
      count: number;
      size: number;
      maxTimestamp: number;
      readonly producer: PartitionAppendInput['producer'];
      position: number;
    }
    const byPartition = new Map<string, Run[]>();
    const order: Run[] = [];
    validated.forEach((v, i) => {
      if (!v) return;
      const logId = logIdOf(v.topic, v.request.partition);
      const runs = byPartition.get(logId) ?? [];
      byPartition.set(logId, runs);
      const last = runs[runs.length - 1];
      if (last && !last.producer && !v.producer) {
        last.members.push(i);
        last.count += v.count;
        last.size += v.request.batches.length;
        last.maxTimestamp = Math.max(last.maxTimestamp, v.maxTimestamp);
        return;
      }
      const run: Run = {
        logId,
        members: [i],
        count: v.count,
        size: v.request.batches.length,
        maxTimestamp: v.maxTimestamp,
        producer: v.producer,
        position: 0,
      };
      runs.push(run);
      order.push(run);
    });
    if (order.length > 0) {
      // The object lays out runs partition by partition, each run's parts in order.
      const pieces: Buffer[] = [];
      let position = 0;
      for (const runs of byPartition.values()) {
        for (const run of runs) {
          run.position = position;
          for (const i of run.members) pieces.push(parts[i]!.batches);
          position += run.size;
        }
      }
      const key = newObjectKey();
      try {
        const object = Buffer.concat(pieces, position);
        await this.segments.put(key, object);
        this.fetcher.written(key, object);
        this.options.faults?.crash?.('after-object-put', key);
      } catch (err) {
        for (const run of order) for (const i of run.members) fail(i, asSluiceError(err));
        return results as (ProducePartitionResult | PartitionError)[];
      }
      // Every run starts now: the pipeline keeps each partition's runs in the order given (their
      // reserves and claims follow one another) while their commits and round trips overlap.
      await Promise.all(
        order.map(async (run) => {
          try {
            const out = await this.appendAcknowledged(run.logId, {
              count: run.count,
              objectKey: key,
              position: run.position,
              size: run.size,
              maxTimestamp: run.maxTimestamp,
              producer: run.producer,
            });
            let base = out.baseOffset;
            for (const i of run.members) {
              const count = validated[i]!.count;
              results[i] = {
                topic: parts[i]!.topic,
                partition: parts[i]!.partition,
                baseOffset: base,
                lastOffset: base < 0 ? -1 : base + count - 1,
                duplicate: out.duplicate,
              };
              if (base >= 0) base += count;
            }
          } catch (err) {
            for (const i of run.members) fail(i, asSluiceError(err));
          }
        }),
      );
    }
    return results as (ProducePartitionResult | PartitionError)[];
  }

  /**
   * One partition's append, in its turn among this process's appends there (pipeline.ts; with
   * `appendInOrder: false`, none), told to the fetcher as soon as it is acknowledged: the high-water
   * mark is past its last offset (invariant 1), so this process's tail fetches may serve it, and its
   * waiting fetches wake (deferred by the signal, off this answer's path). Told per partition, not
   * once the whole request is answered, so that a fetch waiting here does not wait for the request's
   * slowest partition.
   */
  private appendAcknowledged(logId: string, input: PartitionAppendInput): Promise<LogAppendInfo> {
    const append = async (turn?: AppendTurn) => {
      const out = await this.appender.append(logId, input, turn);
      this.fetcher.acknowledged(logId, out);
      return out;
    };
    return this.options.appendInOrder === false ? append() : this.pipeline.run(logId, append);
  }

  private async validateProduce(parts: readonly ProducePartitionRequest[]): Promise<ValidatedPart[]> {
    if (parts.length === 0)
      throw new SluiceError('INVALID_REQUEST', 'A produce request needs at least one partition');
    const total = parts.reduce((sum, p) => sum + p.batches.length, 0);
    if (total > LOG_LIMITS.maxProduceBytes) {
      throw new SluiceError(
        'MESSAGE_TOO_LARGE',
        `A produce request may carry at most ${LOG_LIMITS.maxProduceBytes} bytes of batches, but ${total} were sent`,
      );
    }
    const seen = new Set<string>();
    return Promise.all(
      parts.map(async (request) => {
        const id = partitionMemoryKey(request.topic, request.partition);
        if (seen.has(id)) {
          throw new SluiceError(
            'INVALID_REQUEST',
            `Partition ${request.topic}/${request.partition} appears twice in one request; put its batches together`,
          );
        }
        seen.add(id);
        const topic = await this.requirePartition(request.topic, request.partition);
        const headers = validateBatches(request.batches);
        return { request, topic, headers, ...this.summarise(request, headers) };
      }),
    );
  }

  /** Record count, max timestamp and the producer claim of one partition's batches. */
  private summarise(request: ProducePartitionRequest, headers: RecordBatchHeader[]) {
    const first = headers[0]!;
    let count = 0;
    let maxTimestamp = -1;
    let expected = first.baseSequence;
    for (const h of headers) {
      if (h.producerId !== first.producerId || h.producerEpoch !== first.producerEpoch) {
        throw new SluiceError(
          'INVALID_RECORD',
          `All batches for ${request.topic}/${request.partition} in one request must come from one producer`,
        );
      }
      if (first.producerId >= 0) {
        if (h.baseSequence !== expected) {
          throw new SluiceError(
            'OUT_OF_ORDER_SEQUENCE',
            `Batches for ${request.topic}/${request.partition} must have consecutive sequences: expected ${expected}, got ${h.baseSequence}`,
          );
        }
        expected = nextSequence(h.baseSequence, h.recordCount);
      }
      count += h.recordCount;
      maxTimestamp = Math.max(maxTimestamp, h.maxTimestamp);
    }
    const producer =
      first.producerId >= 0
        ? { producerId: first.producerId, epoch: first.producerEpoch, baseSequence: first.baseSequence }
        : undefined;
    return { count, maxTimestamp, producer };
  }

  // ---- fetch --------------------------------------------------------------------------------

  async fetch(request: FetchRequest): Promise<FetchPartitionResult[]> {
    const maxBytes = Math.min(request.maxBytes ?? LOG_LIMITS.maxFetchBytes, LOG_LIMITS.maxFetchBytes);
    const resolved = await Promise.all(
      request.partitions.map(async (p) => {
        try {
          const topic = await this.requirePartition(p.topic, p.partition);
          return {
            logId: logIdOf(topic, p.partition),
            offset: p.offset,
            maxBytes: p.maxBytes ?? maxBytes,
          };
        } catch (err) {
          if (isSluiceError(err)) return err;
          throw err;
        }
      }),
    );
    const valid = resolved.filter((r): r is Exclude<typeof r, SluiceError> => !isSluiceError(r));
    const outcomes = await this.fetcher.fetch(valid, {
      maxWaitMs: request.maxWaitMs ?? LOG_LIMITS.defaultMaxWaitMs,
      minBytes: request.minBytes ?? 1,
      maxBytes,
    });
    let next = 0;
    return request.partitions.map((p, i) => {
      const r = resolved[i]!;
      if (isSluiceError(r)) {
        return {
          topic: p.topic,
          partition: p.partition,
          highWatermark: -1,
          logStartOffset: -1,
          records: Buffer.alloc(0),
          nextOffset: p.offset,
          error: r,
        };
      }
      const outcome = outcomes[next++]!;
      return {
        topic: p.topic,
        partition: p.partition,
        highWatermark: outcome.head?.highWatermark ?? -1,
        logStartOffset: outcome.head?.logStartOffset ?? -1,
        records: outcome.records,
        nextOffset: outcome.nextOffset,
        ...(outcome.error ? { error: outcome.error } : {}),
      };
    });
  }

  // ---- offsets ------------------------------------------------------------------------------

  /** A partition's log start offset and high-water mark, from one read of its head. */
  async partitionBounds(
    topicName: string,
    partition: number,
  ): Promise<{ logStartOffset: number; highWatermark: number }> {
    const { head } = await this.requireHead(topicName, partition);
    return { logStartOffset: head.logStartOffset, highWatermark: head.highWatermark };
  }

  /** earliest: the log start offset; latest: the high-water mark; a timestamp: the first offset at or after it. */
  async listOffset(
    topicName: string,
    partition: number,
    spec: OffsetSpec,
  ): Promise<{ offset: number; timestamp: number | null }> {
    const { logId, head } = await this.requireHead(topicName, partition);
    if (spec === 'earliest') return { offset: head.logStartOffset, timestamp: null };
    if (spec === 'latest') return { offset: head.highWatermark, timestamp: null };
    const target = spec.timestamp;
    // The index keeps each entry's max timestamp: the first entry reaching the target holds the answer.
    let from = head.logStartOffset;
    while (from < head.highWatermark) {
      const entries = await this.log.queryEntries(logId, from, head.highWatermark, 1000);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (entry.state !== 'committed' || (entry.maxTimestamp ?? -1) < target) continue;
        const [found] = await this.fetcher.fetch([{ logId, offset: entry.base, maxBytes: entry.size ?? 1 }], {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: LOG_LIMITS.maxFetchBytes,
        });
        for (const batch of decodeRecordBatches(found!.records).batches) {
          for (const record of batch.records) {
            if (record.offset >= head.logStartOffset && record.timestamp >= target) {
              return { offset: record.offset, timestamp: record.timestamp };
            }
          }
        }
      }
      const last = entries[entries.length - 1]!;
      from = last.base + last.count;
    }
    return { offset: head.highWatermark, timestamp: null };
  }

  /**
   * The offset and timestamp of the record with the largest timestamp (the first such, Kafka's
   * MAX_TIMESTAMP lookup of KIP-734); null when the partition holds no records.
   */
  async maxTimestampOffset(
    topicName: string,
    partition: number,
  ): Promise<{ offset: number; timestamp: number } | null> {
    const { logId, head } = await this.requireHead(topicName, partition);
    // The index keeps each entry's max timestamp: find the entry first reaching the largest one.
    let best: { base: number; size: number; maxTimestamp: number } | undefined;
    let from = head.logStartOffset;
    while (from < head.highWatermark) {
      const entries = await this.log.queryEntries(logId, from, head.highWatermark, 1000);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (entry.state !== 'committed' || entry.maxTimestamp === undefined) continue;
        if (!best || entry.maxTimestamp > best.maxTimestamp) {
          best = { base: entry.base, size: entry.size ?? 1, maxTimestamp: entry.maxTimestamp };
        }
      }
      const last = entries[entries.length - 1]!;
      from = last.base + last.count;
    }
    if (!best) return null;
    const [found] = await this.fetcher.fetch([{ logId, offset: best.base, maxBytes: best.size }], {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: LOG_LIMITS.maxFetchBytes,
    });
    let answer: { offset: number; timestamp: number } | null = null;
    for (const batch of decodeRecordBatches(found!.records).batches) {
      for (const record of batch.records) {
        if (record.offset < head.logStartOffset || record.offset >= head.highWatermark) continue;
        if (!answer || record.timestamp > answer.timestamp)
          answer = { offset: record.offset, timestamp: record.timestamp };
      }
    }
    return answer;
  }
}

/** A SluiceError as is; anything else as UNKNOWN_SERVER_ERROR carrying it as the cause. */
function asSluiceError(err: unknown): SluiceError {
  if (isSluiceError(err)) return err;
  return new SluiceError('UNKNOWN_SERVER_ERROR', `Unexpected failure: ${String(err)}`, { cause: err });
}
