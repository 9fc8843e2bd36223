import type { SluiceError } from '../errors';

/** Limits of the log, documented in the README and enforced where requests enter. */
export const LOG_LIMITS = {
  /** Most partitions a topic may have. */
  maxPartitions: 1024,
  /** Longest topic name, as in Kafka. */
  maxTopicNameLength: 249,
  /** Largest produce request body (all batches together): what a Lambda sync payload carries after base64. */
  maxProduceBytes: 4 * 1024 * 1024,
  /** Largest fetch answer; also the cap on maxBytes. Fits a Lambda response after base64 (6 MB). */
  maxFetchBytes: 4 * 1024 * 1024,
  /** Default and cap of a fetch's long poll. */
  defaultMaxWaitMs: 0,
  maxWaitMsCap: 20_000,
  /** A batch may not decompress to more than this (guards against compression bombs). */
  maxDecompressedBatchBytes: 64 * 1024 * 1024,
} as const;

export interface TopicConfig {
  readonly name: string;
  readonly partitionCount: number;
  /** Records older than this are deleted by cleanup. null: keep forever. */
  readonly retentionMs: number | null;
  /** Per-partition size bound for retention. null: no size bound. */
  readonly retentionBytes: number | null;
}

export interface Topic extends TopicConfig {
  /** Unique per creation (a ULID): a topic deleted and created again under its name starts a new log. */
  readonly topicId: string;
  readonly createdAt: number;
}

export interface PartitionInfo {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

export interface TopicDescription extends Topic {
  readonly partitions: readonly PartitionInfo[];
}

/** One partition's part of a produce request: one or more complete Kafka RecordBatches. */
export interface ProducePartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly batches: Buffer;
}

export interface ProducePartitionResult {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of the first batch, and of the last record of the last batch. */
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The request was a retry of a batch already stored; the offsets are the first attempt's. */
  readonly duplicate: boolean;
  readonly error?: undefined;
}

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly error: SluiceError;
}

export interface FetchPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** @default the request's maxBytes */
  readonly maxBytes?: number;
}

export interface FetchRequest {
  readonly partitions: readonly FetchPartitionRequest[];
  /** Long poll: wait up to this long for minBytes. @default 0, capped at LOG_LIMITS.maxWaitMsCap */
  readonly maxWaitMs?: number;
  /** @default 1 */
  readonly minBytes?: number;
  /** Cap of the whole answer. @default and cap LOG_LIMITS.maxFetchBytes */
  readonly maxBytes?: number;
}

export interface FetchPartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Concatenated RecordBatches as stored, base offsets stamped. The first may start before the offset asked. */
  readonly records: Buffer;
  /**
   * Where the next fetch of this partition should start: past the last batch returned, and past any
   * aborted range skipped (which holds no records). Equals the offset asked when nothing was returned.
   */
  readonly nextOffset: number;
  readonly error?: SluiceError;
}

export type OffsetSpec = 'earliest' | 'latest' | { readonly timestamp: number };
