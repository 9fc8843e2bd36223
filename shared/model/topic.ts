/** Topics and partitions as the log describes them. */

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

export type OffsetSpec = 'earliest' | 'latest' | { readonly timestamp: number };

/** Where a group's committed offset is moved by a reset: an end of the log, a time, or an offset. */
export type ResetTarget =
  | 'earliest'
  | 'latest'
  | { readonly timestamp: number }
  | { readonly offset: number };
