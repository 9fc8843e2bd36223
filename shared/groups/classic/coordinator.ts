import { randomUUID } from 'node:crypto';
import { isSluiceError } from '../../errors';
import { currentOffsets } from '../current-offsets';
import { emptyMeta, stateName } from '../group-state';
import { keyOf, parsePartitionKey, partitionKey } from '../partitions';
import type { GroupMeta, GroupStore } from '../store';
import type { TopicMetadataSource, TopicPartition } from '../types';
import { GROUP_LIMITS } from '../types';
import { encodeAssignment, encodeSubscription } from './consumer-protocol';
import {
  assignedPartitions,
  canCompleteJoin,
  classicNeedsMaintenance,
  completeJoin,
  emptyClassic,
  expireClassic,
  liveClassicMembers,
  partitionOwners,
  prepareRebalance,
  type RebalanceOptions,
  removeMembers,
  sameProtocols,
  subscribedTopics,
  supportsProtocols,
} from './state';
import {
  CLASSIC_LIMITS,
  type ClassicErrorName,
  type ClassicGroupState,
  type ClassicMember,
  type DescribedGroup,
  type FetchedOffset,
  type JoinGroupRequest,
  type JoinGroupResult,
  type LeaveGroupResult,
  type ListedGroup,
  type MemberRef,
  type OffsetCommitRequest,
  type PartitionResult,
  type SyncGroupRequest,
  type SyncGroupResult,
} from './types';

export interface ClassicCoordinatorOptions {
  /** Kafka's group.initial.rebalance.delay.ms. @default 3000 */
  readonly initialRebalanceDelayMs?: number;
  /** How often a waiting JoinGroup or SyncGroup re-reads the group item. @default 200 ms */
  readonly pollIntervalMs?: number;
  /** Read-modify-write attempts on the meta item before answering COORDINATOR_NOT_AVAILABLE. @default 50 */
  readonly maxAttempts?: number;
  /** @default CLASSIC_LIMITS.maxMembers (500) */
  readonly maxMembers?: number;
}

export interface ClassicCoordinatorProps {
  readonly store: GroupStore;
  readonly topics: TopicMetadataSource;
  readonly now?: () => number;
  readonly options?: ClassicCoordinatorOptions;
}

/** What one attempt of a read-modify-write decided: the answer, and whether the item must be written. */
interface Step<T> {
  readonly result: T;
  readonly write: boolean;
}

const GROUP_ID = /^[a-zA-Z0-9._-]+$/;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Kafka's classic group coordinator over the groups table, for Kafka clients. Stateless: a group's
 * whole state is its meta item, changed by conditional writes (read-modify-write on its version), so
 * members connected to different listeners, or to a restarted one, see one group. A JoinGroup or a
 * follower's SyncGroup waits by re-reading the item (bounded by the rebalance timeout), woken at once
 * when this process writes the group.
 *
 * Offsets are the Sluice group service's offset items with their fences: a Kafka member's commit holds
 * only while the partition's claim is its own, and the claim moves to a partition's new owner (decoded
 * from the leader's "consumer" protocol assignment) before that owner learns of it. So one member owns
 * a partition per generation, and a commit from a stale generation never moves an offset.
 *
 * A group has one kind of member at a time: Kafka members (classic protocol) or Sluice SDK members
 * (server-assigned). A Kafka JoinGroup to a group with live SDK members is refused with
 * INCONSISTENT_GROUP_PROTOCOL, and the SDK's join to a group with live Kafka members with a SluiceError
 * of that code; committed offsets are shared whichever door wrote them.
 */
export class ClassicGroupCoordinator {
  private readonly store: GroupStore;
  private readonly topics: TopicMetadataSource;
  private readonly now: () => number;
  private readonly rebalance: RebalanceOptions;
  private readonly pollIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly maxMembers: number;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(props: ClassicCoordinatorProps) {
    this.store = props.store;
    this.topics = props.topics;
    this.now = props.now ?? Date.now;
    this.rebalance = { initialRebalanceDelayMs: props.options?.initialRebalanceDelayMs ?? 3000 };
    this.pollIntervalMs = props.options?.pollIntervalMs ?? 200;
    this.maxAttempts = props.options?.maxAttempts ?? 50;
    this.maxMembers = props.options?.maxMembers ?? CLASSIC_LIMITS.maxMembers;
  }

  // ---- membership ---------------------------------------------------------------------------

  async joinGroup(req: JoinGroupRequest, signal?: AbortSignal): Promise<JoinGroupResult> {
    const fail = (error: ClassicErrorName, memberId = req.memberId): JoinGroupResult => ({
      error,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      memberId,
      members: [],
    });
    if (!validGroupId(req.groupId)) return fail('INVALID_GROUP_ID');
    if (
      req.sessionTimeoutMs < CLASSIC_LIMITS.minSessionTimeoutMs ||
      req.sessionTimeoutMs > CLASSIC_LIMITS.maxSessionTimeoutMs
    ) {
      return fail('INVALID_SESSION_TIMEOUT');
    }
    if (req.protocolType === '' || req.protocols.length === 0) return fail('INCONSISTENT_GROUP_PROTOCOL');
    const rebalanceTimeoutMs = Math.min(
      req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      CLASSIC_LIMITS.maxRebalanceTimeoutMs,
    );
    const group = req.groupId;

    type First = { done: JoinGroupResult } | { wait: string };
    const first = await this.update<First>(group, (meta, now) => {
      let write = false;
      if (meta.version === 0 || meta.deleted) {
        // New, or revived from a tombstone: the generation keeps growing from where it was.
        meta.deleted = false;
        meta.classic = null;
        write = true;
      }
      if (meta.members.size > 0) {
        if ([...meta.members.values()].some((m) => m.sessionDeadline >= now)) {
          return { result: { done: fail('INCONSISTENT_GROUP_PROTOCOL') }, write };
        }
        // Sluice members whose sessions all ended: gone. The next generation fences their claims.
        meta.members.clear();
        write = true;
      }
      if (meta.classic === null) {
        meta.classic = emptyClassic();
        write = true;
      }
      const c = meta.classic;
      const known = req.memberId === '' ? undefined : req.memberId;
      if (!supportsProtocols(c, req.protocolType, req.protocols, known)) {
        return { result: { done: fail('INCONSISTENT_GROUP_PROTOCOL') }, write };
      }
      const fields = {
        groupInstanceId: req.groupInstanceId,
        clientId: req.clientId.slice(0, CLASSIC_LIMITS.maxClientIdLength),
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      };
      const addMember = (memberId: string, joinedAt: number): ClassicMember => {
        const m: ClassicMember = {
          memberId,
          ...fields,
          joined: true,
          synced: false,
          assignment: null,
          sessionDeadline: now + req.sessionTimeoutMs,
          joinedAt,
        };
        c.members.set(memberId, m);
        if (c.members.size === 1) c.protocolType = req.protocolType;
        return m;
      };
      const startRebalance = (m: ClassicMember) => {
        prepareRebalance(c, now, this.rebalance);
        m.joined = true;
        return { result: { wait: m.memberId }, write: true };
      };
      const full = () => c.members.size + c.pending.size >= this.maxMembers;

      if (known === undefined) {
        if (req.groupInstanceId !== null) {
          // Static membership: the instance keeps its place; a new member id fences its last incarnation.
          const previous = [...c.members.values()].find((m) => m.groupInstanceId === req.groupInstanceId);
          if (previous === undefined && full())
            return { result: { done: fail('GROUP_MAX_SIZE_REACHED') }, write };
          const memberId = newMemberId(req.groupInstanceId);
          if (previous !== undefined) {
            c.members.delete(previous.memberId);
            if (c.leader === previous.memberId) c.leader = memberId;
          }
          // Unlike Kafka, a replaced static member always rebalances: its partitions' fences name the old
          // member id, and only a new generation moves them.
          return startRebalance(addMember(memberId, previous?.joinedAt ?? now));
        }
        if (full()) return { result: { done: fail('GROUP_MAX_SIZE_REACHED') }, write };
        const memberId = newMemberId(req.clientId);
        if (req.requireKnownMemberId) {
          c.pending.set(memberId, now + req.sessionTimeoutMs);
          return { result: { done: fail('MEMBER_ID_REQUIRED', memberId) }, write: true };
        }
        return startRebalance(addMember(memberId, now));
      }

      if (c.pending.has(known)) {
        c.pending.delete(known);
        return startRebalance(addMember(known, now));
      }
      const member = c.members.get(known);
      if (member === undefined) {
        const fenced = req.groupInstanceId !== null && instanceOwner(c, req.groupInstanceId) !== undefined;
        return { result: { done: fail(fenced ? 'FENCED_INSTANCE_ID' : 'UNKNOWN_MEMBER_ID') }, write };
      }
      if (req.groupInstanceId !== null && member.groupInstanceId !== req.groupInstanceId) {
        return { result: { done: fail('FENCED_INSTANCE_ID') }, write };
      }
      const unchanged = sameProtocols(member.protocols, fields.protocols);
      Object.assign(member, fields);
      member.sessionDeadline = Math.max(member.sessionDeadline, now + member.sessionTimeoutMs);
      switch (c.state) {
        case 'PreparingRebalance':
          member.joined = true;
          return { result: { wait: known }, write: true };
        case 'CompletingRebalance':
          if (unchanged) return { result: { done: joinAnswer(meta, member) }, write: true };
          return startRebalance(member);
        case 'Stable':
          if (unchanged && c.leader !== known)
            return { result: { done: joinAnswer(meta, member) }, write: true };
          return startRebalance(member);
        default:
          return { result: { done: fail('UNKNOWN_MEMBER_ID') }, write };
      }
    });
    if ('done' in first) return first.done;

    // Wait for the join phase to end: every member rejoined, or the rebalance timeout passed.
    const memberId = first.wait;
    const deadline = this.now() + rebalanceTimeoutMs + 5_000;
    for (;;) {
      const step = await this.update<JoinGroupResult | number>(group, (meta, now) => {
        const c = meta.classic;
        const m = c?.members.get(memberId);
        if (c === null || m === undefined || meta.deleted)
          return { result: fail('UNKNOWN_MEMBER_ID'), write: false };
        if (c.state === 'PreparingRebalance') {
          let write = false;
          if (!m.joined) {
            // A rebalance began after the one this join was in, before we saw it end: rejoin at once.
            m.joined = true;
            write = true;
          }
          if (!canCompleteJoin(c, now)) {
            const until = Math.min(
              c.rebalanceDeadline ?? now,
              c.initialDelayUntil ?? Number.POSITIVE_INFINITY,
            );
            return { result: Math.max(1, until - now), write };
          }
          completeJoin(meta, now);
          return { result: joinAnswer(meta, c.members.get(memberId)!), write: true };
        }
        return { result: joinAnswer(meta, m), write: false };
      });
      if (typeof step !== 'number') return step;
      if (signal?.aborted || this.now() > deadline) return fail('REBALANCE_IN_PROGRESS', memberId);
      await this.waitForChange(group, Math.min(step, this.pollIntervalMs), signal);
    }
  }

  async syncGroup(req: SyncGroupRequest, signal?: AbortSignal): Promise<SyncGroupResult> {
    const fail = (error: ClassicErrorName): SyncGroupResult => ({
      error,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    });
    if (!validGroupId(req.groupId)) return fail('INVALID_GROUP_ID');
    const group = req.groupId;
    const answer = (meta: GroupMeta, m: ClassicMember): SyncGroupResult => ({
      error: 'NONE',
      protocolType: meta.classic!.protocolType,
      protocolName: meta.classic!.protocolName,
      assignment: m.assignment ?? Buffer.alloc(0),
    });

    let first = true;
    let waitedSince = this.now();
    for (;;) {
      const step = await this.update<SyncGroupResult | 'wait'>(group, (meta, now) => {
        const c = meta.classic;
        const checked = checkMember(meta, req);
        if (checked.error !== 'NONE') return { result: fail(checked.error), write: false };
        const m = checked.member!;
        if (
          (req.protocolType !== null && req.protocolType !== c!.protocolType) ||
          (req.protocolName !== null && req.protocolName !== c!.protocolName)
        ) {
          return { result: fail('INCONSISTENT_GROUP_PROTOCOL'), write: false };
        }
        switch (c!.state) {
          case 'PreparingRebalance':
            return { result: fail('REBALANCE_IN_PROGRESS'), write: false };
          case 'Stable':
            return { result: answer(meta, m), write: false };
          case 'CompletingRebalance': {
            let write = false;
            if (!m.synced) {
              m.synced = true;
              m.sessionDeadline = now + m.sessionTimeoutMs;
              write = true;
            }
            if (m.memberId !== c!.leader) return { result: 'wait', write };
            const assignments = new Map(req.assignments.map((a) => [a.memberId, Buffer.from(a.assignment)]));
            for (const member of c!.members.values())
              member.assignment = assignments.get(member.memberId) ?? Buffer.alloc(0);
            if (hasOverlap(c!)) {
              // The fences rest on one owner per partition per generation; an assignor that breaks it
              // is refused, and the group rebalances.
              for (const member of c!.members.values()) member.assignment = null;
              prepareRebalance(c!, now, this.rebalance);
              return { result: fail('INVALID_REQUEST'), write: true };
            }
            c!.state = 'Stable';
            c!.syncDeadline = null;
            return { result: answer(meta, m), write: true };
          }
          default:
            return { result: fail('UNKNOWN_MEMBER_ID'), write: false };
        }
      });
      if (step !== 'wait') {
        if (step.error === 'NONE') await this.claimOwn(group, req.memberId, req.generationId);
        return step;
      }
      if (first) {
        first = false;
        waitedSince = this.now();
      }
      if (signal?.aborted || this.now() - waitedSince > CLASSIC_LIMITS.maxRebalanceTimeoutMs) {
        return fail('REBALANCE_IN_PROGRESS');
      }
      await this.waitForChange(group, this.pollIntervalMs, signal);
    }
  }

  async heartbeat(req: MemberRef): Promise<ClassicErrorName> {
    if (!validGroupId(req.groupId)) return 'INVALID_GROUP_ID';
    const now = this.now();
    const touched = await this.store.touchClassicMember(req.groupId, req.memberId, {
      generation: req.generationId,
      now,
    });
    const steady = touched?.classic?.members.get(req.memberId);
    if (
      touched !== undefined &&
      steady !== undefined &&
      (req.groupInstanceId === null || steady.groupInstanceId === req.groupInstanceId) &&
      !classicNeedsMaintenance(touched, now)
    ) {
      return 'NONE';
    }
    return this.update<ClassicErrorName>(req.groupId, (meta, now) => {
      const checked = checkMember(meta, req);
      if (checked.error !== 'NONE') return { result: checked.error, write: false };
      const m = checked.member!;
      m.sessionDeadline = now + m.sessionTimeoutMs;
      const state = meta.classic!.state;
      return { result: state === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : 'NONE', write: true };
    });
  }

  /** LeaveGroup: v0–v2 name one member id; v3+ a batch of member ids and/or group instance ids. */
  async leaveGroup(
    groupId: string,
    members: readonly { memberId: string; groupInstanceId: string | null }[],
  ): Promise<LeaveGroupResult> {
    if (!validGroupId(groupId)) return { error: 'INVALID_GROUP_ID', members: [] };
    return this.update<LeaveGroupResult>(groupId, (meta, now) => {
      const c = meta.classic;
      const results: LeaveGroupResult['members'] = [];
      const leaving: string[] = [];
      for (const who of members) {
        let error: ClassicErrorName = 'NONE';
        let id = who.memberId;
        if (c === null || meta.deleted) error = 'UNKNOWN_MEMBER_ID';
        else if (who.groupInstanceId !== null) {
          const owner = instanceOwner(c, who.groupInstanceId);
          if (owner === undefined) error = 'UNKNOWN_MEMBER_ID';
          else if (who.memberId !== '' && owner !== who.memberId) error = 'FENCED_INSTANCE_ID';
          else id = owner;
        } else if (!c.members.has(id) && !c.pending.has(id)) error = 'UNKNOWN_MEMBER_ID';
        if (error === 'NONE') leaving.push(id);
        results.push({ memberId: who.memberId, groupInstanceId: who.groupInstanceId, error });
      }
      if (leaving.length > 0) removeMembers(meta, leaving, now, this.rebalance);
      return { result: { error: 'NONE', members: results }, write: leaving.length > 0 };
    });
  }

  // ---- offsets ------------------------------------------------------------------------------

  /**
   * OffsetCommit. A member's commit holds for partitions it owns at its generation (and for ones it
   * still holds the claim of while giving them up in a cooperative rebalance); a consumer outside group
   * management (generation -1) may commit only while the group has no members, as in Kafka.
   */
  async commitOffsets(req: OffsetCommitRequest): Promise<PartitionResult[]> {
    const all = (error: ClassicErrorName) =>
      req.partitions.map((p) => ({ topic: p.topic, partition: p.partition, error }));
    if (!validGroupId(req.groupId)) return all('INVALID_GROUP_ID');
    const group = req.groupId;
    const errors = new Map<string, ClassicErrorName>();
    const counts = new Map<string, number | null>();
    // Offsets are stamped with their topic's id, so that they do not outlive it (current-offsets.ts).
    const ids = new Map<string, string>();
    for (const topic of new Set(req.partitions.map((p) => p.topic))) {
      try {
        counts.set(topic, await this.topics.partitionCount(topic));
        ids.set(topic, await this.topics.topicId(topic));
      } catch (err) {
        if (!isSluiceError(err, 'UNKNOWN_TOPIC_OR_PARTITION') && !isSluiceError(err, 'INVALID_TOPIC'))
          throw err;
        counts.set(topic, null);
      }
    }
    for (const p of req.partitions) {
      const count = counts.get(p.topic) ?? null;
      const key = partitionKey(p.topic, p.partition);
      if (count === null || p.partition < 0 || p.partition >= count)
        errors.set(key, 'UNKNOWN_TOPIC_OR_PARTITION');
      else if (p.metadata !== null && Buffer.byteLength(p.metadata) > CLASSIC_LIMITS.maxMetadataBytes)
        errors.set(key, 'OFFSET_METADATA_TOO_LARGE');
      else if (!Number.isSafeInteger(p.offset) || p.offset < 0) errors.set(key, 'INVALID_REQUEST');
    }
    const valid = req.partitions.filter((p) => !errors.has(partitionKey(p.topic, p.partition)));
    const now = this.now();
    const meta = await this.store.getMeta(group);
    const live = meta !== undefined && !meta.deleted ? liveClassicMembers(meta.classic, now) : [];
    const sluiceLive =
      meta !== undefined && !meta.deleted
        ? [...meta.members.values()].filter((m) => m.sessionDeadline >= now)
        : [];

    if (req.generationId < 0 && live.length === 0 && sluiceLive.length === 0) {
      // Offsets only (the consumer assigns its partitions itself): fenced against any member that
      // joins meanwhile by the claim condition (no claim newer than the group's generation).
      const generation = await this.ensureGroup(group);
      await Promise.all(
        valid.map(async (p) => {
          const ok = await this.store.resetOffset(group, p, {
            offset: p.offset,
            topicId: ids.get(p.topic)!,
            generation,
            committedAt: now,
            metadata: p.metadata,
          });
          if (!ok) errors.set(partitionKey(p.topic, p.partition), 'UNKNOWN_MEMBER_ID');
        }),
      );
      return results(req, errors);
    }

    const checked =
      meta === undefined
        ? { error: 'UNKNOWN_MEMBER_ID' as const, member: undefined }
        : checkMember(meta, req);
    let groupError: ClassicErrorName = checked.error;
    if (groupError === 'NONE' && meta!.classic!.state === 'CompletingRebalance')
      groupError = 'REBALANCE_IN_PROGRESS';
    if (groupError !== 'NONE') {
      for (const p of valid) errors.set(partitionKey(p.topic, p.partition), groupError);
      return results(req, errors);
    }
    const c = meta!.classic!;
    const generation = meta!.generation;
    const memberId = req.memberId;
    const owners = partitionOwners(c);
    await Promise.all(
      valid.map(async (p) => {
        const key = partitionKey(p.topic, p.partition);
        const tp = { topic: p.topic, partition: p.partition };
        const write = (claimGeneration: number) =>
          this.store.commitOffset(group, tp, {
            owner: memberId,
            claimGeneration,
            offset: p.offset,
            topicId: ids.get(p.topic)!,
            metadata: p.metadata,
            committedAt: now,
          });
        let ok = false;
        const owner = owners?.get(key);
        if (owners === null || owner === memberId) {
          // Ours at this generation: the claim is normally in place (written before we were told);
          // if not yet, claim it (holds unless a later generation claimed it) and commit.
          ok =
            (await write(generation)) ||
            ((await this.store.claimPartition(group, tp, memberId, generation)) && (await write(generation)));
        } else if (owner === undefined) {
          // Owned by no one at this generation: a cooperative member giving it up may still commit
          // while the claim is its own.
          const item = await this.store.getOffset(group, tp);
          if (
            item?.owner === memberId &&
            item.claimGeneration !== null &&
            item.claimGeneration <= generation
          ) {
            ok = await write(item.claimGeneration);
          }
        }
        if (!ok) errors.set(key, 'ILLEGAL_GENERATION');
      }),
    );
    return results(req, errors);
  }

  /** OffsetFetch: committed offsets (-1 where none); `partitions` null asks for every committed one. */
  async fetchOffsets(
    groupId: string,
    partitions: readonly TopicPartition[] | null,
  ): Promise<FetchedOffset[]> {
    if (!validGroupId(groupId)) {
      return (partitions ?? []).map((p) => ({ ...p, offset: -1, metadata: null, error: 'INVALID_GROUP_ID' }));
    }
    const topics = partitions === null ? [undefined] : [...new Set(partitions.map((p) => p.topic))];
    const items = (await Promise.all(topics.map((t) => this.store.listOffsets(groupId, t)))).flat();
    // A deleted topic's offsets, and those of an earlier topic of the same name, do not count.
    const committed = new Map((await currentOffsets(this.topics, items)).map((i) => [keyOf(i), i]));
    if (partitions === null) {
      return [...committed.values()]
        .map((i) => ({
          topic: i.topic,
          partition: i.partition,
          offset: i.offset,
          metadata: i.metadata,
          error: 'NONE' as const,
        }))
        .sort((a, b) => (a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition));
    }
    return partitions.map((p) => {
      const i = committed.get(keyOf(p));
      return {
        topic: p.topic,
        partition: p.partition,
        offset: i?.offset ?? -1,
        metadata: i?.metadata ?? null,
        error: 'NONE',
      };
    });
  }

  /** OffsetDelete: offsets of topics the group's members do not consume. */
  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartition[],
  ): Promise<{ error: ClassicErrorName; partitions: PartitionResult[] }> {
    if (!validGroupId(groupId)) return { error: 'INVALID_GROUP_ID', partitions: [] };
    const meta = await this.store.getMeta(groupId);
    if (meta === undefined || meta.deleted) return { error: 'GROUP_ID_NOT_FOUND', partitions: [] };
    const now = this.now();
    const subscribed = new Set<string>();
    const c = meta.classic;
    if (c !== null && c.state !== 'Empty') {
      if (c.protocolType !== 'consumer' && liveClassicMembers(c, now).length > 0) {
        return { error: 'NON_EMPTY_GROUP', partitions: [] };
      }
      for (const m of liveClassicMembers(c, now)) for (const t of subscribedTopics(c, m)) subscribed.add(t);
    }
    for (const m of meta.members.values())
      if (m.sessionDeadline >= now) for (const t of m.topics) subscribed.add(t);
    const out = await Promise.all(
      partitions.map(async (p): Promise<PartitionResult> => {
        if (subscribed.has(p.topic)) return { ...p, error: 'GROUP_SUBSCRIBED_TO_TOPIC' };
        await this.store.deleteOffset(groupId, p, meta.generation);
        return { ...p, error: 'NONE' };
      }),
    );
    return { error: 'NONE', partitions: out };
  }

  // ---- listing ------------------------------------------------------------------------------

  async listGroups(): Promise<ListedGroup[]> {
    const names = await this.store.listRegisteredGroups();
    const metas = await Promise.all(names.map((n) => this.store.getMeta(n)));
    const now = this.now();
    const listed: ListedGroup[] = [];
    for (const meta of metas) {
      if (meta === undefined || meta.deleted) continue;
      listed.push(this.overview(meta, now));
    }
    return listed.sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribedGroup[]> {
    return Promise.all(
      groupIds.map(async (groupId): Promise<DescribedGroup> => {
        const dead = (error: ClassicErrorName): DescribedGroup => ({
          error,
          groupId,
          state: 'Dead',
          protocolType: '',
          protocolData: '',
          members: [],
        });
        if (!validGroupId(groupId)) return dead('INVALID_GROUP_ID');
        const meta = await this.store.getMeta(groupId);
        if (meta === undefined || meta.deleted) return dead('NONE');
        const now = this.now();
        const c = meta.classic;
        if (c !== null && liveClassicMembers(c, now).length > 0) {
          return {
            error: 'NONE',
            groupId,
            state: c.state,
            protocolType: c.protocolType ?? '',
            protocolData: c.protocolName ?? '',
            members: liveClassicMembers(c, now).map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              metadata: m.protocols.find((p) => p.name === c.protocolName)?.metadata ?? Buffer.alloc(0),
              assignment: c.state === 'Stable' ? (m.assignment ?? Buffer.alloc(0)) : Buffer.alloc(0),
            })),
          };
        }
        // A Sluice SDK group, shown to Kafka tools in the consumer protocol's terms.
        const members = [...meta.members.values()].filter((m) => m.sessionDeadline >= now);
        const o = this.overview(meta, now);
        return {
          error: 'NONE',
          groupId,
          state: o.state,
          protocolType: o.protocolType,
          protocolData: members.length > 0 ? meta.assignor : '',
          members: members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: null,
            clientId: '',
            clientHost: '',
            metadata: encodeSubscription(m.topics),
            assignment: encodeAssignment([...m.assigned.keys()].map(parsePartitionKey)),
          })),
        };
      }),
    );
  }

  private overview(meta: GroupMeta, now: number): ListedGroup {
    const c = meta.classic;
    if (c !== null && liveClassicMembers(c, now).length > 0) {
      return { groupId: meta.group, protocolType: c.protocolType ?? '', state: c.state, type: 'classic' };
    }
    const sluice = [...meta.members.values()].filter((m) => m.sessionDeadline >= now);
    if (sluice.length > 0) {
      const live = { ...meta, members: new Map(sluice.map((m) => [m.memberId, m])) };
      return { groupId: meta.group, protocolType: 'consumer', state: stateName(live), type: 'consumer' };
    }
    // Offsets only: Kafka lists such a group as Empty with the protocol type it last had.
    return { groupId: meta.group, protocolType: c?.protocolType ?? '', state: 'Empty', type: 'classic' };
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The group's generation, creating its meta item (Empty) if it has none, as a commit does in Kafka. */
  private async ensureGroup(group: string): Promise<number> {
    return this.update<number>(group, (meta) => {
      if (meta.version > 0 && !meta.deleted) return { result: meta.generation, write: false };
      meta.deleted = false;
      meta.classic = emptyClassic();
      return { result: meta.generation, write: true };
    });
  }

  /** Claims the member's partitions of its assignment at `generation`, before it is told of them. */
  private async claimOwn(group: string, memberId: string, generation: number): Promise<void> {
    const meta = await this.store.getMeta(group);
    const m = meta?.classic?.members.get(memberId);
    if (meta === undefined || m === undefined || meta.generation !== generation) return;
    if (meta.classic!.protocolType !== 'consumer') return;
    const parts = assignedPartitions(m);
    const limit = 16;
    for (let i = 0; i < parts.length; i += limit) {
      await Promise.all(
        parts.slice(i, i + limit).map((tp) => this.store.claimPartition(group, tp, memberId, generation)),
      );
    }
  }

  /**
   * One read-modify-write of the meta item, retried while another write wins. Each attempt first
   * applies the classic deadlines that have passed, then the step; the item is written if either changed
   * it, and this process's waiters on the group are woken.
   */
  private async update<T>(group: string, step: (meta: GroupMeta, now: number) => Step<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.getMeta(group);
      const meta = stored ?? emptyMeta(group);
      const expectedVersion = meta.version;
      const wasLive = meta.version > 0 && !meta.deleted;
      const now = this.now();
      const expired = expireClassic(meta, now, this.rebalance);
      const out = step(meta, now);
      if (!expired && !out.write) return out.result;
      if (!wasLive && !meta.deleted) await this.store.registerGroup(group, meta.generation);
      if (await this.store.putMeta(meta, expectedVersion)) {
        this.notify(group);
        return out.result;
      }
      if (attempt >= this.maxAttempts) {
        throw new GroupBusyError(`group ${group} changed under ${attempt} attempts to update it in a row`);
      }
      await sleep(Math.random() * Math.min(100, 2 ** attempt));
    }
  }

  private notify(group: string): void {
    const set = this.waiters.get(group);
    if (set === undefined) return;
    this.waiters.delete(group);
    for (const wake of set) wake();
  }

  private waitForChange(group: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(group);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(group, set);
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.get(group)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}

/** Too many concurrent writers on one group item: the API answers COORDINATOR_NOT_AVAILABLE (retriable). */
export class GroupBusyError extends Error {}

/** Sluice's group names: `[a-zA-Z0-9._-]{1,249}` (Kafka allows more; these names are also URL segments). */
export function validGroupId(groupId: string): boolean {
  return groupId.length > 0 && groupId.length <= GROUP_LIMITS.maxGroupNameLength && GROUP_ID.test(groupId);
}

/** Kafka's member ids are `<client id>-<UUID>`; here restricted to the characters Sluice ids allow. */
function newMemberId(prefix: string): string {
  const clean = prefix.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 100);
  return `${clean === '' ? 'member' : clean}-${randomUUID()}`;
}

function instanceOwner(c: ClassicGroupState, groupInstanceId: string): string | undefined {
  return [...c.members.values()].find((m) => m.groupInstanceId === groupInstanceId)?.memberId;
}

/** Kafka's member checks, in its order: membership (and static identity), then generation. */
function checkMember(
  meta: GroupMeta,
  req: { memberId: string; groupInstanceId: string | null; generationId: number },
): { error: ClassicErrorName; member?: ClassicMember } {
  const c = meta.classic;
  if (c === null || meta.deleted || c.state === 'Empty') return { error: 'UNKNOWN_MEMBER_ID' };
  const m = c.members.get(req.memberId);
  if (req.groupInstanceId !== null) {
    const owner = instanceOwner(c, req.groupInstanceId);
    if (owner !== undefined && owner !== req.memberId) return { error: 'FENCED_INSTANCE_ID' };
  }
  if (m === undefined) return { error: 'UNKNOWN_MEMBER_ID' };
  if (req.groupInstanceId !== null && m.groupInstanceId !== req.groupInstanceId) {
    return { error: 'FENCED_INSTANCE_ID' };
  }
  if (req.generationId !== meta.generation) return { error: 'ILLEGAL_GENERATION' };
  return { error: 'NONE', member: m };
}

function joinAnswer(meta: GroupMeta, m: ClassicMember): JoinGroupResult {
  const c = meta.classic!;
  const leader = c.leader ?? '';
  return {
    error: 'NONE',
    generationId: meta.generation,
    protocolType: c.protocolType,
    protocolName: c.protocolName,
    leader,
    memberId: m.memberId,
    members:
      m.memberId === leader
        ? [...c.members.values()]
            .sort((a, b) => a.joinedAt - b.joinedAt)
            .map((x) => ({
              memberId: x.memberId,
              groupInstanceId: x.groupInstanceId,
              metadata: x.protocols.find((p) => p.name === c.protocolName)?.metadata ?? Buffer.alloc(0),
            }))
        : [],
  };
}

function hasOverlap(c: ClassicGroupState): boolean {
  if (c.protocolType !== 'consumer') return false;
  const seen = new Set<string>();
  for (const m of c.members.values()) {
    for (const tp of assignedPartitions(m)) {
      const k = keyOf(tp);
      if (seen.has(k)) return true;
      seen.add(k);
    }
  }
  return false;
}

function results(req: OffsetCommitRequest, errors: ReadonlyMap<string, ClassicErrorName>): PartitionResult[] {
  return req.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    error: errors.get(partitionKey(p.topic, p.partition)) ?? 'NONE',
  }));
}
