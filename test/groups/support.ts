import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { isSluiceError, SluiceError } from '../../shared/errors';
import { GroupService, type GroupServiceOptions } from '../../shared/groups/group-service';
import type { GroupStore } from '../../shared/groups/store';
import type { TopicMetadataSource, TopicPartition } from '../../shared/groups/types';
import type { OffsetSpec } from '../../shared/log/types';
import { DynamoGroupStore } from '../../shared/store/group-store';
import type { TestStorage } from '../support/storage';

/** Topics in memory: partition counts and per-partition bounds the tests set. */
export class FakeTopics implements TopicMetadataSource {
  readonly counts = new Map<string, number>();
  readonly bounds = new Map<string, { logStartOffset: number; highWatermark: number }>();
  /** Topic ids that tests set (a topic deleted and created again); otherwise `<topic>-id`. */
  readonly ids = new Map<string, string>();

  constructor(topics: Record<string, number> = {}) {
    for (const [t, n] of Object.entries(topics)) this.counts.set(t, n);
  }

  async partitionCount(topic: string): Promise<number> {
    const n = this.counts.get(topic);
    if (n === undefined) throw new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${topic}`);
    return n;
  }

  async topicId(topic: string): Promise<string> {
    await this.partitionCount(topic);
    return this.ids.get(topic) ?? `${topic}-id`;
  }

  /** The topic deleted and created again with `partitions`: a new id, empty partitions. */
  recreate(topic: string, partitions: number): void {
    this.counts.set(topic, partitions);
    this.ids.set(topic, `${topic}-id-${Math.random().toString(36).slice(2, 8)}`);
    for (const key of [...this.bounds.keys()]) if (key.startsWith(`${topic}#`)) this.bounds.delete(key);
  }

  async partitionBounds(topic: string, partition: number) {
    await this.partitionCount(topic);
    return this.bounds.get(`${topic}#${partition}`) ?? { logStartOffset: 0, highWatermark: 0 };
  }

  async offsetFor(topic: string, partition: number, spec: OffsetSpec): Promise<number> {
    const b = await this.partitionBounds(topic, partition);
    if (spec === 'earliest') return b.logStartOffset;
    if (spec === 'latest') return b.highWatermark;
    // A fake time index: offset = timestamp / 1000, within bounds.
    return Math.min(Math.max(Math.floor(spec.timestamp / 1000), b.logStartOffset), b.highWatermark);
  }
}

/** A settable clock for `now`. */
export class Clock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export function makeService(
  storage: TestStorage,
  topics: TopicMetadataSource,
  clock: Clock,
  options?: GroupServiceOptions,
  store?: GroupStore,
): GroupService {
  return new GroupService({
    store: store ?? new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable),
    topics,
    now: clock.now,
    options: { metadataRefreshMs: 3_600_000, ...options },
  });
}

/** Counts the DynamoDB commands sent through a client (one per logical call, before SDK retries). */
export function countCalls(dynamo: DynamoDBClient): {
  counts: Map<string, number>;
  total(): number;
  reset(): void;
} {
  const counts = new Map<string, number>();
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `sluiceCallCounter${Math.random()}` },
  );
  return {
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
  };
}

export async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    if (isSluiceError(err)) return err.code;
    throw err;
  }
}

export const key = (tp: TopicPartition): string => `${tp.topic}#${tp.partition}`;
export const keys = (tps: readonly TopicPartition[]): string[] => tps.map(key).sort();

let n = 0;
export function uniqueGroup(prefix = 'g'): string {
  n += 1;
  return `${prefix}-${n}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A well-behaved consumer: it consumes what its last answer assigned and lists exactly that as owned. */
export class Member {
  memberId: string | undefined;
  generation = 0;
  held: TopicPartition[] = [];

  constructor(
    public service: GroupService,
    readonly group: string,
    readonly topics: string[],
    readonly sessionTimeoutMs = 10_000,
  ) {}

  get id(): string {
    if (this.memberId === undefined) throw new Error('not joined');
    return this.memberId;
  }

  async join(extra: { assignor?: 'sticky' | 'range' | 'roundrobin'; rebalanceTimeoutMs?: number } = {}) {
    const r = await this.service.join(this.group, {
      topics: this.topics,
      sessionTimeoutMs: this.sessionTimeoutMs,
      ...extra,
      ...(this.memberId === undefined ? {} : { memberId: this.memberId }),
    });
    this.memberId = r.memberId;
    this.generation = r.generation;
    this.held = r.assignment;
    return r;
  }

  async heartbeat() {
    const r = await this.service.heartbeat(this.group, this.id, {
      generation: this.generation,
      owned: this.held,
    });
    this.generation = r.generation;
    this.held = r.assignment;
    return r;
  }

  commit(offsets: { topic: string; partition: number; offset: number; metadata?: string }[]) {
    return this.service.commitOffsets(this.group, {
      memberId: this.id,
      generation: this.generation,
      offsets,
    });
  }

  leave() {
    return this.service.leave(this.group, this.id);
  }
}

/** Heartbeats every member in rounds until the group is Stable (or the rounds run out). */
export async function settle(members: readonly Member[], rounds = 6): Promise<void> {
  const service = members[0]!.service;
  const group = members[0]!.group;
  for (let i = 0; i < rounds; i++) {
    for (const m of members) await m.heartbeat();
    const d = await service.describeGroup(group);
    const stable =
      d.state === 'Stable' &&
      members.every(
        (m) =>
          keys(m.held).join() === keys(d.members.find((x) => x.memberId === m.id)?.assignment ?? []).join(),
      );
    if (stable) return;
  }
}

export function allPartitions(topics: Record<string, number>): string[] {
  return Object.entries(topics)
    .flatMap(([t, n]) => Array.from({ length: n }, (_, p) => `${t}#${p}`))
    .sort();
}

/** One weighted choice for `fc.oneof` in a model test: an operation `{ kind, ...fields }`, each field drawn. */
export function weightedOp<const K extends string, V extends object = Record<never, never>>(
  weight: number,
  kind: K,
  fields: ArbitraryFields<V> = {} as ArbitraryFields<V>,
): fc.WeightedArbitrary<{ kind: K } & V> {
  // fc.record cannot see through the spread of a generic mapped type: it draws exactly `{ kind } & V`.
  const arbitrary = fc.record({ kind: fc.constant(kind), ...fields }) as fc.Arbitrary<{ kind: K } & V>;
  return { weight, arbitrary };
}

type ArbitraryFields<V> = { [P in keyof V]: fc.Arbitrary<V[P]> };
