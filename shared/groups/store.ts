import type { ClassicGroupState } from './classic/types';
import type { PartitionKey } from './partitions';
import type { AssignorName, TopicPartition } from './types';

/** The vocabulary of the port, for its adapters (shared/store/group-store.ts). */
export type { ClassicGroupState, ClassicMember, ClassicStateName } from './classic/types';
export type { AssignorName, TopicPartition };

/**
 * The port between the group logic and its storage. Only the DynamoDB adapter
 * (shared/store/group-store.ts) implements it. Every write is a single-item conditional write; a failed
 * condition is a domain answer (`false` / `undefined`), never an exception. A write whose response was
 * lost and whose SDK retry then failed its condition is recognised by the adapter as its own success.
 */

export interface MemberRecord {
  readonly memberId: string;
  /** Subscribed topics, sorted. */
  topics: string[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** The session ends here (ms, the clock of the server that took the last heartbeat). */
  sessionDeadline: number;
  joinedAt: number;
  /**
   * Partitions granted to the member and not yet given up, each with the generation it was granted at:
   * the fencing token the member's offset commits must match in the partition's offset item.
   */
  assigned: Map<PartitionKey, number>;
  /** Where the member's partitions should be, computed at the last generation bump. Sorted. */
  target: PartitionKey[];
  /** Set while the member holds partitions outside its target: it must give them up by then. */
  revokeDeadline: number | null;
  /**
   * Present only while the member is reconciled (assigned = target): a digest of that partition list.
   * A heartbeat listing exactly these partitions at the current generation takes the one-write path.
   */
  steadyKey: string | null;
}

export interface GroupMeta {
  readonly group: string;
  /** Optimistic-concurrency counter: +1 on every write of the item; 0 when the item does not exist. */
  version: number;
  /** Bumped by every join, leave, expulsion and metadata change; never reset, not even by a delete. */
  generation: number;
  /** A deleted group keeps a tombstone so that its generation (and so every fence) keeps growing. */
  deleted: boolean;
  assignor: AssignorName;
  members: Map<string, MemberRecord>;
  /** Partition counts of the subscribed topics, as of metadataCheckedAt. */
  partitionCounts: Map<string, number>;
  metadataCheckedAt: number;
  /**
   * The group as Kafka clients' classic protocol sees it (shared/groups/classic), or null. A group has
   * members of one kind at a time: Sluice members (`members`) or Kafka members (`classic.members`). Both
   * live in this one item so that the exclusion, and the one generation counter behind every fence, are
   * decided by single conditional writes.
   */
  classic: ClassicGroupState | null;
}

export interface OffsetRecord extends TopicPartition {
  /** The member that claimed the partition last (or `RESET_OWNER`), and the generation of that claim. */
  readonly owner: string | null;
  readonly claimGeneration: number | null;
  /** null: nothing committed yet (the item holds only a claim). */
  readonly offset: number | null;
  /**
   * The id of the topic the offset was committed for (see shared/groups/current-offsets.ts); null when
   * nothing was committed, or for offsets written before ids were recorded.
   */
  readonly topicId: string | null;
  readonly metadata: string | null;
  readonly committedAt: number | null;
}

/** The owner an offset reset writes: no member id can equal it ('#' is not allowed in member ids). */
export const RESET_OWNER = '#reset';

export interface TouchRequest {
  /** The generation the member reports; the write holds only if it is the group's. */
  readonly generation: number;
  /** The member's owned partitions as a steady key; the write holds only if it equals the stored one. */
  readonly steadyKey: string;
  readonly now: number;
}

export interface CommitWrite {
  readonly owner: string;
  /** The generation the partition was granted to the owner at; the offset item's claim must match it. */
  readonly claimGeneration: number;
  readonly offset: number;
  /** The id of the topic the offset is for. */
  readonly topicId: string;
  readonly metadata: string | null;
  readonly committedAt: number;
}

/** An offset set outside membership: a reset, or a commit of a Kafka consumer outside group management. */
export interface ResetWrite {
  readonly offset: number;
  /** The id of the topic the offset is for. */
  readonly topicId: string;
  /** The claim it takes: it holds only if no claim is newer. */
  readonly generation: number;
  readonly committedAt: number;
  readonly metadata?: string | null;
}

export interface GroupStore {
  /** A strongly consistent read of the group's meta item. */
  getMeta(group: string): Promise<GroupMeta | undefined>;
  /**
   * Writes the whole meta item with version = expectedVersion + 1, if its version is still
   * expectedVersion (0: if it does not exist). false: another write came first; read and try again.
   */
  putMeta(meta: GroupMeta, expectedVersion: number): Promise<boolean>;
  /**
   * The steady heartbeat in one write: extends the member's session (now + its session timeout) and
   * bumps the version, if the group is at `generation`, the member's steady key is `steadyKey` and its
   * session has not ended by `now`. Answers the item after the write, or undefined if the condition failed.
   */
  touchMember(group: string, memberId: string, request: TouchRequest): Promise<GroupMeta | undefined>;

  /**
   * The steady classic heartbeat in one write: extends the Kafka member's session (now + its session
   * timeout) and bumps the version, if the group is at `generation`, its classic state is CompletingRebalance or Stable and the
   * member's session has not ended by `now`. Answers the item after the write, or undefined.
   */
  touchClassicMember(
    group: string,
    memberId: string,
    request: { generation: number; now: number },
  ): Promise<GroupMeta | undefined>;

  getOffset(group: string, tp: TopicPartition): Promise<OffsetRecord | undefined>;
  /** Every offset item of the group (claims included), or those of one topic. */
  listOffsets(group: string, topic?: string): Promise<OffsetRecord[]>;
  /**
   * Fences the partition for `owner` at `generation`: holds if the item has no claim, an older one, or
   * this very claim. false: a claim of a newer generation is there.
   */
  claimPartition(group: string, tp: TopicPartition, owner: string, generation: number): Promise<boolean>;
  /** Writes the offset if the item's claim is (owner, claimGeneration). false: fenced. */
  commitOffset(group: string, tp: TopicPartition, write: CommitWrite): Promise<boolean>;
  /**
   * Sets the offset and claims the partition for RESET_OWNER at `generation`, if no claim is newer than
   * `generation`. false: a member of a later generation holds it.
   */
  resetOffset(group: string, tp: TopicPartition, write: ResetWrite): Promise<boolean>;
  /** Deletes the offset item if no claim is newer than `generation`. false: a later member holds it. */
  deleteOffset(group: string, tp: TopicPartition, generation: number): Promise<boolean>;

  /** The registry of group names behind listGroups: one small item per group. */
  registerGroup(group: string, generation: number): Promise<void>;
  /** Removes the registry entry, unless a later incarnation (generation > this) registered it again. */
  unregisterGroup(group: string, generation: number): Promise<void>;
  listRegisteredGroups(): Promise<string[]>;
}
