import { LOG_LIMITS } from '../model/limits';
import type { OffsetSpec, ResetTarget } from '../model/topic';

export type { ResetTarget };

/** Limits of consumer groups, enforced where requests enter the GroupService. */
export const GROUP_LIMITS = {
  /** Longest group name, as for topics (shared/model/limits.ts). */
  maxGroupNameLength: LOG_LIMITS.maxGroupNameLength,
  /** Longest member id a request may carry (ids are server-made UUIDs; this only bounds bad input). */
  maxMemberIdLength: LOG_LIMITS.maxMemberIdLength,
  /** Session timeout bounds, ms. A member that does not heartbeat within its session is expelled. */
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 600_000,
  defaultSessionTimeoutMs: 10_000,
  /** Rebalance timeout bounds, ms: how long a member may take to give up revoked partitions. */
  minRebalanceTimeoutMs: 1_000,
  maxRebalanceTimeoutMs: 1_800_000,
  defaultRebalanceTimeoutMs: 30_000,
  /** Topics one member may subscribe to. */
  maxTopicsPerMember: 100,
  /** Members of one group: all of them live in one DynamoDB item (400 KB). */
  maxMembers: 500,
  /** Partitions one heartbeat may list as owned, and offsets one commit may carry. */
  maxPartitionsPerRequest: 10_000,
  /** Offset metadata, as Kafka's offset.metadata.max.bytes (counted in UTF-16 code units here). */
  maxMetadataLength: 4096,
} as const;

export type AssignorName = 'sticky' | 'range' | 'roundrobin';
export const ASSIGNORS: readonly AssignorName[] = ['sticky', 'range', 'roundrobin'];

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * What the group service needs to know about topics. The lead wires it to the log service; tests use an
 * in-memory fake.
 */
export interface TopicMetadataSource {
  /** Throws SluiceError UNKNOWN_TOPIC_OR_PARTITION when the topic does not exist. */
  partitionCount(topic: string): Promise<number>;
  /**
   * The topic's id, unique per creation (shared/model/topic.ts). Committed offsets carry it, so that a
   * topic deleted and created again under its name does not inherit the old one's offsets. `fresh`: read
   * past any cache, to see a deletion at once. Throws UNKNOWN_TOPIC_OR_PARTITION.
   */
  topicId(topic: string, fresh?: boolean): Promise<string>;
  partitionBounds(
    topic: string,
    partition: number,
  ): Promise<{ logStartOffset: number; highWatermark: number }>;
  offsetFor(topic: string, partition: number, spec: OffsetSpec): Promise<number>;
}

export interface JoinGroupRequest {
  readonly topics: readonly string[];
  /** @default 10000 */
  readonly sessionTimeoutMs?: number;
  /** @default 30000 */
  readonly rebalanceTimeoutMs?: number;
  /**
   * How the server computes the target assignment. Every assignor is applied cooperatively: only
   * partitions whose owner changes are revoked. Set by the member whose join creates (or revives) the
   * group; later joins must name the same one or none.
   * @default 'sticky' (balanced, moves as few partitions as it can)
   */
  readonly assignor?: AssignorName;
  /** Rejoin with this id (keeps the member's partitions). An id the group does not know: UNKNOWN_MEMBER_ID. */
  readonly memberId?: string;
}

export interface JoinGroupResult {
  readonly memberId: string;
  readonly generation: number;
  /** Partitions the member may consume now. Partitions still held by others come in a later heartbeat. */
  readonly assignment: TopicPartition[];
  readonly heartbeatIntervalMs: number;
}

export interface HeartbeatRequest {
  /** The generation of the member's last answer. */
  readonly generation: number;
  /** Partitions the member is consuming now. Leaving one out of it acknowledges its revocation. */
  readonly owned: readonly TopicPartition[];
}

export interface HeartbeatResult {
  readonly generation: number;
  /**
   * Partitions the member may consume. One it consumes that is missing here is being revoked: commit
   * its offset, stop consuming it, and leave it out of `owned` in the next heartbeat.
   */
  readonly assignment: TopicPartition[];
  readonly heartbeatIntervalMs: number;
}

export interface OffsetCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string;
}

export interface CommitOffsetsRequest {
  readonly memberId: string;
  /** The generation of the member's last answer. */
  readonly generation: number;
  readonly offsets: readonly OffsetCommit[];
}

export interface CommitOffsetsResult {
  readonly committed: TopicPartition[];
}

export interface CommittedOffset extends TopicPartition {
  readonly offset: number;
  readonly metadata: string | null;
  readonly committedAt: number;
}

export interface FetchOffsetsResult {
  readonly offsets: CommittedOffset[];
}

export type GroupStateName = 'Empty' | 'Reconciling' | 'Stable';

export interface GroupListing {
  readonly group: string;
  readonly state: GroupStateName;
  readonly generation: number;
  readonly memberCount: number;
}

export interface MemberDescription {
  readonly memberId: string;
  readonly topics: string[];
  /** Partitions the member holds (granted and not yet given up), revoking ones included. */
  readonly assignment: TopicPartition[];
  /** Partitions the member will hold once the rebalance completes. */
  readonly targetAssignment: TopicPartition[];
  readonly lastHeartbeat: number;
  readonly sessionTimeoutMs: number;
  /** Kafka clients' members (classic protocol) only: the client id and host of their last JoinGroup. */
  readonly clientId?: string;
  readonly clientHost?: string;
  readonly groupInstanceId?: string | null;
}

export interface PartitionOffsetDescription extends TopicPartition {
  /** null: nothing committed (an offset of a deleted topic, or of an earlier topic of this name, does not count). */
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** highWatermark − committedOffset; null when nothing is committed. */
  readonly lag: number | null;
}

export interface GroupDescription {
  readonly group: string;
  readonly state: GroupStateName;
  readonly generation: number;
  /** Sluice's assignor, or for a group of Kafka clients the protocol its leader assigns with (e.g. 'range'). */
  readonly assignor: AssignorName | string;
  /** 'kafka' while Kafka clients are its members (classic protocol), else 'sluice'. */
  readonly protocol: 'sluice' | 'kafka';
  readonly members: MemberDescription[];
  readonly offsets: PartitionOffsetDescription[];
}

export interface ResetOffsetsRequest {
  readonly topic: string;
  readonly to: ResetTarget;
}

export interface ResetOffsetsResult {
  readonly offsets: { topic: string; partition: number; offset: number }[];
}
