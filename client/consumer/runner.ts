/**
 * The consumer's loop, as KafkaJS's Runner. One loop per consumer: reconcile the assignment → long-poll
 * fetch of every partition held and not paused → hand the records to the handler, partition by partition
 * → advance each position by the answer's nextOffset (which also skips aborted ranges) → auto-commit when
 * due.
 *
 * A partition missing from the target assignment is being revoked: the loop finishes the batch in hand,
 * commits what was processed, and stops holding it, which hands it to its next owner. Handlers run one
 * at a time, so a slow handler slows fetching (back-pressure); a handler that throws gets its records
 * again from the first unresolved one after a backoff, and crashes the consumer past `retries`.
 *
 * Idle backoff (the profile's idleAfterMs, idleFetchIntervalMs): a long poll holds a fetch function for
 * its whole wait, so once long polls have come back empty for idleAfterMs the loop pauses
 * idleFetchIntervalMs and sends a
 * short fetch (maxWaitMs 0) instead; the first answer with records, or any change (assignment, seek,
 * resume), puts it back to long polls at once. A record after an idle spell thus waits at most
 * idleFetchIntervalMs beyond a long poll (test/client/consumer-idle.test.ts counts it on a virtual clock).
 */

import { isSluiceError } from '../../shared/errors';
import type { FetchPartitionResult } from '../../shared/model';
import { partitionMemoryKey, partitionMemoryKeyPrefix } from '../../shared/model/partitions';
import type { Clock } from '../producer/clock';
import { backoffMs, isRetriable, type ResolvedRetry } from '../retry';
import type { KafkaMessage, TopicPartition } from '../types';
import { decodeMessages, type Fetcher } from './fetcher';
import type { GroupMember } from './group-member';
import type { OffsetManager, PartitionState } from './offset-manager';
import type { Batch, ConsumerEmitter, FetchEventPartition, RunOptions } from './types';

export interface RunnerOptions {
  readonly groupId: string | undefined;
  readonly autoCommit: boolean;
  readonly retry: ResolvedRetry;
  /** How long long polls in a row must have come back empty for the consumer to be idle; 0: never. */
  readonly idleAfterMs: number;
  /** While idle, the pause before each short fetch, in ms. */
  readonly idleFetchIntervalMs: number;
}

export interface RunnerParts {
  readonly offsets: OffsetManager;
  readonly member: GroupMember;
  readonly fetcher: Fetcher;
  readonly events: ConsumerEmitter;
  /** The topics to join the group with. */
  readonly topics: () => readonly string[];
  /** Stops the consumer after an error it cannot go on from. */
  readonly crash: (error: unknown) => void;
  readonly clock: Clock;
}

export type TopicPartitions = readonly { readonly topic: string; readonly partitions?: readonly number[] }[];

export class Runner {
  /** The partitions the consumer should hold: the group's assignment, or the manual/subscribed set. */
  target: Map<string, TopicPartition> | undefined;
  private running = false;
  private handlers: RunOptions | undefined;
  private loop: Promise<void> | undefined;
  private fetchAbort: AbortController | undefined;
  private wakeIdle: (() => void) | undefined;
  /** Whether the last idle wait was cut short by wake(). */
  private woken = false;
  private handlerFailures = 0;
  private rotation = 0;
  /** Since when the fetches have returned no records (undefined: the last one had some, or a change). */
  private emptySince: number | undefined;
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Set<string>();

  constructor(
    private readonly options: RunnerOptions,
    private readonly parts: RunnerParts,
  ) {}

  isRunning(): boolean {
    return this.running;
  }

  /** Whether `run` was called and the consumer has not stopped since. */
  isStarted(): boolean {
    return this.running || this.loop !== undefined;
  }

  /** Marks the consumer running (heartbeats need it before the first join); `start` begins the loop. */
  prepare(handlers: RunOptions): void {
    this.handlers = handlers;
    this.running = true;
  }

  /** `run` failed before the loop began. */
  unprepare(): void {
    this.running = false;
  }

  start(): void {
    this.loop = this.runLoop();
  }

  /** Stops the loop once the handler in progress finishes. */
  async halt(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
  }

  /** The group's assignment: partitions no longer in it are revoked, and their fetched data stale. */
  setAssignment(assignment: readonly TopicPartition[]): void {
    const next = new Map(assignment.map((tp) => [partitionMemoryKey(tp.topic, tp.partition), tp]));
    const same =
      this.target !== undefined &&
      next.size === this.target.size &&
      [...next.keys()].every((k) => this.target!.has(k));
    this.target = next;
    if (!same) {
      for (const [key, state] of this.parts.offsets.partitions) if (!next.has(key)) state.revoked = true;
      this.wake();
    }
  }

  /** Expelled or fenced: nothing held counts any more. */
  dropAll(): void {
    this.target = new Map();
    for (const state of this.parts.offsets.partitions.values()) state.revoked = true;
    this.wake();
  }

  pause(topics: TopicPartitions): void {
    for (const t of topics) {
      if (t.partitions === undefined) this.pausedTopics.add(t.topic);
      else for (const p of t.partitions) this.pausedPartitions.add(partitionMemoryKey(t.topic, p));
    }
    this.wake();
  }

  resume(topics: TopicPartitions): void {
    for (const t of topics) {
      if (t.partitions === undefined) {
        this.pausedTopics.delete(t.topic);
        for (const key of [...this.pausedPartitions])
          if (key.startsWith(partitionMemoryKeyPrefix(t.topic))) this.pausedPartitions.delete(key);
      } else for (const p of t.partitions) this.pausedPartitions.delete(partitionMemoryKey(t.topic, p));
    }
    this.wake();
  }

  isPaused(s: TopicPartition): boolean {
    return (
      this.pausedTopics.has(s.topic) || this.pausedPartitions.has(partitionMemoryKey(s.topic, s.partition))
    );
  }

  /** Cuts the long poll or the idle wait short: something changed. */
  wake(): void {
    this.fetchAbort?.abort();
    if (this.wakeIdle) this.woken = true;
    this.wakeIdle?.();
  }

  private idle(ms: number): Promise<void> {
    this.woken = false;
    return new Promise((resolve) => {
      const done = () => {
        this.parts.clock.clearTimeout(timer);
        if (this.wakeIdle === done) this.wakeIdle = undefined;
        resolve();
      };
      const timer = this.parts.clock.setTimeout(done, ms);
      this.wakeIdle = done;
    });
  }

  private async runLoop(): Promise<void> {
    const { offsets, fetcher, events } = this.parts;
    let fetchFailures = 0;
    while (this.running) {
      try {
        await this.reconcile();
        if (!this.running) break;
        await offsets.maybeAutoCommit();
        const fetchable = [...offsets.partitions.values()].filter(
          (s) => !s.revoked && s.position !== undefined && !this.isPaused(s),
        );
        if (fetchable.length === 0) {
          await this.idle(200);
          continue;
        }
        // Idle backoff: once long polls have come back empty for idleAfterMs, a short fetch after each
        // idleFetchIntervalMs pause instead of a function held for the whole wait; records put it back to
        // long polls at once.
        const { idleAfterMs, idleFetchIntervalMs } = this.options;
        const now = this.parts.clock.now();
        const idle = idleAfterMs > 0 && this.emptySince !== undefined && now - this.emptySince >= idleAfterMs;
        if (idle && idleFetchIntervalMs > 0) {
          await this.idle(idleFetchIntervalMs);
          if (!this.running) break;
          // Woken early (assignment, seek, resume): something changed, so reconcile and long-poll again.
          if (this.woken) {
            this.emptySince = undefined;
            continue;
          }
        }
        // Rotate the order: the server sends a batch larger than a partition's share only for the first
        // partition with data, so a fixed order could starve the others (Kafka's KIP-74 rotates too).
        const start = this.rotation++ % fetchable.length;
        const rotated = [...fetchable.slice(start), ...fetchable.slice(0, start)];
        const requested = rotated.map((s) => ({
          state: s,
          offset: s.position!,
          positionVersion: s.positionVersion,
        }));
        const abort = new AbortController();
        this.fetchAbort = abort;
        const started = this.parts.clock.now();
        let results: FetchPartitionResult[];
        try {
          results = await fetcher.fetch(
            requested.map(({ state, offset }) => ({
              topic: state.topic,
              partition: state.partition,
              offset,
            })),
            abort.signal,
            idle ? 0 : undefined,
          );
        } catch (err) {
          if (abort.signal.aborted) {
            // Cut short because something changed (seek, assignment): long-poll again.
            this.emptySince = undefined;
            continue;
          }
          throw err;
        } finally {
          this.fetchAbort = undefined;
        }
        fetchFailures = 0;
        let records = 0;
        const durationMs = Math.round(this.parts.clock.now() - started);
        const report: FetchEventPartition[] = [];
        for (const r of results) {
          const req = requested.find((q) => q.state.topic === r.topic && q.state.partition === r.partition);
          if (req === undefined) continue;
          const n = await this.handleResult(req.state, req.offset, req.positionVersion, r);
          records += n ?? 0;
          if (n !== undefined) {
            report.push({
              topic: r.topic,
              partition: r.partition,
              highWatermark: r.highWatermark,
              position: req.state.position ?? -1,
              records: n,
            });
          }
          if (!this.running) break;
        }
        if (records > 0) this.emptySince = undefined;
        else this.emptySince ??= started;
        events.emit('fetch', { durationMs, partitions: report });
      } catch (err) {
        if (!this.running) break;
        if (!isRetriable(err) || fetchFailures >= this.options.retry.retries) {
          this.parts.crash(err);
          break;
        }
        await this.idle(backoffMs(this.options.retry, fetchFailures++));
      }
    }
  }

  /** Applies the target assignment: gives up revoked partitions (committing first), takes new ones. */
  private async reconcile(): Promise<void> {
    const { offsets, member, events } = this.parts;
    const { groupId, autoCommit } = this.options;
    if (member.needsRejoin && groupId !== undefined) {
      const dropped = [...offsets.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
      offsets.partitions.clear();
      if (dropped.length > 0) events.emit('rebalance', { generation: -1, assigned: [], revoked: dropped });
      await member.join(this.parts.topics());
    }
    const target = this.target;
    if (target === undefined) return;
    const revoked = [...offsets.partitions.entries()].filter(([key]) => !target.has(key));
    if (revoked.length > 0) {
      if (autoCommit && groupId !== undefined && member.identity() !== undefined) {
        try {
          await offsets.commit(offsets.uncommitted(revoked.map(([, s]) => s)));
        } catch (err) {
          // FENCED: someone else owns it already; the next owner resumes from the last commit.
          if (!isSluiceError(err, 'FENCED') && !isSluiceError(err, 'UNKNOWN_MEMBER_ID') && !isRetriable(err))
            throw err;
        }
      }
      for (const [key] of revoked) offsets.partitions.delete(key);
    }
    const added = [...target.entries()].filter(([key]) => !offsets.partitions.has(key));
    for (const [, tp] of added) offsets.add(tp);
    if (revoked.length > 0 || added.length > 0) {
      events.emit('rebalance', {
        generation: member.generation() ?? 0,
        assigned: added.map(([, tp]) => tp),
        revoked: revoked.map(([, s]) => ({ topic: s.topic, partition: s.partition })),
      });
      // Tell the group at once that the revoked partitions are free.
      if (revoked.length > 0 && member.identity()) void member.heartbeat();
    }
    const unresolved = [...offsets.partitions.values()].filter((s) => s.position === undefined);
    if (unresolved.length > 0) await offsets.resolvePositions(unresolved);
  }

  /** Handles one partition's fetch answer; returns the number of records handed over (undefined if skipped). */
  private async handleResult(
    state: PartitionState,
    offset: number,
    positionVersion: number,
    r: FetchPartitionResult,
  ): Promise<number | undefined> {
    const { offsets } = this.parts;
    const current = () =>
      offsets.partitions.get(partitionMemoryKey(state.topic, state.partition)) === state &&
      state.positionVersion === positionVersion &&
      !state.revoked;
    if (!current() || this.isPaused(state)) return undefined;
    if (r.highWatermark >= 0) state.highWatermark = r.highWatermark;
    if (r.error) {
      if (isSluiceError(r.error, 'OFFSET_OUT_OF_RANGE')) {
        // Deleted by retention (or a seek past the end): start over by the reset policy.
        const bounds =
          r.logStartOffset >= 0 && r.highWatermark >= 0
            ? new Map([
                [
                  partitionMemoryKey(state.topic, state.partition),
                  { logStartOffset: r.logStartOffset, highWatermark: r.highWatermark },
                ],
              ])
            : undefined;
        await offsets.applyResetPolicy([state], bounds);
        return 0;
      }
      if (isRetriable(r.error) || isSluiceError(r.error, 'UNKNOWN_TOPIC_OR_PARTITION')) return 0;
      throw r.error;
    }
    const messages = decodeMessages(r, offset);
    const nextOffset = Math.max(offset, r.nextOffset);
    if (messages.length === 0) {
      if (current()) {
        // Nothing to hand over up to nextOffset (an aborted range holds no records): consumed through it.
        state.position = nextOffset;
        if (nextOffset > offset) state.processed = Math.max(state.processed ?? 0, nextOffset);
      }
      return 0;
    }
    const resolvedUpTo = await this.deliver(state, messages, r.highWatermark, current);
    if (current()) {
      const all = resolvedUpTo >= messages.at(-1)!.offset + 1;
      // Unresolved records are read again (at-least-once); a finished batch moves on past aborted ranges.
      state.position = all ? nextOffset : Math.max(offset, resolvedUpTo);
      if (!all) state.positionVersion++;
    }
    return messages.length;
  }

  /** Runs the handler over a partition's records; returns the offset after the last one resolved. */
  private async deliver(
    state: PartitionState,
    messages: KafkaMessage[],
    highWatermark: number,
    current: () => boolean,
  ): Promise<number> {
    const { topic, partition } = state;
    const handlers = this.handlers!;
    let resolved = messages[0]!.offset;
    const resolve = (offset: number) => {
      if (!current()) return;
      resolved = Math.max(resolved, offset + 1);
      state.processed = Math.max(state.processed ?? 0, offset + 1);
    };
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }]);
      return () => this.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = () => this.parts.member.heartbeatIfDue();
    try {
      if (handlers.eachMessage) {
        for (const message of messages) {
          if (!this.running || !current() || this.isPaused(state)) break;
          await handlers.eachMessage({ topic, partition, message, heartbeat, pause });
          resolve(message.offset);
        }
      } else {
        const last = messages.at(-1)!.offset;
        const batch: Batch = {
          topic,
          partition,
          highWatermark,
          messages,
          isEmpty: () => messages.length === 0,
          firstOffset: () => messages[0]?.offset ?? null,
          lastOffset: () => last,
          offsetLag: () => Math.max(0, highWatermark - 1 - last),
        };
        await handlers.eachBatch!({
          batch,
          resolveOffset: resolve,
          heartbeat,
          commitOffsetsIfNecessary: () => this.parts.offsets.maybeAutoCommit(),
          isRunning: () => this.running,
          isStale: () => !current(),
          pause,
        });
        if (handlers.eachBatchAutoResolve !== false) resolve(last);
      }
      this.handlerFailures = 0;
    } catch (err) {
      this.handlerFailures++;
      if (this.handlerFailures > this.options.retry.retries) throw new HandlerError(err);
      // Deliver again from the first unresolved record, after a backoff.
      await this.idle(backoffMs(this.options.retry, this.handlerFailures - 1));
    }
    return resolved;
  }
}

/** A handler kept failing past the retry limit. */
export class HandlerError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
