import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import { decodeRecordBatches, type RecordBatchHeader, validateBatches } from '../codec/record-batch';
import type { StorageConfig } from '../config';
import { isSluiceError, SluiceError } from '../errors';
import type { AwsClients } from '../store/aws-clients';
import { DynamoLogStore, type LogStore } from '../store/log-store';
import { S3SegmentStore, type SegmentStore } from '../store/segment-store';
import { DynamoTopicStore, type TopicStore } from '../store/topic-store';
import {
  type AppendTuning,
  DEFAULT_APPEND_TUNING,
  nextSequence,
  PartitionAppender,
  type PartitionAppendInput,
} from './append';
import type { FaultHooks } from './faults';
import { DEFAULT_FETCH_TUNING, Fetcher, type FetchTuning } from './fetch';
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
} from './types';

export interface LogServiceOptions {
  readonly append?: Partial<AppendTuning>;
  readonly fetch?: Partial<FetchTuning>;
  /** How long a warm function trusts its copy of a topic's metadata. @default 5000 */
  readonly topicCacheMs?: number;
  readonly faults?: FaultHooks;
  readonly now?: () => number;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's rules for topic names (org.apache.kafka.common.internals.Topic.validate). */
export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SluiceError('INVALID_TOPIC', 'Topic name must be a non-empty string');
  }
  if (name.length > LOG_LIMITS.maxTopicNameLength) {
    throw new SluiceError(
      'INVALID_TOPIC',
      `Topic name must be at most ${LOG_LIMITS.maxTopicNameLength} characters, but ${name.length} were given`,
    );
  }
  if (name === '.' || name === '..') throw new SluiceError('INVALID_TOPIC', `Topic name cannot be '${name}'`);
  if (!TOPIC_NAME.test(name)) {
    throw new SluiceError(
      'INVALID_TOPIC',
      `Topic name ${JSON.stringify(name)} may only contain [a-zA-Z0-9._-]`,
    );
  }
}

function validatePartitionCount(count: unknown): asserts count is number {
  if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > LOG_LIMITS.maxPartitions) {
    throw new SluiceError(
      'INVALID_PARTITIONS',
      `partitions must be an integer from 1 to ${LOG_LIMITS.maxPartitions}, but ${String(count)} was provided`,
    );
  }
}

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

/** A partition's id in the log table: the topic's creation id, so a recreated topic starts afresh. */
export const partitionId = (topic: Topic, partition: number) => `${topic.topicId}#${partition}`;

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
  private readonly fetcher: Fetcher;
  private readonly topicCache = new Map<string, { topic: Topic; at: number }>();
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
    this.appender = new PartitionAppender(log, append, options.faults ?? {}, this.now);
    this.fetcher = new Fetcher(
      log,
      segments,
      this.appender,
      { ...DEFAULT_FETCH_TUNING, ...options.fetch },
      this.now,
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
      Array.from({ length: topic.partitionCount }, (_, p) => this.log.createHead(partitionId(topic, p))),
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
        const head = await this.log.getHead(partitionId(topic, p));
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
      Array.from({ length: topic.partitionCount }, (_, p) => this.log.markDeleted(partitionId(topic, p))),
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
        this.log.createHead(partitionId(topic, topic.partitionCount + i)),
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
      validated.map((v, i) => this.appender.append(partitionId(v.topic, v.request.partition), inputs[i]!)),
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
        const id = `${request.topic}\u0000${request.partition}`;
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
          return { pid: partitionId(topic, p.partition), offset: p.offset, maxBytes: p.maxBytes ?? maxBytes };
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
    const topic = await this.requirePartition(topicName, partition);
    const head = await this.log.getHead(partitionId(topic, partition));
    if (!head)
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `Partition ${topicName}/${partition} does not exist`,
      );
    return { logStartOffset: head.logStartOffset, highWatermark: head.highWatermark };
  }

  /** earliest: the log start offset; latest: the high-water mark; a timestamp: the first offset at or after it. */
  async listOffset(
    topicName: string,
    partition: number,
    spec: OffsetSpec,
  ): Promise<{ offset: number; timestamp: number | null }> {
    const topic = await this.requirePartition(topicName, partition);
    const pid = partitionId(topic, partition);
    const head = await this.log.getHead(pid);
    if (!head)
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `Partition ${topicName}/${partition} does not exist`,
      );
    if (spec === 'earliest') return { offset: head.logStartOffset, timestamp: null };
    if (spec === 'latest') return { offset: head.highWatermark, timestamp: null };
    const target = spec.timestamp;
    // The index keeps each entry's max timestamp: the first entry reaching the target holds the answer.
    let from = head.logStartOffset;
    while (from < head.highWatermark) {
      const entries = await this.log.queryEntries(pid, from, head.highWatermark, 1000);
      if (entries.length === 0) break;
      for (const entry of entries) {
        if (entry.state !== 'committed' || (entry.maxTimestamp ?? -1) < target) continue;
        const [found] = await this.fetcher.fetch([{ pid, offset: entry.base, maxBytes: entry.size ?? 1 }], {
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
}

export function createLogService(
  config: StorageConfig,
  clients: AwsClients,
  options: LogServiceOptions = {},
): LogService {
  return new LogService(
    new DynamoTopicStore(clients.dynamo, config.topicsTable),
    new DynamoLogStore(clients.dynamo, config.logTable),
    new S3SegmentStore(clients.s3, config.bucket),
    options,
  );
}
