/**
 * The consumer, as KafkaJS's: `subscribe`, then `run({ eachMessage })` or `run({ eachBatch })`. This
 * class is the public face; the work is done by its parts, one role each, as in KafkaJS's consumer/:
 *
 *   GroupMember    join, heartbeat, leave, generation (group-member.ts)
 *   OffsetManager  positions, processed vs committed offsets, reset policy, commits (offset-manager.ts)
 *   Fetcher        long-poll fetches, decoding, records before the position dropped (fetcher.ts)
 *   Runner         the loop: reconcile, fetch, hand over, pause/resume, handler retries (runner.ts)
 *
 * In a group (KIP-848 style, the server assigns) a revoked partition's batch in hand is finished and its
 * processed offsets committed before it is let go; fenced or expelled, the consumer drops its partitions
 * without committing (its commits would be refused) and joins again.
 *
 * Delivery is at-least-once: an offset is committed only after the handler finished the record before it
 * (F11), so a crash redelivers from the last commit (F9).
 */

import { SluiceError } from '../../shared/errors';
import { LOG_LIMITS } from '../../shared/model';
import { partitionMemoryKey } from '../../shared/model/partitions';
import { intInRange } from '../options';
import { type Clock, SYSTEM_CLOCK } from '../producer/clock';
import { type ResolvedRetry, resolveRetry } from '../retry';
import type { Transport } from '../transport';
import type { TopicPartition, TopicPartitionOffset } from '../types';
import { Fetcher } from './fetcher';
import { GroupMember } from './group-member';
import { describeTopic, OffsetManager } from './offset-manager';
import { HandlerError, Runner, type TopicPartitions } from './runner';
import {
  CONSUMER_DEFAULTS,
  ConsumerEmitter,
  type ConsumerEvents,
  type ConsumerListener,
  type ConsumerOptions,
  consumerProfile,
  type RunOptions,
  type SubscribeOptions,
} from './types';

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
  private readonly autoCommit: boolean;
  private readonly retry: ResolvedRetry;
  private readonly events = new ConsumerEmitter();
  private readonly member: GroupMember;
  private readonly offsets: OffsetManager;
  private readonly runner: Runner;

  private topics: string[] = [];
  private topicPatterns: RegExp[] = [];
  private manual: TopicPartition[] | undefined;
  private stopping: Promise<void> | undefined;

  /** @internal Use `sluice.consumer()`. */
  constructor(
    private readonly transport: Transport,
    options: ConsumerOptions = {},
    perTopicAuth = false,
    /** Time and timers: a virtual clock counts the consumer's requests exactly (bench/consumer-model.ts). */
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.groupId = options.groupId;
    if (this.groupId !== undefined && (typeof this.groupId !== 'string' || this.groupId === '')) {
      throw new RangeError('groupId must be a non-empty string');
    }
    const profile = consumerProfile(options.profile);
    // The server checks it (GROUP_LIMITS) and answers a third of it as the heartbeat interval.
    const sessionTimeoutMs = options.sessionTimeoutMs ?? profile.sessionTimeoutMs;
    const heartbeatIntervalMs =
      options.heartbeatIntervalMs === undefined
        ? undefined
        : intInRange('heartbeatIntervalMs', options.heartbeatIntervalMs, 10, sessionTimeoutMs);
    this.autoCommit = options.autoCommit ?? CONSUMER_DEFAULTS.autoCommit;
    // Each option, or its default, within [min, max].
    const option = (name: keyof typeof CONSUMER_DEFAULTS & keyof ConsumerOptions, min: number, max: number) =>
      intInRange(
        name,
        (options[name] as number | undefined) ?? (CONSUMER_DEFAULTS[name] as number),
        min,
        max,
      );
    const autoCommitIntervalMs = option('autoCommitIntervalMs', 0, 3_600_000);
    const maxWaitMs = option('maxWaitMs', 0, LOG_LIMITS.maxWaitMsCap);
    const minBytes = option('minBytes', 0, LOG_LIMITS.maxFetchBytes);
    const maxBytes = option('maxBytes', 1, LOG_LIMITS.maxFetchBytes);
    const maxBytesPerPartition = option('maxBytesPerPartition', 1, LOG_LIMITS.maxFetchBytes);
    const idleAfterMs = intInRange('idleAfterMs', options.idleAfterMs ?? profile.idleAfterMs, 0, 86_400_000);
    const idleFetchIntervalMs = intInRange(
      'idleFetchIntervalMs',
      options.idleFetchIntervalMs ?? profile.idleFetchIntervalMs,
      0,
      3_600_000,
    );
    this.retry = resolveRetry(options.retry);

    this.member = new GroupMember(
      transport,
      {
        groupId: this.groupId,
        sessionTimeoutMs,
        rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? CONSUMER_DEFAULTS.rebalanceTimeoutMs,
        heartbeatIntervalMs,
        settlingHeartbeatMs: profile.settlingHeartbeatMs,
        assignor: options.assignor,
      },
      {
        isRunning: () => this.runner.isRunning(),
        owned: () =>
          [...this.offsets.partitions.values()].map(({ topic, partition }) => ({ topic, partition })),
        assigned: (assignment) => this.runner.setAssignment(assignment),
        lost: () => this.runner.dropAll(),
        crash: (error) => this.crash(error),
      },
      this.events,
      clock,
    );
    this.offsets = new OffsetManager(
      transport,
      { groupId: this.groupId, autoCommit: this.autoCommit, autoCommitIntervalMs },
      {
        identity: () => this.member.identity(),
        lost: () => this.member.lostMembership(),
        heartbeat: () => void this.member.heartbeat(),
      },
      this.events,
      clock,
    );
    this.runner = new Runner(
      {
        groupId: this.groupId,
        autoCommit: this.autoCommit,
        retry: this.retry,
        // A consumer that asked for short fetches (maxWaitMs 0) holds no function while it waits.
        idleAfterMs: maxWaitMs > 0 ? idleAfterMs : 0,
        idleFetchIntervalMs,
      },
      {
        offsets: this.offsets,
        member: this.member,
        fetcher: new Fetcher(transport, {
          maxWaitMs,
          minBytes,
          maxBytes,
          maxBytesPerPartition,
          perTopicAuth,
        }),
        events: this.events,
        topics: () => this.topics,
        crash: (error) => this.crash(error),
        clock,
      },
    );
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
  on<E extends keyof ConsumerEvents>(event: E, listener: ConsumerListener<E>): () => void {
    return this.events.on(event, listener);
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
    if (this.runner.isRunning()) throw new SluiceError('INVALID_REQUEST', 'subscribe before run');
    if (this.manual)
      throw new SluiceError('INVALID_REQUEST', 'a consumer either subscribes or assigns, not both');
    const list = [...(options.topics ?? []), ...(options.topic === undefined ? [] : [options.topic])];
    if (list.length === 0) throw new SluiceError('INVALID_REQUEST', 'subscribe needs topics');
    for (const t of list) {
      if (typeof t === 'string') {
        if (!this.topics.includes(t)) this.topics.push(t);
      } else this.topicPatterns.push(t);
    }
    this.offsets.resetPolicy = options.fromBeginning ? 'earliest' : 'latest';
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
    if (options.fromBeginning !== undefined)
      this.offsets.resetPolicy = options.fromBeginning ? 'earliest' : 'latest';
    this.manual = partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
    for (const p of partitions)
      if (p.offset !== undefined)
        this.offsets.seekWhenAssigned({ topic: p.topic, partition: p.partition, offset: p.offset });
    this.runner.target = new Map(
      partitions.map((p) => [
        partitionMemoryKey(p.topic, p.partition),
        { topic: p.topic, partition: p.partition },
      ]),
    );
    this.runner.wake();
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
    if (this.runner.isStarted()) throw new SluiceError('INVALID_REQUEST', 'the consumer is already running');
    if (!handlers.eachMessage === !handlers.eachBatch) {
      throw new SluiceError('INVALID_REQUEST', 'run needs exactly one of eachMessage and eachBatch');
    }
    if (this.topics.length === 0 && this.topicPatterns.length === 0 && this.manual === undefined) {
      throw new SluiceError('INVALID_REQUEST', 'subscribe (or assign) before run');
    }
    this.runner.prepare(handlers);
    this.stopping = undefined;
    try {
      if (this.groupId !== undefined) {
        await this.resolveTopics();
        await this.member.join(this.topics);
      } else if (this.manual === undefined) {
        await this.resolveTopics();
        const target = new Map<string, TopicPartition>();
        for (const topic of this.topics) {
          const { partitionCount } = await describeTopic(this.transport, topic);
          for (let p = 0; p < partitionCount; p++)
            target.set(partitionMemoryKey(topic, p), { topic, partition: p });
        }
        this.runner.target = target;
      }
    } catch (err) {
      this.runner.unprepare();
      throw err;
    }
    this.runner.start();
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
    this.offsets.seek(target);
    this.runner.wake();
  }

  /**
   * Stops fetching topics, or some of their partitions, until `resume`.
   *
   * @example
   * ```ts
   * consumer.pause([{ topic: 'orders' }, { topic: 'audit', partitions: [0, 1] }]);
   * ```
   */
  pause(topics: TopicPartitions): void {
    this.runner.pause(topics);
  }

  /**
   * Resumes paused topics or partitions.
   *
   * @example
   * ```ts
   * consumer.resume([{ topic: 'orders' }]);
   * ```
   */
  resume(topics: TopicPartitions): void {
    this.runner.resume(topics);
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
    return [...this.offsets.partitions.values()]
      .filter((s) => this.runner.isPaused(s))
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
    return this.offsets.assignment();
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
    await this.offsets.commit(offsets ?? this.offsets.uncommitted());
  }

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

  private crash(error: unknown): void {
    const cause = error instanceof HandlerError ? error.cause : error;
    this.events.emit('crash', { error: cause });
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    await this.runner.halt();
    await this.member.stopHeartbeats();
    if (this.groupId !== undefined && this.member.identity() !== undefined) {
      if (this.autoCommit) await this.commitOffsets().catch(() => undefined);
      await this.member.leave();
    }
    this.offsets.partitions.clear();
    if (this.groupId !== undefined) this.runner.target = undefined;
    this.events.emit('stop', {});
  }
}
