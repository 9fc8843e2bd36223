/**
 * The ports the log declares for its storage (design §4): the log table's partition heads, segment
 * index and producer state; the segment objects; the topics. shared/store implements them over
 * DynamoDB and S3 (the only AWS importer); tests implement them in memory or with faults.
 */
import type { Topic } from '../model/topic';

/**
 * An open range (design §4): offsets an appender reserved on the head and has not yet committed or
 * aborted. The head lists them (`PartitionHead.reservations`) until the high-water mark passes them.
 */
export interface OpenRange {
  readonly id: string;
  readonly base: number;
  readonly count: number;
  readonly reservedAt: number;
}

export interface ProducerState {
  readonly producerId: number;
  readonly epoch: number;
  readonly nextSequence: number;
  readonly lastFirstSequence: number;
  readonly lastBase: number;
  readonly lastCount: number;
  readonly updatedAt: number;
}

export interface PartitionHead {
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly hwAt: number;
  readonly deleted: boolean;
  /** The open ranges, by base offset. */
  readonly reservations: readonly OpenRange[];
}

export interface IndexEntry {
  readonly base: number;
  readonly count: number;
  /** committed: holds records; aborted: a range a dead or stalled appender left, holding none. */
  readonly state: 'committed' | 'aborted';
  readonly objectKey?: string;
  /** Byte range of the entry's batches in the object: [position, position + size). */
  readonly position?: number;
  readonly size?: number;
  readonly maxTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly appendedAt: number;
}

export interface ProducerClaim {
  readonly producerId: number;
  readonly epoch: number;
  readonly baseSequence: number;
  /** The sequence after this batch (sequences never wrap here: see sequences.ts). */
  readonly nextSequence: number;
  /** Where the batch's range was reserved, and its record count. */
  readonly base: number;
  readonly count: number;
  readonly now: number;
  /** When the state may be expired if the producer writes nothing more (ms). */
  readonly expiresAt: number;
  /** Retry of a duplicate whose first attempt was aborted: only valid while the state still says so. */
  readonly expectLastBase?: number;
}

export interface ReserveInput {
  readonly count: number;
  /** The id of the open range this reserve records (unique per attempt). */
  readonly reservationId: string;
  readonly now: number;
}

/** The partition head (design §4): its offsets, its high-water mark and its open ranges. */
export interface LogHeadStore {
  createHead(logId: string): Promise<void>;
  getHead(logId: string): Promise<PartitionHead | undefined>;
  /** Several heads read consistently in one request (a fetch's partitions), in the order asked. */
  getHeads(logIds: readonly string[]): Promise<(PartitionHead | undefined)[]>;
  /**
   * The reserve step: atomically add `count` to logEndOffset, recording the open range. Returns the
   * base, or undefined if a condition failed (no head, a deleted topic, or this very range was already
   * reserved: an SDK retry after a lost answer; read the head to tell).
   */
  reserve(logId: string, input: ReserveInput): Promise<number | undefined>;
  /**
   * The advance step: move the high-water mark from `from` to `to`, forgetting the open ranges it now
   * passes (`passedRanges`, by id); the new head, or undefined if the mark was not at `from`.
   */
  advance(
    logId: string,
    from: number,
    to: number,
    passedRanges: readonly string[],
    now: number,
  ): Promise<PartitionHead | undefined>;
  /** Forgets open ranges the high-water mark has passed. */
  removeOpenRanges(logId: string, ids: readonly string[]): Promise<void>;
  markDeleted(logId: string): Promise<void>;
  /** Raises logStartOffset (never past the high-water mark); false if it was already at or past `to`. */
  advanceLogStartOffset(logId: string, to: number): Promise<boolean>;
}

/** The segment index: one entry per committed or aborted range of offsets, keyed by its base offset. */
export interface LogIndexStore {
  /** The commit step: put the entry unless one exists at its base. */
  putEntry(logId: string, entry: IndexEntry): Promise<boolean>;
  getEntry(logId: string, base: number): Promise<IndexEntry | undefined>;
  /** Entries with from <= base < to, ascending (or descending, newest first). */
  queryEntries(
    logId: string,
    from: number,
    to: number,
    limit: number,
    descending?: boolean,
  ): Promise<IndexEntry[]>;
  /** The entry with the greatest base <= offset. */
  entryAtOrBefore(logId: string, offset: number): Promise<IndexEntry | undefined>;
  deleteEntries(logId: string, bases: readonly number[]): Promise<void>;
}

/** The idempotent producer's state on each partition it wrote. */
export interface ProducerStateStore {
  /** The idempotent producer's state on a partition, if any (consistent read). */
  getProducer(logId: string, producerId: number): Promise<ProducerState | undefined>;
  /**
   * The claim step: record the batch as the producer's last, only if its sequence is the one expected
   * (or sequence 0 of a new producer or a newer epoch). False when the condition failed.
   */
  claimProducer(logId: string, claim: ProducerClaim): Promise<boolean>;
}

/** The log table as the log uses it. */
export interface LogStore extends LogHeadStore, LogIndexStore, ProducerStateStore {}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: number;
}

/** Segment objects in S3: immutable, written once under a unique key, read by byte range. */
export interface SegmentStore {
  put(key: string, body: Buffer): Promise<void>;
  /** Bytes [start, end) of an object. Throws a retriable error rather than return a short body. */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  list(prefix: string, startAfter?: string): AsyncIterable<StoredObject>;
  deleteMany(keys: readonly string[]): Promise<void>;
}

export interface TopicStore {
  /** Throws TOPIC_ALREADY_EXISTS. */
  create(topic: Topic): Promise<void>;
  get(name: string): Promise<Topic | undefined>;
  list(): Promise<Topic[]>;
  /** Removes the topic and leaves a tombstone for cleanup; returns the topic, or undefined if absent. */
  delete(name: string): Promise<Topic | undefined>;
  /** Raises the partition count from `from` to `to`; false if another writer changed it first. */
  setPartitionCount(name: string, from: number, to: number): Promise<boolean>;
  /** Sets the retention of the topic with this id; false if the name no longer holds that topic. */
  setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<boolean>;
  listTombstones(): Promise<Topic[]>;
  deleteTombstone(topicId: string): Promise<void>;
}
