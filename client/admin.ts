/**
 * Administration, as KafkaJS's admin client: topics (create, list, describe, delete, add partitions),
 * offsets (by position and by time) and consumer groups (list, describe with lag, reset, delete).
 */

import { isSluiceError, SluiceError } from '../shared/errors';
import type { ResetTarget } from '../shared/model';

export type { ResetTarget };

import { seg, type Transport } from './transport';

export interface ITopicConfig {
  readonly topic: string;
  /** @default 1 */
  readonly numPartitions?: number;
  /** Records older than this are deleted by cleanup, in ms; null keeps them forever. @default the server's (7 days) */
  readonly retentionMs?: number | null;
  /** Per-partition size bound for retention, in bytes; null for none. @default none */
  readonly retentionBytes?: number | null;
}

export interface TopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  readonly retentionMs: number | null;
  readonly retentionBytes: number | null;
  readonly createdAt: number;
}

export interface PartitionInfo {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
}

export interface TopicDescription extends TopicInfo {
  readonly partitions: readonly PartitionInfo[];
}

/** KafkaJS's fetchTopicOffsets shape, with numbers: `offset` and `high` are the high-water mark, `low` the log start. */
export interface PartitionOffsets {
  readonly partition: number;
  readonly offset: number;
  readonly high: number;
  readonly low: number;
}

export type GroupState = 'Empty' | 'Reconciling' | 'Stable';

export interface GroupOverview {
  readonly groupId: string;
  readonly state: GroupState;
  readonly generation: number;
  readonly memberCount: number;
}

export interface GroupMember {
  readonly memberId: string;
  readonly topics: string[];
  /** Partitions the member holds now (revoking ones included). */
  readonly assignment: { topic: string; partition: number }[];
  /** Partitions it will hold once the rebalance completes. */
  readonly targetAssignment: { topic: string; partition: number }[];
  readonly lastHeartbeat: number;
  readonly sessionTimeoutMs: number;
  /** Kafka clients' members only: client id and host of their last JoinGroup. */
  readonly clientId?: string;
  readonly clientHost?: string;
}

export interface GroupPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** null: nothing committed yet. */
  readonly committedOffset: number | null;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** highWatermark − committedOffset; null when nothing is committed. */
  readonly lag: number | null;
  /** The member that holds the partition, if any. */
  readonly memberId: string | null;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly generation: number;
  readonly assignor: string;
  readonly members: GroupMember[];
  readonly offsets: GroupPartitionLag[];
  /** Sum of the partitions' lag (partitions with nothing committed count their whole log). */
  readonly totalLag: number;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
  readonly committedAt: number;
}

/**
 * Topic and group administration. Create it with `sluice.admin()`.
 *
 * @example
 * ```ts
 * const admin = sluice.admin();
 * await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 6 }] });
 * console.log(await admin.listTopics());
 * ```
 */
export class Admin {
  /** @internal Use `sluice.admin()`. */
  constructor(private readonly transport: Transport) {}

  /**
   * Nothing to open; kept for KafkaJS familiarity.
   *
   * @example
   * ```ts
   * await admin.connect(); // optional
   * ```
   */
  async connect(): Promise<void> {}

  /**
   * Closes the admin client's connections.
   *
   * @example
   * ```ts
   * await admin.disconnect();
   * ```
   */
  async disconnect(): Promise<void> {
    this.transport.close();
  }

  /**
   * Creates topics. Resolves true when every topic was created, false when one already existed (as KafkaJS).
   *
   * @example
   * ```ts
   * const created = await admin.createTopics({
   *   topics: [{ topic: 'orders', numPartitions: 6, retentionMs: 7 * 24 * 3600 * 1000 }],
   * });
   * ```
   */
  async createTopics(options: { readonly topics: readonly ITopicConfig[] }): Promise<boolean> {
    let all = true;
    for (const t of options.topics) {
      try {
        await this.transport.json('POST', '/v1/topics', {
          name: t.topic,
          partitions: t.numPartitions ?? 1,
          ...(t.retentionMs === undefined ? {} : { retentionMs: t.retentionMs }),
          ...(t.retentionBytes === undefined ? {} : { retentionBytes: t.retentionBytes }),
        });
      } catch (err) {
        if (!isSluiceError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
        all = false;
      }
    }
    return all;
  }

  /**
   * Names of all topics.
   *
   * @example
   * ```ts
   * const names = await admin.listTopics(); // ['audit', 'orders']
   * ```
   */
  async listTopics(): Promise<string[]> {
    return (await this.describeTopics()).map((t) => t.name);
  }

  /**
   * All topics with their settings (no per-partition offsets: see describeTopic).
   *
   * @example
   * ```ts
   * for (const t of await admin.describeTopics()) console.log(t.name, t.partitionCount);
   * ```
   */
  async describeTopics(): Promise<TopicInfo[]> {
    const { topics } = await this.transport.json<{ topics: TopicInfo[] }>('GET', '/v1/topics');
    return topics;
  }

  /**
   * One topic with each partition's log start offset and high-water mark.
   *
   * @example
   * ```ts
   * const { partitions } = await admin.describeTopic('orders');
   * ```
   */
  async describeTopic(topic: string): Promise<TopicDescription> {
    return this.transport.json<TopicDescription>('GET', `/v1/topics/${seg(topic)}`);
  }

  /**
   * Deletes a topic and, with it, its records.
   *
   * @example
   * ```ts
   * await admin.deleteTopic('orders');
   * ```
   */
  async deleteTopic(topic: string): Promise<void> {
    await this.transport.json('DELETE', `/v1/topics/${seg(topic)}`);
  }

  /**
   * Deletes topics (KafkaJS's shape).
   *
   * @example
   * ```ts
   * await admin.deleteTopics({ topics: ['orders', 'audit'] });
   * ```
   */
  async deleteTopics(options: { readonly topics: readonly string[] }): Promise<void> {
    for (const topic of options.topics) await this.deleteTopic(topic);
  }

  /**
   * Grows topics to `count` partitions (never shrinks). Keys map to partitions by the count, so some
   * keys move to new partitions, as in Kafka.
   *
   * @example
   * ```ts
   * await admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 12 }] });
   * ```
   */
  async createPartitions(options: {
    readonly topicPartitions: readonly { readonly topic: string; readonly count: number }[];
  }): Promise<void> {
    for (const { topic, count } of options.topicPartitions) {
      await this.transport.json('POST', `/v1/topics/${seg(topic)}/partitions`, { partitions: count });
    }
  }

  /**
   * Changes a topic's retention (Kafka's retention.ms and retention.bytes): `null` keeps records
   * forever / sets no size bound; a field left out is unchanged. Answers the topic after the change.
   *
   * @example
   * ```ts
   * await admin.alterTopicConfig({ topic: 'orders', retentionMs: 24 * 3_600_000 });
   * ```
   */
  async alterTopicConfig(options: {
    readonly topic: string;
    readonly retentionMs?: number | null;
    readonly retentionBytes?: number | null;
  }): Promise<TopicInfo> {
    const { topic, ...config } = options;
    return this.transport.json<TopicInfo>('POST', `/v1/topics/${seg(topic)}/config`, config);
  }

  /**
   * Each partition's high-water mark (`offset`, `high`) and log start offset (`low`).
   *
   * @example
   * ```ts
   * const offsets = await admin.fetchTopicOffsets('orders');
   * const total = offsets.reduce((n, p) => n + p.high - p.low, 0);
   * ```
   */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const { partitions } = await this.describeTopic(topic);
    return partitions.map((p) => ({
      partition: p.partition,
      offset: p.highWatermark,
      high: p.highWatermark,
      low: p.logStartOffset,
    }));
  }

  /**
   * Each partition's first offset whose record has a timestamp at or after `timestamp` (ms); the
   * high-water mark when there is none. Without a timestamp: the earliest offsets.
   *
   * @example
   * ```ts
   * const anHourAgo = await admin.fetchTopicOffsetsByTimestamp('orders', Date.now() - 3_600_000);
   * ```
   */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<{ partition: number; offset: number }[]> {
    const { partitionCount } = await this.describeTopic(topic);
    const at = timestamp === undefined ? 'earliest' : String(timestamp);
    return Promise.all(
      Array.from({ length: partitionCount }, async (_, partition) => {
        const { offset } = await this.transport.json<{ offset: number }>(
          'GET',
          `/v1/topics/${seg(topic)}/partitions/${partition}/offsets`,
          undefined,
          { query: { at } },
        );
        return { partition, offset };
      }),
    );
  }

  /**
   * The consumer groups.
   *
   * @example
   * ```ts
   * const { groups } = await admin.listGroups();
   * ```
   */
  async listGroups(): Promise<{ groups: GroupOverview[] }> {
    const res = await this.transport.json<{
      groups: { group: string; state: GroupState; generation: number; memberCount: number }[];
    }>('GET', '/v1/groups');
    return {
      groups: res.groups.map((g) => ({
        groupId: g.group,
        state: g.state,
        generation: g.generation,
        memberCount: g.memberCount,
      })),
    };
  }

  /**
   * A group's members, assignment and, per partition, committed offset, high-water mark and lag.
   *
   * @example
   * ```ts
   * const { totalLag, offsets } = await admin.describeGroup('billing');
   * ```
   */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const d = await this.transport.json<{
      group: string;
      state: GroupState;
      generation: number;
      assignor: string;
      members: GroupMember[];
      offsets: Omit<GroupPartitionLag, 'memberId'>[];
    }>('GET', `/v1/groups/${seg(groupId)}`);
    const holder = new Map<string, string>();
    for (const m of d.members)
      for (const tp of m.assignment) holder.set(`${tp.topic}/${tp.partition}`, m.memberId);
    const offsets = d.offsets.map((o) => ({
      ...o,
      memberId: holder.get(`${o.topic}/${o.partition}`) ?? null,
    }));
    return {
      groupId: d.group,
      state: d.state,
      generation: d.generation,
      assignor: d.assignor,
      members: d.members,
      offsets,
      totalLag: offsets.reduce((n, o) => n + (o.lag ?? o.highWatermark - o.logStartOffset), 0),
    };
  }

  /**
   * A group's committed offsets (of one topic, if given).
   *
   * @example
   * ```ts
   * const offsets = await admin.fetchOffsets({ groupId: 'billing', topic: 'orders' });
   * ```
   */
  async fetchOffsets(options: {
    readonly groupId: string;
    readonly topic?: string;
  }): Promise<CommittedOffset[]> {
    const { offsets } = await this.transport.json<{ offsets: CommittedOffset[] }>(
      'GET',
      `/v1/groups/${seg(options.groupId)}/offsets`,
      undefined,
      options.topic === undefined ? {} : { query: { topic: options.topic } },
    );
    return offsets;
  }

  /**
   * Sets a group's committed offsets of every partition of a topic: to the earliest or latest offset, the
   * first offset at a time, or an offset (clamped into each partition's bounds). The group must have no
   * members; one that does not exist is created empty.
   *
   * @example
   * ```ts
   * await admin.resetOffsets({ groupId: 'billing', topic: 'orders', to: 'earliest' });
   * await admin.resetOffsets({ groupId: 'billing', topic: 'orders', to: { timestamp: Date.parse('2026-01-01') } });
   * ```
   */
  async resetOffsets(options: {
    readonly groupId: string;
    readonly topic: string;
    readonly to: ResetTarget;
  }): Promise<{ topic: string; partition: number; offset: number }[]> {
    const { offsets } = await this.transport.json<{
      offsets: { topic: string; partition: number; offset: number }[];
    }>(
      'POST',
      `/v1/groups/${seg(options.groupId)}/offsets/reset`,
      { topic: options.topic, to: options.to },
      { idempotent: true },
    );
    return offsets;
  }

  /**
   * Deletes an empty group and its committed offsets (NON_EMPTY_GROUP while it has members).
   *
   * @example
   * ```ts
   * await admin.deleteGroup('billing');
   * ```
   */
  async deleteGroup(groupId: string): Promise<void> {
    await this.transport.json('DELETE', `/v1/groups/${seg(groupId)}`);
  }

  /**
   * Deletes groups (KafkaJS's shape); stops at the first that cannot be deleted.
   *
   * @example
   * ```ts
   * await admin.deleteGroups(['billing', 'audit']);
   * ```
   */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    for (const id of groupIds) await this.deleteGroup(id);
  }
}

/**
 * Parses `earliest`, `latest`, an offset, or an ISO-8601 time into a reset target (the CLI's `--to`).
 *
 * @example
 * ```ts
 * parseResetTarget('2026-01-31T12:00:00Z'); // { timestamp: 1769860800000 }
 * parseResetTarget('42'); // { offset: 42 }
 * ```
 */
export function parseResetTarget(value: string): ResetTarget {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^[0-9]+$/.test(value)) {
    const offset = Number(value);
    if (Number.isSafeInteger(offset)) return { offset };
  }
  const time = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(time)) return { timestamp: time };
  throw new SluiceError(
    'INVALID_REQUEST',
    `must be earliest, latest, an offset or an ISO-8601 time, but "${value}" was provided`,
  );
}
