/**
 * Kafka's classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup), kept in the groups
 * table beside Sluice's own groups. The coordinator picks a leader and relays the leader's assignment;
 * state lives in the group's meta item, so every listener sees one group.
 */

/** Kafka's names for the classic group states (org.apache.kafka.coordinator.group.classic.ClassicGroupState). */
export type ClassicStateName = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface ClassicProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface ClassicMember {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** In the member's order of preference. */
  protocols: ClassicProtocol[];
  /** It has (re)joined in the current PreparingRebalance: it is part of the next generation. */
  joined: boolean;
  /** It sent its SyncGroup at the current generation. */
  synced: boolean;
  /** The leader's assignment for it at the current generation (null until the leader syncs). */
  assignment: Buffer | null;
  /** The session ends here (ms). Stored apart, so a heartbeat can extend it with one small update. */
  sessionDeadline: number;
  /** Join order: the first joined member of a new group leads. */
  joinedAt: number;
}

export interface ClassicGroupState {
  /** 'consumer' for Kafka consumers; other protocol types (e.g. 'connect') are relayed, not decoded. */
  protocolType: string | null;
  /** The protocol (assignor) the coordinator chose at the last completed join, e.g. 'range'. */
  protocolName: string | null;
  state: ClassicStateName;
  leader: string | null;
  members: Map<string, ClassicMember>;
  /** Member ids handed out with MEMBER_ID_REQUIRED (JoinGroup v4+), each with the time it lapses. */
  pending: Map<string, number>;
  /** PreparingRebalance: members that have not rejoined by then are removed and the join completes. */
  rebalanceDeadline: number | null;
  /** The first rebalance of an empty group waits this long for more members, even if all have joined. */
  initialDelayUntil: number | null;
  /** CompletingRebalance: members that have not sent SyncGroup by then are removed (a rebalance follows). */
  syncDeadline: number | null;
}

/** Kafka error names a coordinator answer can carry (the API layer maps them to their numbers). */
export type ClassicErrorName =
  | 'NONE'
  | 'COORDINATOR_NOT_AVAILABLE'
  | 'ILLEGAL_GENERATION'
  | 'INCONSISTENT_GROUP_PROTOCOL'
  | 'INVALID_GROUP_ID'
  | 'UNKNOWN_MEMBER_ID'
  | 'INVALID_SESSION_TIMEOUT'
  | 'REBALANCE_IN_PROGRESS'
  | 'INVALID_COMMIT_OFFSET_SIZE'
  | 'OFFSET_METADATA_TOO_LARGE'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'GROUP_ID_NOT_FOUND'
  | 'NON_EMPTY_GROUP'
  | 'MEMBER_ID_REQUIRED'
  | 'FENCED_INSTANCE_ID'
  | 'GROUP_MAX_SIZE_REACHED'
  | 'GROUP_SUBSCRIBED_TO_TOPIC'
  | 'UNKNOWN_SERVER_ERROR'
  | 'INVALID_REQUEST'
  | 'REQUEST_TIMED_OUT';

export const CLASSIC_LIMITS = {
  /** Kafka's group.min.session.timeout.ms is 6 s; 1 s here lets tests expire members quickly. */
  minSessionTimeoutMs: 1_000,
  /** Kafka's group.max.session.timeout.ms. */
  maxSessionTimeoutMs: 1_800_000,
  /** Longest rebalance timeout accepted (Kafka has no bound but int32; 30 min keeps waits sane). */
  maxRebalanceTimeoutMs: 1_800_000,
  /** Kafka's group.max.size default is unbounded; all members share one DynamoDB item. */
  maxMembers: 500,
  /** Kafka's offset.metadata.max.bytes. */
  maxMetadataBytes: 4096,
  /** A client id kept per member (DescribeGroups), cut to this. */
  maxClientIdLength: 255,
} as const;

export interface JoinGroupRequest {
  readonly groupId: string;
  /** '' for a member without an id yet. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly ClassicProtocol[];
  readonly sessionTimeoutMs: number;
  /** JoinGroup v0 has none: the session timeout stands in for it, as in Kafka. */
  readonly rebalanceTimeoutMs: number;
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id, then joins with it. */
  readonly requireKnownMemberId: boolean;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface JoinGroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

export interface JoinGroupResult {
  readonly error: ClassicErrorName;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  /** Filled for the leader only: every member with its metadata for the chosen protocol. */
  readonly members: JoinGroupMember[];
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** SyncGroup v5+: checked against the group's. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** The leader's assignments; empty from followers. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

export interface SyncGroupResult {
  readonly error: ClassicErrorName;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export interface MemberRef {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveGroupResult {
  readonly error: ClassicErrorName;
  readonly members: { memberId: string; groupInstanceId: string | null; error: ClassicErrorName }[];
}

export interface OffsetCommitPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
}

export interface OffsetCommitRequest {
  readonly groupId: string;
  /** -1 (and memberId ''): a consumer that manages its partitions itself and only stores offsets. */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly partitions: readonly OffsetCommitPartition[];
}

export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly error: ClassicErrorName;
}

export interface FetchedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when nothing is committed. */
  readonly offset: number;
  readonly metadata: string | null;
  readonly error: ClassicErrorName;
}

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
  /** 'classic' for Kafka clients' groups, 'consumer' for Sluice SDK groups (server-assigned, as KIP-848). */
  readonly type: 'classic' | 'consumer';
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly metadata: Buffer;
  readonly assignment: Buffer;
}

export interface DescribedGroup {
  readonly error: ClassicErrorName;
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: DescribedMember[];
}
