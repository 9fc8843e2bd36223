/**
 * The consumer's offsets, as KafkaJS's OffsetManager: for each partition held, the position (the next
 * offset to fetch), the processed offset (after the last record the handler finished) and the committed
 * one. New partitions start from a pending seek, else the group's committed offset, else the reset policy
 * (earliest or latest). Only processed offsets are committed (F11): a crash redelivers from the last
 * commit (F9).
 */

import { isSluiceError, SluiceError } from '../../shared/errors';
import { partitionMemoryKey } from '../../shared/model/partitions';
import { type Clock, SYSTEM_CLOCK } from '../producer/clock';
import { isRetriable } from '../retry';
import { seg, type Transport } from '../transport';
import type { TopicPartition, TopicPartitionOffset } from '../types';
import { type CommitIdentity, groupPath, membershipEnded } from './group-member';
import type { ConsumerEmitter } from './types';

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to fetch; undefined until resolved from the committed offset or reset policy. */
  position: number | undefined;
  /** Offset after the last record the handler finished; undefined when nothing was processed. */
  processed: number | undefined;
  /** The last committed offset known. */
  committed: number | undefined;
  /**
   * A staleness counter (not Kafka's leader epoch): bumped by seek, reset and a partly handled batch, so
   * data fetched for the position before is known to be stale.
   */
  positionVersion: number;
  /** The partition is leaving the assignment: data fetched for it no longer counts. */
  revoked: boolean;
  highWatermark: number | undefined;
}

/** What the offset manager needs of the consumer's group membership. */
export interface OffsetMembership {
  /** The member's id and generation; undefined while not in the group. */
  identity(): CommitIdentity | undefined;
  /** The group does not know the member any more: drop everything and join again. */
  lost(): void;
  /** Learn the assignment at once (after partitions were found to have moved). */
  heartbeat(): void;
}

export interface OffsetManagerOptions {
  readonly groupId: string | undefined;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
}

export interface TopicBounds {
  readonly partitionCount: number;
  readonly partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
}

type PartitionBounds = { logStartOffset: number; highWatermark: number };

const RESOLVE_CONCURRENCY = 16;

/** A topic's partitions with their log start offsets and high-water marks. */
export function describeTopic(transport: Transport, topic: string): Promise<TopicBounds> {
  return transport.json<TopicBounds>('GET', `/v1/topics/${seg(topic)}`);
}

export class OffsetManager {
  /** The partitions held, by partitionMemoryKey. */
  readonly partitions = new Map<string, PartitionState>();
  /** Where the reset policy starts partitions without a committed offset. */
  resetPolicy: 'earliest' | 'latest' = 'latest';
  /** Seeks on partitions not (yet) held, applied when they are. */
  private readonly pendingSeeks = new Map<string, number>();
  private lastCommitAt: number;

  constructor(
    private readonly transport: Transport,
    private readonly options: OffsetManagerOptions,
    private readonly membership: OffsetMembership,
    private readonly events: ConsumerEmitter,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.lastCommitAt = clock.now();
  }

  /** Starts holding a partition; its position is resolved by `resolvePositions`. */
  add(tp: TopicPartition): PartitionState {
    const state: PartitionState = {
      topic: tp.topic,
      partition: tp.partition,
      position: undefined,
      processed: undefined,
      committed: undefined,
      positionVersion: 0,
      revoked: false,
      highWatermark: undefined,
    };
    this.partitions.set(partitionMemoryKey(tp.topic, tp.partition), state);
    return state;
  }

  /** Sets the next offset to read, at once on a partition held, else when it is assigned. */
  seek(target: TopicPartitionOffset): void {
    const state = this.partitions.get(partitionMemoryKey(target.topic, target.partition));
    if (state && state.position !== undefined) {
      state.position = target.offset;
      state.positionVersion++;
    } else {
      this.pendingSeeks.set(partitionMemoryKey(target.topic, target.partition), target.offset);
    }
  }

  /** A seek applied when the partition is next assigned (`assign` with offsets). */
  seekWhenAssigned(target: TopicPartitionOffset): void {
    this.pendingSeeks.set(partitionMemoryKey(target.topic, target.partition), target.offset);
  }

  /** The partitions held now with their positions (-1 while unresolved), sorted. */
  assignment(): TopicPartitionOffset[] {
    return [...this.partitions.values()]
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position ?? -1 }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /** The processed offsets of these partitions (all held by default) not committed yet. */
  uncommitted(states: Iterable<PartitionState> = this.partitions.values()): TopicPartitionOffset[] {
    return [...states]
      .filter((s) => s.processed !== undefined && s.processed !== s.committed)
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.processed! }));
  }

  /** Positions of new partitions: a pending seek, else the committed offset, else the reset policy. */
  async resolvePositions(states: PartitionState[]): Promise<void> {
    const committed = new Map<string, number>();
    if (this.options.groupId !== undefined) {
      const topics = [...new Set(states.map((s) => s.topic))];
      for (const topic of topics) {
        const { offsets } = await this.transport.json<{ offsets: TopicPartitionOffset[] }>(
          'GET',
          `${groupPath(this.options.groupId)}/offsets`,
          undefined,
          { query: { topic } },
        );
        for (const o of offsets) committed.set(partitionMemoryKey(o.topic, o.partition), o.offset);
      }
    }
    const needPolicy: PartitionState[] = [];
    for (const s of states) {
      const key = partitionMemoryKey(s.topic, s.partition);
      const c = committed.get(key);
      s.committed = c;
      const seekTo = this.pendingSeeks.get(key);
      if (seekTo !== undefined) {
        this.pendingSeeks.delete(key);
        s.position = seekTo;
      } else if (c !== undefined) s.position = c;
      else needPolicy.push(s);
    }
    await this.applyResetPolicy(needPolicy);
  }

  /** Earliest or latest offsets for these partitions, one topic description per topic. */
  async applyResetPolicy(states: PartitionState[], bounds?: Map<string, PartitionBounds>): Promise<void> {
    const topics = [...new Set(states.map((s) => s.topic))];
    const described = new Map(bounds ?? []);
    for (let i = 0; i < topics.length; i += RESOLVE_CONCURRENCY) {
      await Promise.all(
        topics.slice(i, i + RESOLVE_CONCURRENCY).map(async (topic) => {
          if (
            states.every((s) => s.topic !== topic || described.has(partitionMemoryKey(s.topic, s.partition)))
          )
            return;
          const d = await describeTopic(this.transport, topic);
          for (const p of d.partitions) described.set(partitionMemoryKey(topic, p.partition), p);
        }),
      );
    }
    for (const s of states) {
      const b = described.get(partitionMemoryKey(s.topic, s.partition));
      if (b === undefined) {
        throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `${s.topic}/${s.partition} does not exist`);
      }
      s.position = this.resetPolicy === 'earliest' ? b.logStartOffset : b.highWatermark;
      // Nothing below the reset point is to be read: it may be committed (as Kafka commits positions),
      // so a restart does not jump to a later "latest" and skip what came in between.
      s.processed = s.position;
      s.positionVersion++;
    }
  }

  /** Commits the processed offsets if autoCommitIntervalMs has passed; fenced or transient failures wait. */
  async maybeAutoCommit(): Promise<void> {
    if (!this.options.autoCommit || this.options.groupId === undefined) return;
    if (this.membership.identity() === undefined) return;
    if (this.clock.now() - this.lastCommitAt < this.options.autoCommitIntervalMs) return;
    try {
      await this.commit(this.uncommitted());
    } catch (err) {
      if (!isSluiceError(err, 'FENCED') && !isRetriable(err)) throw err;
    }
    this.lastCommitAt = this.clock.now();
  }

  /**
   * Commits offsets as the current member. FENCED: what the server did commit is recorded; a member the
   * group no longer knows joins again, else the partitions it lost stop counting until the heartbeat
   * confirms the new assignment.
   */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const member = this.membership.identity();
    if (member === undefined || this.options.groupId === undefined) {
      throw new SluiceError('UNKNOWN_MEMBER_ID', 'the consumer is not in its group (it is joining again)');
    }
    try {
      await this.transport.json(
        'POST',
        `${groupPath(this.options.groupId)}/offsets`,
        {
          memberId: member.memberId,
          generation: member.generation,
          offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
        },
        { idempotent: true },
      );
    } catch (err) {
      if (isSluiceError(err, 'FENCED')) {
        const lost = (err.details.fenced as TopicPartition[] | undefined) ?? [];
        const committed = (err.details.committed as TopicPartition[] | undefined) ?? [];
        for (const tp of committed) {
          const s = this.partitions.get(partitionMemoryKey(tp.topic, tp.partition));
          const o = offsets.find((x) => x.topic === tp.topic && x.partition === tp.partition);
          if (s && o) s.committed = o.offset;
        }
        if (membershipEnded(err)) this.membership.lost();
        else {
          // Partitions moved to another member: stop consuming them; the heartbeat will confirm.
          for (const tp of lost) {
            const s = this.partitions.get(partitionMemoryKey(tp.topic, tp.partition));
            if (s) s.revoked = true;
          }
          this.membership.heartbeat();
        }
      }
      throw err;
    }
    for (const o of offsets) {
      const s = this.partitions.get(partitionMemoryKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
    this.events.emit('commit', { offsets: [...offsets] });
  }
}
