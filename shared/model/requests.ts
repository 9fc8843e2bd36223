/** The log's produce and fetch requests and results, shared by every door and the client SDK. */
import type { SluiceError } from '../errors';

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
