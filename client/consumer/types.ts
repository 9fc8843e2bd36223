/**
 * What a consumer's user writes and reads: its options, the payloads `eachMessage` and `eachBatch` get,
 * and the events it emits. Shaped as KafkaJS's.
 */

import { LOG_LIMITS } from '../../shared/model';
import type { RetryOptions } from '../retry';
import type { KafkaMessage, TopicPartition, TopicPartitionOffset } from '../types';

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
