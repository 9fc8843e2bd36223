import { randomUUID } from 'node:crypto';
import { mapLimit } from '../concurrency';
import { type FencedReason, isSluiceError, SluiceError } from '../errors';
import { assignedPartitions, liveClassicMembers, sluiceStateName, subscribedTopics } from './classic/state';
import { currentOffsets, topicIds } from './current-offsets';
import {
  acknowledgeRevocations,
  bumpGeneration,
  emptyMeta,
  expireMembers,
  grantFree,
  refreshSteadyKeys,
  stateName,
  steadyKeyOf,
  visibleAssignment,
} from './group-state';
import { keyOf, type PartitionKey, parsePartitionKey, partitionKey, toTopicPartitions } from './partitions';
import type { GroupMeta, GroupStore, MemberRecord } from './store';
import {
  type CommitOffsetsRequest,
  type CommitOffsetsResult,
  type FetchOffsetsResult,
  GROUP_LIMITS,
  type GroupDescription,
  type GroupListing,
  type HeartbeatRequest,
  type HeartbeatResult,
  type JoinGroupRequest,
  type JoinGroupResult,
  type PartitionOffsetDescription,
  type ResetOffsetsRequest,
  type ResetOffsetsResult,
  type TopicMetadataSource,
  type TopicPartition,
} from './types';
import {
  validateAssignor,
  validateCommits,
  validateGroupName,
  validateInteger,
  validateMemberId,
  validateObject,
  validateOwned,
  validateResetTarget,
  validateTopicName,
  validateTopics,
} from './validation';

export type { TopicMetadataSource } from './types';

export interface GroupServiceOptions {
  /** How often a group re-reads its topics' partition counts (a topic may grow). @default 30000 ms */
  readonly metadataRefreshMs?: number;
  /** Read-modify-write attempts on a group's meta item before answering CONCURRENT_UPDATE. @default 50 */
  readonly maxAttempts?: number;
  /** Members one group may have (they share one DynamoDB item). @default GROUP_LIMITS.maxMembers (500) */
  readonly maxMembers?: number;
  /** Concurrent storage and metadata calls of one describe, delete or reset. @default 16 */
  readonly concurrency?: number;
}

export interface GroupServiceProps {
  readonly store: GroupStore;
  readonly topics: TopicMetadataSource;
  /** The clock (ms). Session deadlines use it; fencing never does. @default Date.now */
  readonly now?: () => number;
  readonly options?: GroupServiceOptions;
}

/** What one attempt of a read-modify-write on the meta item decided. */
interface Decision<T> {
  readonly result?: T;
  /** Thrown after the meta item is written (an expulsion noticed on the way is kept). */
  readonly error?: SluiceError;
  /** Partitions to fence for a member once the meta item is written: key → generation granted at. */
  readonly claims?: {
    readonly memberId: string;
    readonly keys: readonly (readonly [PartitionKey, number])[];
  };
}

/** Changes made during one attempt: whether to write, and whether a new generation is due. */
class Change {
  changed = false;
  private bumpDue = false;

  markChanged(): void {
    this.changed = true;
  }

  requestBump(): void {
    this.changed = true;
    this.bumpDue = true;
  }

  /** Bumps the generation (recomputing targets) if a bump is due; call before granting partitions. */
  applyBump(meta: GroupMeta, now: number): void {
    if (!this.bumpDue) return;
    this.bumpDue = false;
    bumpGeneration(meta, now);
  }
}

type Mutation<T> = (meta: GroupMeta, now: number, change: Change) => Decision<T>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Consumer groups, KIP-848 style: the server keeps membership and computes assignments; members only
 * heartbeat. Everything lives in the groups table, changed by single-item conditional writes only:
 *
 * - the `meta` item holds membership, sessions, each member's held (`assigned`) and target partitions and
 *   the generation. It is changed by read-modify-write conditioned on its `version` (retried on
 *   conflict), except the steady heartbeat: one conditional update that extends the session.
 * - one offset item per partition holds the committed offset and its fence: the (owner, generation)
 *   of the last claim. A member granted a partition claims it before it is told it has it; a commit holds
 *   only if the claim is still the committer's. So a zombie's commit fails once the partition moved, and
 *   no offset ever moves back through one.
 *
 * Clocks decide only when a session ends (liveness); fencing rests on the conditional writes alone.
 */
export class GroupService {
  private readonly store: GroupStore;
  private readonly topics: TopicMetadataSource;
  private readonly now: () => number;
  private readonly metadataRefreshMs: number;
  private readonly maxAttempts: number;
  private readonly maxMembers: number;
  private readonly concurrency: number;

  constructor(props: GroupServiceProps) {
    this.store = props.store;
    this.topics = props.topics;
    this.now = props.now ?? Date.now;
    this.metadataRefreshMs = props.options?.metadataRefreshMs ?? 30_000;
    this.maxAttempts = props.options?.maxAttempts ?? 50;
    this.maxMembers = props.options?.maxMembers ?? GROUP_LIMITS.maxMembers;
    this.concurrency = props.options?.concurrency ?? 16;
  }

  /**
   * Joins a member (a new one without memberId, or rejoins with it). A join that adds a member or changes
   * a subscription bumps the generation. The answer holds the partitions of the member's target that no
   * one else holds; the rest come in heartbeats once their holders give them up.
   */
  async join(group: string, request: JoinGroupRequest): Promise<JoinGroupResult> {
    validateGroupName(group);
    const r = validateObject('request', request);
    const topics = validateTopics('topics', r.topics);
    const sessionTimeoutMs = validateInteger(
      'sessionTimeoutMs',
      r.sessionTimeoutMs ?? GROUP_LIMITS.defaultSessionTimeoutMs,
      GROUP_LIMITS.minSessionTimeoutMs,
      GROUP_LIMITS.maxSessionTimeoutMs,
    );
    const rebalanceTimeoutMs = validateInteger(
      'rebalanceTimeoutMs',
      r.rebalanceTimeoutMs ?? GROUP_LIMITS.defaultRebalanceTimeoutMs,
      GROUP_LIMITS.minRebalanceTimeoutMs,
      GROUP_LIMITS.maxRebalanceTimeoutMs,
    );
    const assignor = validateAssignor('assignor', r.assignor);
    const isNew = r.memberId === undefined;
    const memberId = isNew ? randomUUID() : validateMemberId('memberId', r.memberId);
    // Throws UNKNOWN_TOPIC_OR_PARTITION before anything is written.
    const counts = await this.mapLimit(
      topics,
      async (t) => [t, await this.topics.partitionCount(t)] as const,
    );

    return this.update(group, (meta, now, change) => {
      // A new member's id is made by this request, so finding it means an earlier attempt of ours was
      // written (its answer lost): carry on as a rejoin.
      let member = meta.deleted ? undefined : meta.members.get(memberId);
      if (member === undefined && !isNew) return { error: unknownMember(group, memberId) };
      if (!exists(meta)) {
        meta.deleted = false;
        meta.classic = null;
        change.markChanged();
      }
      if (meta.classic !== null) {
        const kafkaMembers = liveClassicMembers(meta.classic, now).length;
        if (kafkaMembers > 0) return { error: kafkaGroup(group, kafkaMembers) };
        // Kafka members whose sessions all ended are gone; the bump below fences their claims.
        meta.classic = null;
        change.requestBump();
      }
      if (meta.members.size === 0) {
        if (meta.assignor !== (assignor ?? 'sticky')) change.markChanged();
        meta.assignor = assignor ?? 'sticky';
      } else if (assignor !== undefined && assignor !== meta.assignor) {
        return {
          error: new SluiceError(
            'INVALID_REQUEST',
            `assignor must be ${meta.assignor}, the group's, but ${assignor} was provided`,
            { details: { field: 'assignor' } },
          ),
        };
      }
      if (member === undefined) {
        if (meta.members.size >= this.maxMembers) {
          return {
            error: new SluiceError(
              'INVALID_REQUEST',
              `group must have at most ${this.maxMembers} members, but ${group} has ${meta.members.size} already`,
              { details: { field: 'group' } },
            ),
          };
        }
        member = {
          memberId,
          topics,
          sessionTimeoutMs,
          rebalanceTimeoutMs,
          sessionDeadline: now + sessionTimeoutMs,
          joinedAt: now,
          assigned: new Map(),
          target: [],
          revokeDeadline: null,
          steadyKey: null,
        };
        meta.members.set(memberId, member);
        change.requestBump();
      } else if (member.topics.join(',') !== topics.join(',')) {
        member.topics = topics;
        change.requestBump();
      }
      member.sessionTimeoutMs = sessionTimeoutMs;
      member.rebalanceTimeoutMs = rebalanceTimeoutMs;
      member.sessionDeadline = now + sessionTimeoutMs;
      change.markChanged();
      for (const [topic, count] of counts) {
        if (meta.partitionCounts.get(topic) !== count) {
          meta.partitionCounts.set(topic, count);
          change.requestBump();
        }
      }
      change.applyBump(meta, now);
      grantFree(meta, member);
      const visible = visibleAssignment(member);
      return {
        result: {
          memberId,
          generation: meta.generation,
          assignment: toTopicPartitions(visible),
          heartbeatIntervalMs: heartbeatInterval(member),
        },
        claims: claimsFor(member, visible),
      };
    });
  }

  /**
   * Keeps the member's session alive and moves the group towards its target: partitions the member no
   * longer lists (at the current generation) are released, free ones of its target are granted. In a
   * steady group this is one conditional write.
   */
  async heartbeat(group: string, memberId: string, request: HeartbeatRequest): Promise<HeartbeatResult> {
    validateGroupName(group);
    validateMemberId('memberId', memberId);
    const r = validateObject('request', request);
    const generation = validateInteger('generation', r.generation, 0, Number.MAX_SAFE_INTEGER);
    const owned = validateOwned('owned', r.owned);

    const touched = await this.store.touchMember(group, memberId, {
      generation,
      steadyKey: steadyKeyOf(owned),
      now: this.now(),
    });
    const steady = touched?.members.get(memberId);
    if (touched !== undefined && steady !== undefined && !this.needsMaintenance(touched, this.now())) {
      return {
        generation: touched.generation,
        assignment: toTopicPartitions(visibleAssignment(steady)),
        heartbeatIntervalMs: heartbeatInterval(steady),
      };
    }

    return this.update(group, (meta, now, change) => {
      const member = meta.deleted ? undefined : meta.members.get(memberId);
      if (member === undefined) return { error: unknownMember(group, memberId) };
      if (generation > meta.generation) {
        return {
          error: new SluiceError(
            'ILLEGAL_GENERATION',
            `generation must be at most ${meta.generation}, the group's, but ${generation} was provided`,
            { details: { field: 'generation', generation: meta.generation } },
          ),
        };
      }
      member.sessionDeadline = now + member.sessionTimeoutMs;
      change.markChanged();
      if (generation === meta.generation) acknowledgeRevocations(member, owned);
      grantFree(meta, member);
      const visible = visibleAssignment(member);
      return {
        result: {
          generation: meta.generation,
          assignment: toTopicPartitions(visible),
          heartbeatIntervalMs: heartbeatInterval(member),
        },
        // What the member does not list yet it has not heard of: (re)claim it before telling it.
        claims: claimsFor(
          member,
          visible.filter((k) => !owned.has(k)),
        ),
      };
    });
  }

  /** The member leaves; its partitions are free at once (it should commit before leaving). */
  async leave(group: string, memberId: string): Promise<void> {
    validateGroupName(group);
    validateMemberId('memberId', memberId);
    await this.update<void>(group, (meta, now, change) => {
      if (meta.deleted || !meta.members.has(memberId)) return { error: unknownMember(group, memberId) };
      meta.members.delete(memberId);
      change.requestBump();
      change.applyBump(meta, now);
      return {};
    });
  }

  /**
   * Commits offsets for partitions the member holds. The whole request is checked against the meta item
   * first (nothing is written if any partition is not the member's); then each offset is a conditional
   * write on the partition's claim, so a member that lost a partition in between is still fenced.
   */
  async commitOffsets(group: string, request: CommitOffsetsRequest): Promise<CommitOffsetsResult> {
    validateGroupName(group);
    const r = validateObject('request', request);
    const memberId = validateMemberId('memberId', r.memberId);
    const generation = validateInteger('generation', r.generation, 0, Number.MAX_SAFE_INTEGER);
    const offsets = validateCommits('offsets', r.offsets);

    const meta = await this.store.getMeta(group);
    const now = this.now();
    const member = meta === undefined || meta.deleted ? undefined : meta.members.get(memberId);
    const all = offsets.map(({ topic, partition }) => ({ topic, partition }));
    if (member === undefined) {
      throw fenced('UNKNOWN_MEMBER', `member ${memberId} is not in group ${group}`, all, []);
    }
    if (member.sessionDeadline < now) {
      throw fenced('SESSION_ENDED', `the session of member ${memberId} has ended`, all, []);
    }
    if (generation > meta!.generation) {
      throw fenced(
        'GENERATION_AHEAD',
        `generation ${generation} is beyond the group's ${meta!.generation}`,
        all,
        [],
      );
    }
    const notOwned = offsets.filter((o) => {
      const granted = member.assigned.get(keyOf(o));
      return granted === undefined || granted > generation;
    });
    if (notOwned.length > 0) {
      throw fenced(
        'NOT_OWNER',
        `member ${memberId} at generation ${generation} does not own every partition of the commit`,
        notOwned.map(({ topic, partition }) => ({ topic, partition })),
        [],
      );
    }
    // Stamped with the topic's id, so that the offset does not outlive its topic (current-offsets.ts).
    const ids = await topicIds(
      this.topics,
      offsets.map((o) => o.topic),
      false,
    );
    const gone = [...new Set(offsets.map((o) => o.topic))].filter((t) => !ids.has(t));
    if (gone.length > 0) {
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `topic ${gone.join(', ')} does not exist (deleted?); nothing was committed`,
        { details: { topics: gone } },
      );
    }

    const results = await Promise.all(
      offsets.map(async (o) => {
        const tp = { topic: o.topic, partition: o.partition };
        const claimGeneration = member.assigned.get(keyOf(o))!;
        const write = {
          owner: memberId,
          claimGeneration,
          offset: o.offset,
          topicId: ids.get(o.topic)!,
          metadata: o.metadata ?? null,
          committedAt: now,
        };
        if (await this.store.commitOffset(group, tp, write)) return { tp, ok: true };
        // The grant's claim may never have been written (the granting request died after the meta write):
        // claim it now, which holds only if no newer claim exists, and try once more.
        const item = await this.store.getOffset(group, tp);
        if (item === undefined || item.claimGeneration === null || item.claimGeneration < claimGeneration) {
          if (await this.store.claimPartition(group, tp, memberId, claimGeneration)) {
            return { tp, ok: await this.store.commitOffset(group, tp, write) };
          }
        }
        return { tp, ok: false };
      }),
    );
    const committed = results.filter((x) => x.ok).map((x) => x.tp);
    const lost = results.filter((x) => !x.ok).map((x) => x.tp);
    if (lost.length > 0) {
      throw fenced(
        'LOST_WHILE_COMMITTING',
        `member ${memberId} lost partitions while committing`,
        lost,
        committed,
      );
    }
    return { committed };
  }

  /**
   * The group's committed offsets (of one topic, if given). An unknown group has none; neither has a
   * deleted topic, nor one created again under a deleted topic's name.
   */
  async fetchOffsets(group: string, topic?: string): Promise<FetchOffsetsResult> {
    validateGroupName(group);
    if (topic !== undefined) validateTopicName(topic, 'topic');
    const items = await currentOffsets(this.topics, await this.store.listOffsets(group, topic));
    const offsets = items
      .map((i) => ({
        topic: i.topic,
        partition: i.partition,
        offset: i.offset,
        metadata: i.metadata,
        committedAt: i.committedAt ?? 0,
      }))
      .sort(byTopicPartition);
    return { offsets };
  }

  async listGroups(): Promise<{ groups: GroupListing[] }> {
    const names = await this.store.listRegisteredGroups();
    const metas = await this.mapLimit(names, (name) => this.store.getMeta(name));
    const now = this.now();
    const groups: GroupListing[] = [];
    for (const meta of metas) {
      if (meta === undefined || meta.deleted) continue;
      // Read-only: members whose session ended are left out, not expelled.
      for (const [id, m] of meta.members) if (m.sessionDeadline < now) meta.members.delete(id);
      const kafkaMembers = liveClassicMembers(meta.classic, now).length;
      groups.push({
        group: meta.group,
        state: kafkaMembers > 0 ? sluiceStateName(meta.classic!) : stateName(meta),
        generation: meta.generation,
        memberCount: meta.members.size + kafkaMembers,
      });
    }
    return { groups: groups.sort((a, b) => (a.group < b.group ? -1 : 1)) };
  }

  /** Members, generation, state, and per partition the committed offset, the high-water mark and the lag. */
  async describeGroup(group: string): Promise<GroupDescription> {
    validateGroupName(group);
    const meta = await this.update(group, (m) =>
      exists(m) ? { result: m } : { error: groupNotFound(group) },
    );
    const items = await currentOffsets(this.topics, await this.store.listOffsets(group));
    const committed = new Map(items.map((i) => [keyOf(i), i.offset]));
    const keys = new Set<PartitionKey>(committed.keys());
    const kafka = meta.members.size === 0 ? liveClassicMembers(meta.classic, this.now()) : [];
    const partitionCounts = new Map(meta.partitionCounts);
    if (kafka.length > 0) {
      const topics = [...new Set(kafka.flatMap((m) => subscribedTopics(meta.classic!, m)))];
      for (const [topic, count] of await this.mapLimit(topics, async (t) => {
        try {
          return [t, await this.topics.partitionCount(t)] as const;
        } catch (err) {
          if (isSluiceError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return [t, 0] as const;
          throw err;
        }
      }))
        partitionCounts.set(topic, count);
    }
    for (const [topic, count] of partitionCounts)
      for (let p = 0; p < count; p++) keys.add(partitionKey(topic, p));
    const described = await this.mapLimit(
      toTopicPartitions(keys),
      async (tp): Promise<PartitionOffsetDescription | undefined> => {
        const c = committed.get(keyOf(tp)) ?? null;
        let bounds: { logStartOffset: number; highWatermark: number };
        try {
          bounds = await this.topics.partitionBounds(tp.topic, tp.partition);
        } catch (err) {
          // A deleted topic (that members still subscribe to) has no partitions to show.
          if (isSluiceError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return undefined;
          throw err;
        }
        return {
          ...tp,
          committedOffset: c,
          highWatermark: bounds.highWatermark,
          logStartOffset: bounds.logStartOffset,
          lag: c === null ? null : Math.max(0, bounds.highWatermark - c),
        };
      },
    );
    const offsets = described.filter((o) => o !== undefined);
    if (kafka.length > 0) {
      const classic = meta.classic!;
      return {
        group,
        state: sluiceStateName(classic),
        generation: meta.generation,
        assignor: classic.protocolName ?? '',
        protocol: 'kafka',
        members: kafka
          .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
          .map((m) => {
            const assignment = classic.state === 'Stable' ? assignedPartitions(m) : [];
            return {
              memberId: m.memberId,
              topics: subscribedTopics(classic, m),
              assignment,
              targetAssignment: assignment,
              lastHeartbeat: m.sessionDeadline - m.sessionTimeoutMs,
              sessionTimeoutMs: m.sessionTimeoutMs,
              clientId: m.clientId,
              clientHost: m.clientHost,
              groupInstanceId: m.groupInstanceId,
            };
          }),
        offsets,
      };
    }
    return {
      group,
      state: stateName(meta),
      generation: meta.generation,
      assignor: meta.assignor,
      protocol: 'sluice',
      members: [...meta.members.values()]
        .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
        .map((m) => ({
          memberId: m.memberId,
          topics: [...m.topics],
          assignment: toTopicPartitions(m.assigned.keys()),
          targetAssignment: toTopicPartitions(m.target),
          lastHeartbeat: m.sessionDeadline - m.sessionTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
        })),
      offsets,
    };
  }

  /** Deletes an empty group and its committed offsets. NON_EMPTY_GROUP while it has members. */
  async deleteGroup(group: string): Promise<void> {
    validateGroupName(group);
    const generation = await this.update(group, (meta, now, change) => {
      if (!exists(meta)) return { error: groupNotFound(group) };
      const members = meta.members.size + liveClassicMembers(meta.classic, now).length;
      if (members > 0) return { error: nonEmpty(group, members) };
      // A tombstone, not a delete: the generation must keep growing so that old claims stay older.
      meta.deleted = true;
      meta.classic = null;
      meta.partitionCounts.clear();
      change.markChanged();
      return { result: meta.generation };
    });
    const items = await this.store.listOffsets(group);
    // Conditional on the claim: an offset a revived group's member already claimed is not deleted.
    await this.mapLimit(items, (i) => this.store.deleteOffset(group, i, generation));
    await this.store.unregisterGroup(group, generation);
  }

  /**
   * Sets the committed offset of every partition of a topic, for a group with no members (one that does
   * not exist is created empty, as Kafka's reset tool does). An offset is clamped into the log's bounds.
   */
  async resetOffsets(group: string, request: ResetOffsetsRequest): Promise<ResetOffsetsResult> {
    validateGroupName(group);
    const r = validateObject('request', request);
    const topic = validateTopicName(r.topic, 'topic');
    const to = validateResetTarget('to', r.to);
    const count = await this.topics.partitionCount(topic);
    const topicId = await this.topics.topicId(topic, true);
    const generation = await this.update(group, (meta, now, change) => {
      const members = meta.members.size + liveClassicMembers(meta.classic, now).length;
      if (exists(meta) && members > 0) return { error: nonEmpty(group, members) };
      if (!exists(meta)) {
        // Created (or revived) empty to hold the offsets; the bump puts it past any old tombstone.
        meta.deleted = false;
        change.requestBump();
        change.applyBump(meta, now);
      }
      return { result: meta.generation };
    });
    const partitions = Array.from({ length: count }, (_, partition) => partition);
    const offsets = await this.mapLimit(partitions, async (partition) => {
      let offset: number;
      if (typeof to === 'object' && 'offset' in to) {
        const b = await this.topics.partitionBounds(topic, partition);
        offset = Math.min(Math.max(to.offset, b.logStartOffset), b.highWatermark);
      } else {
        offset = await this.topics.offsetFor(topic, partition, to);
      }
      return { topic, partition, offset };
    });
    const now = this.now();
    const written = await this.mapLimit(offsets, async (o) => ({
      o,
      ok: await this.store.resetOffset(group, o, { offset: o.offset, topicId, generation, committedAt: now }),
    }));
    const refused = written.filter((w) => !w.ok).map((w) => ({ topic: w.o.topic, partition: w.o.partition }));
    if (refused.length > 0) {
      throw new SluiceError('NON_EMPTY_GROUP', `group ${group} gained a member during the reset`, {
        details: { refused, reset: written.filter((w) => w.ok).map((w) => w.o) },
      });
    }
    return { offsets };
  }

  private needsMaintenance(meta: GroupMeta, now: number): boolean {
    if (meta.deleted || now - meta.metadataCheckedAt > this.metadataRefreshMs) return true;
    for (const m of meta.members.values()) {
      if (m.sessionDeadline < now || (m.revokeDeadline !== null && m.revokeDeadline < now)) return true;
    }
    return false;
  }

  /** Re-reads the partition counts of the subscribed topics; true if any changed. A deleted topic has none. */
  private async refreshPartitionCounts(meta: GroupMeta): Promise<boolean> {
    const topics = [...new Set([...meta.members.values()].flatMap((m) => m.topics))];
    const counts = await this.mapLimit(topics, async (topic) => {
      try {
        return [topic, await this.topics.partitionCount(topic)] as const;
      } catch (err) {
        if (isSluiceError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) return [topic, 0] as const;
        throw err;
      }
    });
    let changed = false;
    for (const [topic, count] of counts) {
      if ((meta.partitionCounts.get(topic) ?? 0) !== count) {
        meta.partitionCounts.set(topic, count);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * One read-modify-write of the meta item, retried while another write wins. Each attempt first expels
   * members whose session or rebalance timeout has passed (whoever notices first does it) and refreshes
   * stale topic metadata, then applies the mutation; after the write it claims the granted partitions,
   * so a member is told of a partition only once its fence is in place.
   */
  private async update<T>(group: string, mutate: Mutation<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.getMeta(group);
      const meta = stored ?? emptyMeta(group);
      const expectedVersion = meta.version;
      const wasLive = exists(meta);
      const now = this.now();
      const change = new Change();
      if (!meta.deleted && meta.members.size > 0) {
        if (expireMembers(meta, now).length > 0) change.requestBump();
        if (meta.members.size > 0 && now - meta.metadataCheckedAt > this.metadataRefreshMs) {
          if (await this.refreshPartitionCounts(meta)) change.requestBump();
          meta.metadataCheckedAt = now;
          change.markChanged();
        }
        change.applyBump(meta, now);
      }
      const decision = mutate(meta, now, change);
      change.applyBump(meta, now);
      if (change.changed) {
        if (!wasLive && !meta.deleted) await this.store.registerGroup(group, meta.generation);
        refreshSteadyKeys(meta);
        if (!(await this.store.putMeta(meta, expectedVersion))) {
          if (attempt >= this.maxAttempts) {
            throw new SluiceError(
              'CONCURRENT_UPDATE',
              `group ${group} changed under ${attempt} attempts to update it in a row; retry with backoff`,
            );
          }
          await sleep(Math.random() * Math.min(100, 2 ** attempt));
          continue;
        }
      }
      if (decision.claims !== undefined && decision.claims.keys.length > 0) {
        const { memberId, keys } = decision.claims;
        await this.mapLimit(keys, ([key, generation]) =>
          this.store.claimPartition(group, parsePartitionKey(key), memberId, generation),
        );
      }
      if (decision.error !== undefined) throw decision.error;
      return decision.result as T;
    }
  }

  private mapLimit<A, B>(items: readonly A[], fn: (item: A) => Promise<B>): Promise<B[]> {
    return mapLimit(items, this.concurrency, fn);
  }
}

function exists(meta: GroupMeta): boolean {
  return meta.version > 0 && !meta.deleted;
}

function heartbeatInterval(member: MemberRecord): number {
  return Math.floor(member.sessionTimeoutMs / 3);
}

function claimsFor(member: MemberRecord, keys: readonly PartitionKey[]): Decision<unknown>['claims'] {
  return { memberId: member.memberId, keys: keys.map((k) => [k, member.assigned.get(k)!] as const) };
}

function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition;
}

function unknownMember(group: string, memberId: string): SluiceError {
  return new SluiceError('UNKNOWN_MEMBER_ID', `member ${memberId} is not in group ${group}; join again`, {
    details: { memberId },
  });
}

function kafkaGroup(group: string, members: number): SluiceError {
  return new SluiceError(
    'INCONSISTENT_GROUP_PROTOCOL',
    `group ${group} has ${members} Kafka client member(s); a group has members of one kind at a time (Kafka clients or Sluice consumers): use another group name, or wait until they leave`,
    { details: { group, kafkaMembers: members } },
  );
}

function groupNotFound(group: string): SluiceError {
  return new SluiceError('GROUP_ID_NOT_FOUND', `group ${group} does not exist`, { details: { group } });
}

function nonEmpty(group: string, members: number): SluiceError {
  return new SluiceError('NON_EMPTY_GROUP', `group ${group} still has ${members} member(s)`, {
    details: { group, members },
  });
}

function fenced(
  reason: FencedReason,
  why: string,
  partitions: TopicPartition[],
  committed: TopicPartition[],
): SluiceError {
  return new SluiceError('FENCED', `${why}; nothing was committed for the partitions listed`, {
    details: { reason, fenced: partitions, committed },
  });
}
