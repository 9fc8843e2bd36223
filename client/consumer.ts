/**
 * The consumer, as KafkaJS's: `subscribe`, then `run({ eachMessage })` or `run({ eachBatch })`.
 *
 * One loop per consumer: reconcile the assignment → long-poll fetch of every owned partition in one
 * request (POST /v1/fetch) → decompress, skip records before each position (a stored batch may start
 * earlier) → hand the records to the handler, partition by partition → advance each position by the
 * answer's nextOffset (which also skips aborted ranges) → auto-commit when due.
 *
 * In a group (KIP-848 style, the server assigns): a background heartbeat reports the partitions the
 * consumer holds and learns its assignment. A partition missing from the assignment is being revoked:
 * the loop finishes the batch in hand, commits what was processed, and stops listing it, which hands it
 * to its next owner. New partitions start from the group's committed offset, else the reset policy
 * (`fromBeginning` → earliest, otherwise latest). Fenced or expelled, the consumer drops its partitions
 * without committing (its commits would be refused) and joins again.
 *
 * Delivery is at-least-once: an offset is committed only after the handler finished the record before it
 * (F11), so a crash redelivers from the last commit (F9).
 */

import { decodeFetchResponse, encodeFetchRequest, FRAME_CONTENT_TYPE } from '../shared/api/framing';
import { decodeRecordBatches } from '../shared/codec/record-batch';
import { isSluiceError, SluiceError } from '../shared/errors';
import type { FetchPartitionResult } from '../shared/log/types';
import { LOG_LIMITS } from '../shared/log/types';
import { backoffMs, isRetriable, type ResolvedRetry, type RetryOptions, resolveRetry } from './retry';
import { seg, type Transport } from './transport';
import {
  type KafkaMessage,
  type TopicPartition,
  type TopicPartitionOffset,
  toConsumedHeaders,
  tpKey,
} from './types';

export interface ConsumerOptions {
  /** Consume as a member of this group: partitions are shared among its members, offsets committed. @default none: you choose the partitions */
  readonly groupId?: string;
  /** A member that does not heartbeat for this long is expelled, in ms. @default 10000 */
  readonly sessionTimeoutMs?: number;
  /** How long a member may take to give up revoked partitions, in ms. @default 30000 */
  readonly rebalanceTimeoutMs?: number;
  /** @default the server's: a third of sessionTimeoutMs */
  readonly heartbeatIntervalMs?: number;
  /** How the group divides partitions; set by its first member. @default 'sticky' */
  readonly assignor?: 'sticky' | 'range' | 'roundrobin';
  /** Commit processed offsets every autoCommitIntervalMs, on revocation and on stop. @default true */
  readonly autoCommit?: boolean;
  /** @default 5000 */
  readonly autoCommitIntervalMs?: number;
  /** Long poll: how long a fetch waits for minBytes, in ms. @default 5000, at most 20000 */
  readonly maxWaitMs?: number;
  /** @default 1 */
  readonly minBytes?: number;
  /** Largest fetch answer, in bytes. @default 4194304 (LOG_LIMITS.maxFetchBytes, also the cap) */
  readonly maxBytes?: number;
  /** Largest share of one partition in a fetch answer, in bytes (a first batch is always whole). @default 1048576 */
  readonly maxBytesPerPartition?: number;
  /** Backoff after failed fetches and handler errors; a handler that keeps failing past `retries` crashes the consumer. */
  readonly retry?: RetryOptions;
}

export interface SubscribeOptions {
  readonly topics?: readonly (string | RegExp)[];
  readonly topic?: string | RegExp;
  /** Where partitions without a committed offset start: earliest (true) or latest. @default false */
  readonly fromBeginning?: boolean;
}

/**
 * What `eachMessage` gets: one record and where it came from.
 *
 * @example
 * ```ts
 * await consumer.run({
 *   eachMessage: async ({ topic, partition, message }) => {
 *     const order = JSON.parse(message.value!.toString());
 *     console.log(topic, partition, message.offset, message.headers.source?.toString(), order);
 *   },
 * });
 * ```
 */
export interface EachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  /** Heartbeats run in the background; this is kept for KafkaJS handlers. */
  heartbeat(): Promise<void>;
  /** Pauses this partition (after this message); `consumer.resume` resumes it. */
  pause(): () => void;
}

export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): number | null;
  lastOffset(): number;
  /** Records after this batch up to the high-water mark. */
  offsetLag(): number;
}

/**
 * What `eachBatch` gets: a partition's records, and controls over them.
 *
 * @example
 * ```ts
 * await consumer.run({
 *   eachBatchAutoResolve: false,
 *   eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale }) => {
 *     for (const message of batch.messages) {
 *       if (!isRunning() || isStale()) break;
 *       await handle(message);
 *       resolveOffset(message.offset);
 *     }
 *     await commitOffsetsIfNecessary();
 *   },
 * });
 * ```
 */
export interface EachBatchPayload {
  readonly batch: Batch;
  /** Marks records up to and including `offset` as processed (auto-commit commits only those). */
  resolveOffset(offset: number): void;
  heartbeat(): Promise<void>;
  /** Commits processed offsets if autoCommitIntervalMs has passed. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer is stopping: finish fast. */
  isRunning(): boolean;
  /** True when the partition was revoked, seeked or paused: the rest of the batch will not count. */
  isStale(): boolean;
  pause(): () => void;
}

export interface RunOptions {
  readonly eachMessage?: (payload: EachMessagePayload) => Promise<void>;
  readonly eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  /** Resolve every record of a batch when eachBatch returns. @default true */
  readonly eachBatchAutoResolve?: boolean;
}

export interface FetchEventPartition extends TopicPartition {
  readonly highWatermark: number;
  /** The partition's position after the records were handled. */
  readonly position: number;
  readonly records: number;
}

export interface ConsumerEvents {
  'group.join': { memberId: string; generation: number; assignment: TopicPartition[] };
  rebalance: { generation: number; assigned: TopicPartition[]; revoked: TopicPartition[] };
  commit: { offsets: TopicPartitionOffset[] };
  fetch: { durationMs: number; partitions: FetchEventPartition[] };
  crash: { error: unknown };
  stop: Record<string, never>;
}

export const CONSUMER_DEFAULTS = {
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000,
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
  maxWaitMs: 5_000,
  minBytes: 1,
  maxBytes: LOG_LIMITS.maxFetchBytes,
  maxBytesPerPartition: 1024 * 1024,
} as const;

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to fetch; undefined until resolved from the committed offset or reset policy. */
  position: number | undefined;
  /** Offset after the last record the handler finished; undefined when nothing was processed. */
  processed: number | undefined;
  /** The last committed offset known. */
  committed: number | undefined;
  /** Bumped by seek, reset and revocation: fetched data from before is stale. */
  epoch: number;
  revoked: boolean;
  highWatermark: number | undefined;
}

type Listener<E extends keyof ConsumerEvents> = (payload: ConsumerEvents[E]) => void;

const RESOLVE_CONCURRENCY = 16;

function positiveInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, but ${value} was provided`);
  }
  return value;
}

/**
 * Reads records from Sluice. Create it with `sluice.consumer()`.
 *
 * @example
 * ```ts
 * const consumer = sluice.consumer({ groupId: 'billing' });
 * await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
 * await consumer.run({
 *   eachMessage: async ({ topic, partition, message }) => {
 *     console.log(topic, partition, message.offset, message.value?.toString());
 *   },
 * });
 * // later
 * await consumer.disconnect();
 * ```
 */
export class Consumer {
  readonly groupId: string | undefined;
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number | undefined;
  private readonly assignor: ConsumerOptions['assignor'];
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly maxBytesPerPartition: number;
  private readonly retry: ResolvedRetry;

  private topics: string[] = [];
  private topicPatterns: RegExp[] = [];
  private resetPolicy: 'earliest' | 'latest' = 'latest';
  private manual: TopicPartitionOffset[] | TopicPartition[] | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  /** The partitions the consumer should hold: the group's assignment, or the manual/subscribed set. */
  private target: Map<string, TopicPartition> | undefined;
  private member: { memberId: string; generation: number; heartbeatIntervalMs: number } | undefined;
  private needsRejoin = false;
  private handlers: RunOptions | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private fetchAbort: AbortController | undefined;
  private wakeIdle: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private beatAgain = false;
  private lastBeatAt = 0;
  private lastCommitAt = Date.now();
  private readonly pendingSeeks = new Map<string, number>();
  private readonly pausedTopics = new Set<string>();
  private readonly pausedPartitions = new Set<string>();
  private readonly listeners = new Map<keyof ConsumerEvents, Set<Listener<keyof ConsumerEvents>>>();
  private handlerFailures = 0;
  private rotation = 0;
  private stopping: Promise<void> | undefined;

  /** @internal Use `sluice.consumer()`. */
  constructor(
    private readonly transport: Transport,
    options: ConsumerOptions = {},
    private readonly perTopicAuth = false,
  ) {
    this.groupId = options.groupId;
    if (this.groupId !== undefined && (typeof this.groupId !== 'string' || this.groupId === '')) {
      throw new RangeError('groupId must be a non-empty string');
    }
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? CONSUMER_DEFAULTS.sessionTimeoutMs;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? CONSUMER_DEFAULTS.rebalanceTimeoutMs;
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs === undefined
        ? undefined
        : positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs, 10, this.sessionTimeoutMs);
    this.assignor = options.assignor;
    this.autoCommit = options.autoCommit ?? CONSUMER_DEFAULTS.autoCommit;
    this.autoCommitIntervalMs = positiveInt(
      'autoCommitIntervalMs',
      options.autoCommitIntervalMs ?? CONSUMER_DEFAULTS.autoCommitIntervalMs,
      0,
      3_600_000,
    );
    this.maxWaitMs = positiveInt(
      'maxWaitMs',
      options.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs,
      0,
      LOG_LIMITS.maxWaitMsCap,
    );
    this.minBytes = positiveInt(
      'minBytes',
      options.minBytes ?? CONSUMER_DEFAULTS.minBytes,
      0,
      LOG_LIMITS.maxFetchBytes,
    );
    this.maxBytes = positiveInt(
      'maxBytes',
      options.maxBytes ?? CONSUMER_DEFAULTS.maxBytes,
      1,
      LOG_LIMITS.maxFetchBytes,
    );
    this.maxBytesPerPartition = positiveInt(
      'maxBytesPerPartition',
      options.maxBytesPerPartition ?? CONSUMER_DEFAULTS.maxBytesPerPartition,
      1,
      LOG_LIMITS.maxFetchBytes,
    );
    this.retry = resolveRetry(options.retry);
  }

  /**
   * Nothing to open; kept for KafkaJS familiarity.
   *
   * @example
   * ```ts
   * await consumer.connect(); // optional
   * ```
   */
  async connect(): Promise<void> {}

  /**
   * Listens to an event: `group.join`, `rebalance`, `commit`, `fetch`, `crash`, `stop`. Returns a
   * function that removes the listener.
   *
   * @example
   * ```ts
   * consumer.on('rebalance', ({ assigned, revoked }) => console.log({ assigned, revoked }));
   * consumer.on('crash', ({ error }) => console.error(error));
   * ```
   */
  on<E extends keyof ConsumerEvents>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<keyof ConsumerEvents>);
    return () => set.delete(listener as Listener<keyof ConsumerEvents>);
  }

  /**
   * Subscribes to topics (names, or patterns matched against the topic list). Call before `run`.
   *
   * @example
   * ```ts
   * await consumer.subscribe({ topics: ['orders', /^audit\./], fromBeginning: true });
   * ```
   */
  async subscribe(options: SubscribeOptions): Promise<void> {
    if (this.running) throw new SluiceError('INVALID_REQUEST', 'subscribe before run');
    if (this.manual)
      throw new SluiceError('INVALID_REQUEST', 'a consumer either subscribes or assigns, not both');
    const list = [...(options.topics ?? []), ...(options.topic === undefined ? [] : [options.topic])];
    if (list.length === 0) throw new SluiceError('INVALID_REQUEST', 'subscribe needs topics');
    for (const t of list) {
      if (typeof t === 'string') {
        if (!this.topics.includes(t)) this.topics.push(t);
      } else this.topicPatterns.push(t);
    }
    this.resetPolicy = options.fromBeginning ? 'earliest' : 'latest';
  }

  /**
   * Without a group: consume exactly these partitions, from `offset` when given, else from the reset
   * policy (`fromBeginning` → earliest, else latest). May be called again while running.
   *
   * @example
   * ```ts
   * const consumer = sluice.consumer();
   * consumer.assign([{ topic: 'orders', partition: 0, offset: 0 }, { topic: 'orders', partition: 1 }]);
   * await consumer.run({ eachMessage: async ({ message }) => console.log(message.offset) });
   * ```
   */
  assign(
    partitions: readonly (TopicPartition & { readonly offset?: number })[],
    options: { fromBeginning?: boolean } = {},
  ): void {
    if (this.groupId !== undefined) {
      throw new SluiceError(
        'INVALID_REQUEST',
        'a consumer with a groupId gets its partitions from the group',
      );
    }
    if (this.topics.length > 0 || this.topicPatterns.length > 0) {
      throw new SluiceError('INVALID_REQUEST', 'a consumer either subscribes or assigns, not both');
    }
    if (options.fromBeginning !== undefined) this.resetPolicy = options.fromBeginning ? 'earliest' : 'latest';
    this.manual = partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    for (const p of partitions)
      if (p.offset !== undefined) this.pendingSeeks.set(tpKey(p.topic, p.partition), p.offset);
    this.target = new Map(
      partitions.map((p) => [tpKey(p.topic, p.partition), { topic: p.topic, partition: p.partition }]),
    );
    this.wake();
  }

  /**
   * Starts consuming in the background; resolves once the consumer has joined its group (if any) and
   * the loop runs. Handlers run one at a time, partition after partition.
   *
   * @example
   * ```ts
   * await consumer.run({
   *   eachBatch: async ({ batch, resolveOffset }) => {
   *     for (const message of batch.messages) {
   *       await handle(message);
   *       resolveOffset(message.offset);
   *     }
   *   },
   * });
   * ```
   */
  async run(handlers: RunOptions): Promise<void> {
    if (this.running || this.loop)
      throw new SluiceError('INVALID_REQUEST', 'the consumer is already running');
    if (!handlers.eachMessage === !handlers.eachBatch) {
      throw new SluiceError('INVALID_REQUEST', 'run needs exactly one of eachMessage and eachBatch');
    }
    if (this.topics.length === 0 && this.topicPatterns.length === 0 && this.manual === undefined) {
      throw new SluiceError('INVALID_REQUEST', 'subscribe (or assign) before run');
    }
    this.handlers = handlers;
    this.running = true;
    this.stopping = undefined;
    try {
      if (this.groupId !== undefined) {
        await this.resolveTopics();
        await this.join();
      } else if (this.manual === undefined) {
        await this.resolveTopics();
        const target = new Map<string, TopicPartition>();
        for (const topic of this.topics) {
          const { partitionCount } = await this.describe(topic);
          for (let p = 0; p < partitionCount; p++) target.set(tpKey(topic, p), { topic, partition: p });
        }
        this.target = target;
      }
    } catch (err) {
      this.running = false;
      throw err;
    }
    this.loop = this.runLoop();
  }

  /**
   * Stops consuming: the handler in progress finishes, processed offsets are committed (with
   * autoCommit) and the consumer leaves its group. `run` may be called again afterwards.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => consumer.stop());
   * ```
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Stops and closes the connections.
   *
   * @example
   * ```ts
   * await consumer.disconnect();
   * ```
   */
  async disconnect(): Promise<void> {
    await this.stop();
    this.transport.close();
  }

  /**
   * Sets the next offset to read of a partition. Takes effect at once, even mid-batch; on a partition
   * not (yet) held, it applies when the partition is assigned.
   *
   * @example
   * ```ts
   * consumer.seek({ topic: 'orders', partition: 0, offset: 1200 });
   * ```
   */
  seek(target: TopicPartitionOffset): void {
    if (!Number.isSafeInteger(target.offset) || target.offset < 0) {
      throw new RangeError(`offset must be a non-negative integer, but ${target.offset} was provided`);
    }
    const state = this.partitions.get(tpKey(target.topic, target.partition));
    if (state && state.position !== undefined) {
      state.position = target.offset;
      state.epoch++;
    } else {
      this.pendingSeeks.set(tpKey(target.topic, target.partition), target.offset);
    }
    this.wake();
  }

  /**
   * Stops fetching topics, or some of their partitions, until `resume`.
   *
   * @example
   * ```ts
   * consumer.pause([{ topic: 'orders' }, { topic: 'audit', partitions: [0, 1] }]);
   * ```
   */
  pause(topics: readonly { readonly topic: string; readonly partitions?: readonly number[] }[]): void {
    for (const t of topics) {
      if (t.partitions === undefined) this.pausedTopics.add(t.topic);
      else for (const p of t.partitions) this.pausedPartitions.add(tpKey(t.topic, p));
    }
    this.wake();
  }

  /**
   * Resumes paused topics or partitions.
   *
   * @example
   * ```ts
   * consumer.resume([{ topic: 'orders' }]);
   * ```
   */
  resume(topics: readonly { readonly topic: string; readonly partitions?: readonly number[] }[]): void {
    for (const t of topics) {
      if (t.partitions === undefined) {
        this.pausedTopics.delete(t.topic);
        for (const key of [...this.pausedPartitions])
          if (key.startsWith(`${t.topic}\u0000`)) this.pausedPartitions.delete(key);
      } else for (const p of t.partitions) this.pausedPartitions.delete(tpKey(t.topic, p));
    }
    this.wake();
  }

  /**
   * The partitions paused now.
   *
   * @example
   * ```ts
   * const paused = consumer.paused();
   * ```
   */
  paused(): TopicPartition[] {
    return [...this.partitions.values()]
      .filter((s) => this.isPaused(s))
      .map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * The partitions held now, with their positions (the next offset to read; -1 while unresolved).
   *
   * @example
   * ```ts
   * for (const { topic, partition, offset } of consumer.assignment()) console.log(topic, partition, offset);
   * ```
   */
  assignment(): TopicPartitionOffset[] {
    return [...this.partitions.values()]
      .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position ?? -1 }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /**
   * Commits offsets (the next offset to read, as in Kafka) for partitions this member holds. Without
   * arguments: the processed offsets not yet committed. FENCED when the member lost a partition.
   *
   * @example
   * ```ts
   * const consumer = sluice.consumer({ groupId: 'billing', autoCommit: false });
   * // … in eachMessage, after handling `message`:
   * await consumer.commitOffsets([{ topic, partition, offset: message.offset + 1 }]);
   * ```
   */
  async commitOffsets(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.groupId === undefined) throw new SluiceError('INVALID_REQUEST', 'commitOffsets needs a groupId');
    const list =
      offsets ??
      [...this.partitions.values()]
        .filter((s) => s.processed !== undefined && s.processed !== s.committed)
        .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.processed! }));
    await this.commit(list);
  }

  // ---- events ----------------------------------------------------------------------------------

  private emit<E extends keyof ConsumerEvents>(event: E, payload: ConsumerEvents[E]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        (l as Listener<E>)(payload);
      } catch {
        // A listener's error must not break the consumer.
      }
    }
  }

  // ---- group membership ------------------------------------------------------------------------

  private async resolveTopics(): Promise<void> {
    if (this.topicPatterns.length === 0) return;
    const { topics } = await this.transport.json<{ topics: { name: string }[] }>('GET', '/v1/topics');
    for (const { name } of topics) {
      if (this.topicPatterns.some((re) => re.test(name)) && !this.topics.includes(name))
        this.topics.push(name);
    }
    if (this.topics.length === 0) {
      throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', 'no topic matches the subscription');
    }
  }

  private groupPath(): string {
    return `/v1/groups/${seg(this.groupId!)}`;
  }

  private async join(): Promise<void> {
    const res = await this.transport.json<{
      memberId: string;
      generation: number;
      assignment: TopicPartition[];
      heartbeatIntervalMs: number;
    }>(
      'POST',
      `${this.groupPath()}/members`,
      {
        topics: this.topics,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        ...(this.assignor ? { assignor: this.assignor } : {}),
      },
      // A repeated join makes a second member; only answers that say nothing was done are retried.
      { idempotent: false },
    );
    this.member = {
      memberId: res.memberId,
      generation: res.generation,
      heartbeatIntervalMs: this.heartbeatIntervalMs ?? res.heartbeatIntervalMs,
    };
    this.needsRejoin = false;
    this.lastBeatAt = Date.now();
    this.setTarget(res.assignment);
    this.emit('group.join', {
      memberId: res.memberId,
      generation: res.generation,
      assignment: res.assignment,
    });
    this.scheduleHeartbeat();
  }

  private setTarget(assignment: readonly TopicPartition[]): void {
    const next = new Map(assignment.map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    const same =
      this.target !== undefined &&
      next.size === this.target.size &&
      [...next.keys()].every((k) => this.target!.has(k));
    this.target = next;
    if (!same) {
      // A revoked partition's fetched data is stale from now on.
      for (const [key, state] of this.partitions) if (!next.has(key)) state.revoked = true;
      this.wake();
    }
  }

  private scheduleHeartbeat(delay = this.member?.heartbeatIntervalMs ?? 1000): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (!this.running || this.member === undefined) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      void this.heartbeat();
    }, delay);
  }

  /** One heartbeat now (or right after the one in flight). */
  private heartbeat(): Promise<void> {
    if (this.beating) {
      this.beatAgain = true;
      return this.beating;
    }
    this.beating = this.beat().finally(() => {
      this.beating = undefined;
      if (this.beatAgain && this.running) {
        this.beatAgain = false;
        void this.heartbeat();
      }
    });
    return this.beating;
  }

  private async beat(): Promise<void> {
    const member = this.member;
    if (member === undefined || !this.running || this.needsRejoin) return;
    let delay = member.heartbeatIntervalMs;
    try {
      const owned = [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
      const res = await this.transport.json<{
        generation: number;
        assignment: TopicPartition[];
        heartbeatIntervalMs: number;
      }>(
        'POST',
        `${this.groupPath()}/members/${seg(member.memberId)}/heartbeat`,
        { generation: member.generation, owned },
        { idempotent: true, retry: { retries: 2, maxElapsedMs: member.heartbeatIntervalMs } },
      );
      this.lastBeatAt = Date.now();
      if (this.member !== member) return;
      member.generation = res.generation;
      member.heartbeatIntervalMs = this.heartbeatIntervalMs ?? res.heartbeatIntervalMs;
      delay = member.heartbeatIntervalMs;
      this.setTarget(res.assignment);
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
        this.crash(err);
        return;
      }
      delay = Math.min(delay, 500);
    }
    this.scheduleHeartbeat(delay);
  }

  /** Expelled or fenced: everything held is gone (commits would be refused); join again from the loop. */
  private lostMembership(): void {
    this.needsRejoin = true;
    this.member = undefined;
    this.target = new Map();
    for (const state of this.partitions.values()) state.revoked = true;
    this.wake();
  }

  // ---- the loop ------------------------------------------------------------------------------

  private wake(): void {
    this.fetchAbort?.abort();
    this.wakeIdle?.();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeIdle = done;
    });
  }

  private async runLoop(): Promise<void> {
    let fetchFailures = 0;
    while (this.running) {
      try {
        await this.reconcile();
        if (!this.running) break;
        await this.maybeAutoCommit();
        const fetchable = [...this.partitions.values()].filter(
          (s) => !s.revoked && s.position !== undefined && !this.isPaused(s),
        );
        if (fetchable.length === 0) {
          await this.idle(200);
          continue;
        }
        // Rotate the order: the server sends a batch larger than a partition's share only for the first
        // partition with data, so a fixed order could starve the others (Kafka's KIP-74 rotates too).
        const start = this.rotation++ % fetchable.length;
        const rotated = [...fetchable.slice(start), ...fetchable.slice(0, start)];
        const requested = rotated.map((s) => ({ state: s, offset: s.position!, epoch: s.epoch }));
        const abort = new AbortController();
        this.fetchAbort = abort;
        const started = performance.now();
        let results: FetchPartitionResult[];
        try {
          results = await this.fetch(requested, abort.signal);
        } catch (err) {
          if (abort.signal.aborted) continue;
          throw err;
        } finally {
          this.fetchAbort = undefined;
        }
        fetchFailures = 0;
        const durationMs = Math.round(performance.now() - started);
        const report: FetchEventPartition[] = [];
        for (let i = 0; i < results.length; i++) {
          const r = results[i]!;
          const req = requested.find((q) => q.state.topic === r.topic && q.state.partition === r.partition);
          if (req === undefined) continue;
          const n = await this.handleResult(req.state, req.offset, req.epoch, r);
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
        this.emit('fetch', { durationMs, partitions: report });
      } catch (err) {
        if (!this.running) break;
        if (!isRetriable(err) || fetchFailures >= this.retry.retries) {
          this.crash(err);
          break;
        }
        await this.idle(backoffMs(this.retry, fetchFailures++));
      }
    }
  }

  private isPaused(s: TopicPartition): boolean {
    return this.pausedTopics.has(s.topic) || this.pausedPartitions.has(tpKey(s.topic, s.partition));
  }

  /** Applies the target assignment: gives up revoked partitions (committing first), takes new ones. */
  private async reconcile(): Promise<void> {
    if (this.needsRejoin && this.groupId !== undefined) {
      const dropped = [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
      this.partitions.clear();
      if (dropped.length > 0) this.emit('rebalance', { generation: -1, assigned: [], revoked: dropped });
      await this.join();
    }
    const target = this.target;
    if (target === undefined) return;
    const revoked = [...this.partitions.entries()].filter(([key]) => !target.has(key));
    if (revoked.length > 0) {
      if (this.autoCommit && this.groupId !== undefined && this.member !== undefined) {
        const offsets = revoked
          .map(([, s]) => s)
          .filter((s) => s.processed !== undefined && s.processed !== s.committed)
          .map((s) => ({ topic: s.topic, partition: s.partition, offset: s.processed! }));
        try {
          await this.commit(offsets);
        } catch (err) {
          // FENCED: someone else owns it already; the next owner resumes from the last commit.
          if (!isSluiceError(err, 'FENCED') && !isSluiceError(err, 'UNKNOWN_MEMBER_ID') && !isRetriable(err))
            throw err;
        }
      }
      for (const [key] of revoked) this.partitions.delete(key);
    }
    const added = [...target.entries()].filter(([key]) => !this.partitions.has(key));
    for (const [key, tp] of added) {
      this.partitions.set(key, {
        topic: tp.topic,
        partition: tp.partition,
        position: undefined,
        processed: undefined,
        committed: undefined,
        epoch: 0,
        revoked: false,
        highWatermark: undefined,
      });
    }
    if (revoked.length > 0 || added.length > 0) {
      this.emit('rebalance', {
        generation: this.member?.generation ?? 0,
        assigned: added.map(([, tp]) => tp),
        revoked: revoked.map(([, s]) => ({ topic: s.topic, partition: s.partition })),
      });
      // Tell the group at once that the revoked partitions are free.
      if (revoked.length > 0 && this.member) void this.heartbeat();
    }
    const unresolved = [...this.partitions.values()].filter((s) => s.position === undefined);
    if (unresolved.length > 0) await this.resolvePositions(unresolved);
  }

  /** Positions of new partitions: a pending seek, else the committed offset, else the reset policy. */
  private async resolvePositions(states: PartitionState[]): Promise<void> {
    const committed = new Map<string, number>();
    if (this.groupId !== undefined) {
      const topics = [...new Set(states.map((s) => s.topic))];
      for (const topic of topics) {
        const { offsets } = await this.transport.json<{ offsets: TopicPartitionOffset[] }>(
          'GET',
          `${this.groupPath()}/offsets`,
          undefined,
          { query: { topic } },
        );
        for (const o of offsets) committed.set(tpKey(o.topic, o.partition), o.offset);
      }
    }
    const needPolicy: PartitionState[] = [];
    for (const s of states) {
      const key = tpKey(s.topic, s.partition);
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
  private async applyResetPolicy(
    states: PartitionState[],
    bounds?: Map<string, { logStartOffset: number; highWatermark: number }>,
  ) {
    const topics = [...new Set(states.map((s) => s.topic))];
    const described = new Map(bounds ?? []);
    for (let i = 0; i < topics.length; i += RESOLVE_CONCURRENCY) {
      await Promise.all(
        topics.slice(i, i + RESOLVE_CONCURRENCY).map(async (topic) => {
          if (states.every((s) => s.topic !== topic || described.has(tpKey(s.topic, s.partition)))) return;
          const d = await this.describe(topic);
          for (const p of d.partitions) described.set(tpKey(topic, p.partition), p);
        }),
      );
    }
    for (const s of states) {
      const b = described.get(tpKey(s.topic, s.partition));
      if (b === undefined) {
        throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `${s.topic}/${s.partition} does not exist`);
      }
      s.position = this.resetPolicy === 'earliest' ? b.logStartOffset : b.highWatermark;
      // Nothing below the reset point is to be read: it may be committed (as Kafka commits positions),
      // so a restart does not jump to a later "latest" and skip what came in between.
      s.processed = s.position;
      s.epoch++;
    }
  }

  private describe(topic: string) {
    return this.transport.json<{
      partitionCount: number;
      partitions: { partition: number; logStartOffset: number; highWatermark: number }[];
    }>('GET', `/v1/topics/${seg(topic)}`);
  }

  private async maybeAutoCommit(): Promise<void> {
    if (!this.autoCommit || this.groupId === undefined || this.member === undefined) return;
    if (Date.now() - this.lastCommitAt < this.autoCommitIntervalMs) return;
    try {
      await this.commitOffsets();
    } catch (err) {
      if (!isSluiceError(err, 'FENCED') && !isRetriable(err)) throw err;
    }
    this.lastCommitAt = Date.now();
  }

  private async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const member = this.member;
    if (member === undefined) {
      throw new SluiceError('UNKNOWN_MEMBER_ID', 'the consumer is not in its group (it is joining again)');
    }
    try {
      await this.transport.json(
        'POST',
        `${this.groupPath()}/offsets`,
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
          const s = this.partitions.get(tpKey(tp.topic, tp.partition));
          const o = offsets.find((x) => x.topic === tp.topic && x.partition === tp.partition);
          if (s && o) s.committed = o.offset;
        }
        if (/is not in group|session .* has ended/.test(err.message)) this.lostMembership();
        else {
          // Partitions moved to another member: stop consuming them; the heartbeat will confirm.
          for (const tp of lost) {
            const s = this.partitions.get(tpKey(tp.topic, tp.partition));
            if (s) s.revoked = true;
          }
          void this.heartbeat();
        }
      }
      throw err;
    }
    for (const o of offsets) {
      const s = this.partitions.get(tpKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
    this.emit('commit', { offsets: [...offsets] });
  }

  // ---- fetch ----------------------------------------------------------------------------------

  private async fetch(
    requested: { state: PartitionState; offset: number }[],
    signal: AbortSignal,
  ): Promise<FetchPartitionResult[]> {
    if (this.perTopicAuth) return this.fetchPerPartition(requested, signal);
    const body = encodeFetchRequest({
      partitions: requested.map((r) => ({
        topic: r.state.topic,
        partition: r.state.partition,
        offset: r.offset,
        maxBytes: this.maxBytesPerPartition,
      })),
      maxWaitMs: this.maxWaitMs,
      minBytes: this.minBytes,
      maxBytes: this.maxBytes,
    });
    const res = await this.transport.request({
      method: 'POST',
      path: '/v1/fetch',
      body,
      contentType: FRAME_CONTENT_TYPE,
      accept: FRAME_CONTENT_TYPE,
      idempotent: true,
      timeoutMs: 30_000 + this.maxWaitMs,
      signal,
      retry: { retries: 2 },
    });
    return decodeFetchResponse(res.body);
  }

  /**
   * perTopicAuth: one long poll per partition on its own route. Once one answers with records, the
   * others are cut short (a fetch changes nothing, so cutting it loses nothing).
   */
  private async fetchPerPartition(
    requested: { state: PartitionState; offset: number }[],
    signal: AbortSignal,
  ): Promise<FetchPartitionResult[]> {
    const local = new AbortController();
    const onAbort = () => local.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const settled = await Promise.all(
        requested.map(async ({ state, offset }): Promise<FetchPartitionResult | undefined> => {
          const base = { topic: state.topic, partition: state.partition };
          try {
            const res = await this.transport.request({
              method: 'GET',
              path: `/v1/topics/${seg(state.topic)}/partitions/${state.partition}/batches`,
              query: {
                offset,
                maxBytes: this.maxBytesPerPartition,
                maxWaitMs: this.maxWaitMs,
                minBytes: this.minBytes,
              },
              accept: 'application/vnd.kafka.record-batch',
              timeoutMs: 30_000 + this.maxWaitMs,
              signal: local.signal,
              retry: { retries: 2 },
            });
            if (res.body.length > 0) local.abort();
            return {
              ...base,
              highWatermark: Number(res.headers['x-high-watermark'] ?? -1),
              logStartOffset: Number(res.headers['x-log-start-offset'] ?? -1),
              nextOffset: Number(res.headers['x-next-offset'] ?? offset),
              records: res.body,
            };
          } catch (err) {
            if (local.signal.aborted && !signal.aborted) return undefined;
            if (isSluiceError(err) && !isRetriable(err)) {
              const d = err.details as { highWatermark?: number; logStartOffset?: number };
              return {
                ...base,
                highWatermark: d.highWatermark ?? -1,
                logStartOffset: d.logStartOffset ?? -1,
                nextOffset: offset,
                records: Buffer.alloc(0),
                error: err,
              };
            }
            throw err;
          }
        }),
      );
      return settled.filter((r): r is FetchPartitionResult => r !== undefined);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Handles one partition's fetch answer; returns the number of records handed over (undefined if skipped). */
  private async handleResult(
    state: PartitionState,
    offset: number,
    epoch: number,
    r: FetchPartitionResult,
  ): Promise<number | undefined> {
    const current = () =>
      this.partitions.get(tpKey(state.topic, state.partition)) === state &&
      state.epoch === epoch &&
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
                  tpKey(state.topic, state.partition),
                  { logStartOffset: r.logStartOffset, highWatermark: r.highWatermark },
                ],
              ])
            : undefined;
        await this.applyResetPolicy([state], bounds);
        return 0;
      }
      if (isRetriable(r.error) || isSluiceError(r.error, 'UNKNOWN_TOPIC_OR_PARTITION')) return 0;
      throw r.error;
    }
    const messages: KafkaMessage[] = [];
    if (r.records.length > 0) {
      const { batches } = decodeRecordBatches(r.records);
      for (const b of batches) {
        for (const rec of b.records) {
          if (rec.offset < offset || rec.offset >= r.highWatermark) continue;
          messages.push({
            offset: rec.offset,
            timestamp: rec.timestamp,
            key: rec.key,
            value: rec.value,
            headers: toConsumedHeaders(rec.headers),
          });
        }
      }
    }
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
      if (!all) state.epoch++;
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
    const heartbeat = async () => {
      if (this.member && Date.now() - this.lastBeatAt > this.member.heartbeatIntervalMs)
        await this.heartbeat();
    };
    try {
      if (this.handlers!.eachMessage) {
        for (const message of messages) {
          if (!this.running || !current() || this.isPaused(state)) break;
          await this.handlers!.eachMessage({ topic, partition, message, heartbeat, pause });
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
        await this.handlers!.eachBatch!({
          batch,
          resolveOffset: resolve,
          heartbeat,
          commitOffsetsIfNecessary: () => this.maybeAutoCommit(),
          isRunning: () => this.running,
          isStale: () => !current(),
          pause,
        });
        if (this.handlers!.eachBatchAutoResolve !== false) resolve(last);
      }
      this.handlerFailures = 0;
    } catch (err) {
      this.handlerFailures++;
      if (this.handlerFailures > this.retry.retries) throw new HandlerError(err);
      // Deliver again from the first unresolved record, after a backoff.
      await this.idle(backoffMs(this.retry, this.handlerFailures - 1));
    }
    return resolved;
  }

  private crash(error: unknown): void {
    const cause = error instanceof HandlerError ? error.cause : error;
    this.emit('crash', { error: cause });
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    this.running = false;
    this.wake();
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    await this.beating?.catch(() => undefined);
    if (this.groupId !== undefined && this.member !== undefined) {
      if (this.autoCommit) await this.commitOffsets().catch(() => undefined);
      const member = this.member;
      this.member = undefined;
      await this.transport
        .json('DELETE', `${this.groupPath()}/members/${seg(member.memberId)}`, undefined, {
          retry: { retries: 2 },
        })
        .catch(() => undefined);
    }
    this.partitions.clear();
    if (this.groupId !== undefined) this.target = undefined;
    this.emit('stop', {});
  }
}

/** A handler kept failing past the retry limit. */
class HandlerError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
