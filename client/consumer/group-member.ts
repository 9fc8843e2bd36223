/**
 * The consumer's membership of its group (KIP-848 style: the server assigns). Join, then a background
 * heartbeat reports the partitions the consumer holds and learns its assignment and generation. Expelled
 * or fenced, the member drops everything and is to join again; leaving frees its partitions at once.
 */

import { type FencedReason, isSluiceError, type SluiceError } from '../../shared/errors';
import { type Clock, SYSTEM_CLOCK } from '../producer/clock';
import { isRetriable } from '../retry';
import { seg, type Transport } from '../transport';
import type { TopicPartition } from '../types';
import { type ConsumerEmitter, type ConsumerOptions, SETTLING_BEATS } from './types';

/** Who commits: the member and the generation it knows. */
export interface CommitIdentity {
  readonly memberId: string;
  readonly generation: number;
}

export interface GroupMemberOptions {
  readonly groupId: string | undefined;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** undefined: the server's. */
  readonly heartbeatIntervalMs: number | undefined;
  /**
   * Without heartbeatIntervalMs: the interval, at most, for SETTLING_BEATS heartbeats after a join or a
   * heartbeat whose generation or assignment changed, so that a rebalance moves at this pace and only a
   * steady member beats at the server's (slower) interval.
   */
  readonly settlingHeartbeatMs: number;
  readonly assignor: ConsumerOptions['assignor'];
}

/** What the member tells the rest of the consumer, and asks of it. */
export interface GroupMemberHooks {
  /** Whether the consumer runs; heartbeats stop when it does not. */
  isRunning(): boolean;
  /** The partitions the consumer holds now (reported in each heartbeat). */
  owned(): TopicPartition[];
  /** The group's assignment for this member, after a join or a heartbeat. */
  assigned(assignment: readonly TopicPartition[]): void;
  /** Expelled or fenced: everything held is gone. */
  lost(): void;
  /** A heartbeat failed in a way retrying cannot fix. */
  crash(error: unknown): void;
}

/** FENCED reasons that mean the group no longer knows the member: it must join again. */
const MEMBERSHIP_ENDED: ReadonlySet<FencedReason> = new Set(['UNKNOWN_MEMBER', 'SESSION_ENDED']);

/** Whether a FENCED commit says the member itself is gone (rather than some of its partitions). */
export function membershipEnded(err: SluiceError): boolean {
  return MEMBERSHIP_ENDED.has(err.details.reason as FencedReason);
}

export function groupPath(groupId: string): string {
  return `/v1/groups/${seg(groupId)}`;
}

export class GroupMember {
  private member: { memberId: string; generation: number; heartbeatIntervalMs: number } | undefined;
  /** Expelled or fenced: the loop joins again before it fetches. */
  needsRejoin = false;
  private heartbeatTimer: unknown;
  private beating: Promise<void> | undefined;
  private beatAgain = false;
  private lastBeatAt = 0;
  /** Heartbeats left at the settling interval. */
  private settling = 0;

  constructor(
    private readonly transport: Transport,
    private readonly options: GroupMemberOptions,
    private readonly hooks: GroupMemberHooks,
    private readonly events: ConsumerEmitter,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  identity(): CommitIdentity | undefined {
    return this.member;
  }

  generation(): number | undefined {
    return this.member?.generation;
  }

  private path(): string {
    return groupPath(this.options.groupId!);
  }

  async join(topics: readonly string[]): Promise<void> {
    const res = await this.transport.json<{
      memberId: string;
      generation: number;
      assignment: TopicPartition[];
      heartbeatIntervalMs: number;
    }>(
      'POST',
      `${this.path()}/members`,
      {
        topics,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
        ...(this.options.assignor ? { assignor: this.options.assignor } : {}),
      },
      // A repeated join makes a second member; only answers that say nothing was done are retried.
      { idempotent: false },
    );
    this.member = {
      memberId: res.memberId,
      generation: res.generation,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? res.heartbeatIntervalMs,
    };
    this.needsRejoin = false;
    this.lastBeatAt = this.clock.now();
    this.settling = SETTLING_BEATS;
    this.hooks.assigned(res.assignment);
    this.events.emit('group.join', {
      memberId: res.memberId,
      generation: res.generation,
      assignment: res.assignment,
    });
    this.scheduleHeartbeat(this.nextDelay(this.member.heartbeatIntervalMs));
  }

  /** The steady interval, or the settling one while the group moves around this member. */
  private nextDelay(steady: number): number {
    if (this.options.heartbeatIntervalMs !== undefined || this.settling <= 0) return steady;
    return Math.min(steady, this.options.settlingHeartbeatMs);
  }

  /** A heartbeat now if the interval has passed (KafkaJS's `heartbeat()` in handlers). */
  async heartbeatIfDue(): Promise<void> {
    if (this.member && this.clock.now() - this.lastBeatAt > this.member.heartbeatIntervalMs)
      await this.heartbeat();
  }

  /** One heartbeat now (or right after the one in flight). */
  heartbeat(): Promise<void> {
    if (this.beating) {
      this.beatAgain = true;
      return this.beating;
    }
    this.beating = this.beat().finally(() => {
      this.beating = undefined;
      if (this.beatAgain && this.hooks.isRunning()) {
        this.beatAgain = false;
        void this.heartbeat();
      }
    });
    return this.beating;
  }

  /** Expelled or fenced: everything held is gone (commits would be refused); join again from the loop. */
  lostMembership(): void {
    this.needsRejoin = true;
    this.member = undefined;
    this.hooks.lost();
  }

  /** Stops the heartbeats and waits for the one in flight. */
  async stopHeartbeats(): Promise<void> {
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.beating?.catch(() => undefined);
  }

  /** Leaves the group (best effort): its partitions are free at once. */
  async leave(): Promise<void> {
    const member = this.member;
    if (member === undefined) return;
    this.member = undefined;
    await this.transport
      .json('DELETE', `${this.path()}/members/${seg(member.memberId)}`, undefined, {
        retry: { retries: 2 },
      })
      .catch(() => undefined);
  }

  private scheduleHeartbeat(delay = this.member?.heartbeatIntervalMs ?? 1000): void {
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    if (!this.hooks.isRunning() || this.member === undefined) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      void this.heartbeat();
    }, delay);
  }

  private async beat(): Promise<void> {
    const member = this.member;
    if (member === undefined || !this.hooks.isRunning() || this.needsRejoin) return;
    let delay = member.heartbeatIntervalMs;
    try {
      const res = await this.transport.json<{
        generation: number;
        assignment: TopicPartition[];
        heartbeatIntervalMs: number;
      }>(
        'POST',
        `${this.path()}/members/${seg(member.memberId)}/heartbeat`,
        { generation: member.generation, owned: this.hooks.owned() },
        { idempotent: true, retry: { retries: 2, maxElapsedMs: member.heartbeatIntervalMs } },
      );
      this.lastBeatAt = this.clock.now();
      if (this.member !== member) return;
      const before = this.hooks.owned();
      const moved =
        res.generation !== member.generation ||
        res.assignment.length !== before.length ||
        !res.assignment.every((a) => before.some((b) => b.topic === a.topic && b.partition === a.partition));
      this.settling = moved ? SETTLING_BEATS : Math.max(0, this.settling - 1);
      member.generation = res.generation;
      member.heartbeatIntervalMs = this.options.heartbeatIntervalMs ?? res.heartbeatIntervalMs;
      delay = this.nextDelay(member.heartbeatIntervalMs);
      this.hooks.assigned(res.assignment);
    } catch (err) {
      if (this.member !== member) return;
      if (
        isSluiceError(err, 'UNKNOWN_MEMBER_ID') ||
        isSluiceError(err, 'FENCED') ||
        isSluiceError(err, 'ILLEGAL_GENERATION')
      ) {
        this.lostMembership();
        return;
      }
      if (!isRetriable(err)) {
        this.hooks.crash(err);
        return;
      }
      delay = Math.min(delay, 500);
    }
    this.scheduleHeartbeat(delay);
  }
}
