/**
 * What a consumer's user writes and reads: its options, the payloads `eachMessage` and `eachBatch` get,
 * and the events it emits. Shaped as KafkaJS's.
 */

import { LOG_LIMITS } from '../../shared/model';
import type { RetryOptions } from '../retry';
import type { KafkaMessage, TopicPartition, TopicPartitionOffset } from '../types';

/**
 * What the consumer trades between latency and cost on AWS (bench/cost.ts prices each; README "What it
 * costs"). A long poll holds a fetch function for its whole wait, and every fetch and heartbeat is an API
 * Gateway call, so on an idle topic the upkeep, not the data, is the bill:
 *
 *   latency   sessionTimeoutMs 10000, heartbeat every 3.3 s, long-polls continuously, idle or not
 *   balanced  sessionTimeoutMs 30000, heartbeat every 10 s when steady (every 3 s while the assignment
 *             moves); after 15 s of empty long polls (3 at maxWaitMs 5000), a short fetch every 5 s
 *             until records come
 *   cost      sessionTimeoutMs 60000, heartbeat every 20 s when steady; idle after 10 s of empty long
 *             polls, then a short fetch every 15 s
 *
 * Idle backoff: the first fetch that returns records puts the consumer back to continuous long-polling
 * at once, so it only delays the first record after an idle spell, by at most idleFetchIntervalMs (plus
 * one short fetch) beyond what a long poll would take. While records flow nothing changes.
 */
export type ConsumerProfile = 'latency' | 'balanced' | 'cost';

export interface ConsumerProfileSettings {
  readonly sessionTimeoutMs: number;
  /** How long long polls in a row must have come back empty for the consumer to be idle; 0: never idle. */
  readonly idleAfterMs: number;
  /** While idle: the pause before each short fetch (maxWaitMs 0), in ms. */
  readonly idleFetchIntervalMs: number;
  /** Heartbeat interval while the member's generation or assignment moved lately, at most, in ms. */
  readonly settlingHeartbeatMs: number;
}

export const CONSUMER_PROFILES: Readonly<Record<ConsumerProfile, ConsumerProfileSettings>> = {
  latency: { sessionTimeoutMs: 10_000, idleAfterMs: 0, idleFetchIntervalMs: 0, settlingHeartbeatMs: 3_000 },
  balanced: {
    sessionTimeoutMs: 30_000,
    idleAfterMs: 15_000,
    idleFetchIntervalMs: 5_000,
    settlingHeartbeatMs: 3_000,
  },
  cost: {
    sessionTimeoutMs: 60_000,
    idleAfterMs: 10_000,
    idleFetchIntervalMs: 15_000,
    settlingHeartbeatMs: 3_000,
  },
};

/** The named profile's settings; a clear error for any other name. */
export function consumerProfile(name: ConsumerProfile | undefined): ConsumerProfileSettings {
  const profileName = name ?? 'balanced';
  const profile = CONSUMER_PROFILES[profileName];
  if (!Object.hasOwn(CONSUMER_PROFILES, profileName) || profile === undefined) {
    throw new RangeError(
      `profile must be latency, balanced or cost, but ${String(profileName)} was provided`,
    );
  }
  return profile;
}

/** Heartbeats at the settling interval after a join or a change of generation or assignment. */
export const SETTLING_BEATS = 3;

export interface ConsumerOptions {
  /** Consume as a member of this group: partitions are shared among its members, offsets committed. @default none: you choose the partitions */
  readonly groupId?: string;
  /** Latency against cost on AWS: session timeout, heartbeats when steady, idle backoff (CONSUMER_PROFILES). @default 'balanced' */
  readonly profile?: ConsumerProfile;
  /** A member that does not heartbeat for this long is expelled, in ms. @default the profile's: 30000 */
  readonly sessionTimeoutMs?: number;
  /** How long a member may take to give up revoked partitions, in ms. @default 30000 */
  readonly rebalanceTimeoutMs?: number;
  /** Heartbeat interval when steady (fixed, even while settling, when set). @default the server's: a third of sessionTimeoutMs */
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
  /** Once long polls in a row have come back empty for this long (ms), the consumer backs off; 0: always long-poll. @default the profile's: 15000 */
  readonly idleAfterMs?: number;
  /** While idle, the pause before each short fetch, in ms: the most a first record after an idle spell waits beyond a long poll. @default the profile's: 5000 */
  readonly idleFetchIntervalMs?: number;
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
  profile: 'balanced' as ConsumerProfile,
  ...CONSUMER_PROFILES.balanced,
  rebalanceTimeoutMs: 30_000,
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
  maxWaitMs: 5_000,
  minBytes: 1,
  maxBytes: LOG_LIMITS.maxFetchBytes,
  maxBytesPerPartition: 1024 * 1024,
} as const;

export type ConsumerListener<E extends keyof ConsumerEvents> = (payload: ConsumerEvents[E]) => void;

/** The consumer's events, to listeners that must not break it. */
export class ConsumerEmitter {
  private readonly listeners = new Map<keyof ConsumerEvents, Set<ConsumerListener<keyof ConsumerEvents>>>();

  on<E extends keyof ConsumerEvents>(event: E, listener: ConsumerListener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as ConsumerListener<keyof ConsumerEvents>);
    return () => set.delete(listener as ConsumerListener<keyof ConsumerEvents>);
  }

  emit<E extends keyof ConsumerEvents>(event: E, payload: ConsumerEvents[E]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        (l as ConsumerListener<E>)(payload);
      } catch {
        // A listener's error must not break the consumer.
      }
    }
  }
}
