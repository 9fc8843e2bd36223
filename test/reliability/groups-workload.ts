/**
 * Consumer groups under faults (F9–F12): members join, heartbeat, consume the partitions they are
 * given, hand each record to the "application" (a `process` event) and auto-commit what they processed.
 * Some crash after processing and before committing (F9), some pause past their session and then try
 * to commit with their old generation (F10), and with clock skew the members' requests are served by
 * group services whose clocks disagree (F12). Every request and every processed record is recorded.
 */

import { isSluiceError } from '../../shared/errors';
import type { GroupService } from '../../shared/groups/group-service';
import type {
  CommitOffsetsResult,
  FetchOffsetsResult,
  HeartbeatResult,
  JoinGroupResult,
} from '../../shared/groups/types';
import type { Recorder } from './history';
import type { Random } from './prng';
import { classifyCode, classifyStatus, type HttpClient, type LogTransport, type Outcome } from './transport';
import { pollFields } from './workloads';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface GroupApi {
  join(group: string, topics: string[], sessionTimeoutMs: number): Promise<Outcome<JoinGroupResult>>;
  heartbeat(
    group: string,
    memberId: string,
    generation: number,
    owned: { topic: string; partition: number }[],
  ): Promise<Outcome<HeartbeatResult>>;
  commit(
    group: string,
    memberId: string,
    generation: number,
    offsets: { topic: string; partition: number; offset: number }[],
  ): Promise<Outcome<CommitOffsetsResult>>;
  leave(group: string, memberId: string): Promise<Outcome<unknown>>;
  fetchOffsets(group: string, topic: string): Promise<Outcome<FetchOffsetsResult>>;
}

/** The group routes over HTTP. */
export class HttpGroupApi implements GroupApi {
  constructor(private readonly http: HttpClient) {}
  join(group: string, topics: string[], sessionTimeoutMs: number) {
    return this.http.json<JoinGroupResult>('POST', `/v1/groups/${group}/members`, {
      topics,
      sessionTimeoutMs,
    });
  }
  heartbeat(
    group: string,
    memberId: string,
    generation: number,
    owned: { topic: string; partition: number }[],
  ) {
    return this.http.json<HeartbeatResult>('POST', `/v1/groups/${group}/members/${memberId}/heartbeat`, {
      generation,
      owned,
    });
  }
  commit(
    group: string,
    memberId: string,
    generation: number,
    offsets: { topic: string; partition: number; offset: number }[],
  ) {
    return this.http.json<CommitOffsetsResult>('POST', `/v1/groups/${group}/offsets`, {
      memberId,
      generation,
      offsets,
    });
  }
  leave(group: string, memberId: string) {
    return this.http.json('DELETE', `/v1/groups/${group}/members/${memberId}`);
  }
  fetchOffsets(group: string, topic: string) {
    return this.http.json<FetchOffsetsResult>('GET', `/v1/groups/${group}/offsets?topic=${topic}`);
  }
}

/** A GroupService called directly (each member may have its own, with its own clock: F12). */
export class DirectGroupApi implements GroupApi {
  constructor(private readonly service: GroupService) {}
  private async call<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
    try {
      return { type: 'ok', value: await fn() };
    } catch (err) {
      if (isSluiceError(err))
        return { type: classifyStatus(err.status), error: err.code, details: err.details };
      return { type: 'info', error: (err as Error).message };
    }
  }
  join(group: string, topics: string[], sessionTimeoutMs: number) {
    return this.call(() => this.service.join(group, { topics, sessionTimeoutMs }));
  }
  heartbeat(
    group: string,
    memberId: string,
    generation: number,
    owned: { topic: string; partition: number }[],
  ) {
    return this.call(() => this.service.heartbeat(group, memberId, { generation, owned }));
  }
  commit(
    group: string,
    memberId: string,
    generation: number,
    offsets: { topic: string; partition: number; offset: number }[],
  ) {
    return this.call(() => this.service.commitOffsets(group, { memberId, generation, offsets }));
  }
  leave(group: string, memberId: string) {
    return this.call(() => this.service.leave(group, memberId));
  }
  fetchOffsets(group: string, topic: string) {
    return this.call(() => this.service.fetchOffsets(group, topic));
  }
}

export interface ConsumerBehaviour {
  readonly sessionTimeoutMs: number;
  /** Auto-commit interval, ms. */
  readonly commitEveryMs: number;
  /** Per poll with records: chance to die after processing, before committing (F9). */
  readonly crashChance: number;
  /** Per loop: chance to stop heartbeating past the session, then commit as a zombie (F10). */
  readonly pauseChance: number;
}

export interface ConsumerStats {
  crashes: number;
  pauses: number;
  zombieCommits: number;
}

/** One group member's life (and its rejoins after an expulsion). Sequential: one process in the history. */
export class GroupConsumer {
  private memberId: string | undefined;
  private generation = 0;
  /** Partitions it consumes → the next offset to process. */
  private readonly owned = new Map<number, number>();
  /** Positions last committed, to skip commits that would change nothing. */
  private readonly committed = new Map<number, number>();
  stopped = false;
  crashed = false;

  constructor(
    readonly name: string,
    readonly group: string,
    readonly topic: string,
    private readonly api: GroupApi,
    private readonly transport: LogTransport,
    private readonly recorder: Recorder,
    private readonly rng: Random,
    private readonly behaviour: ConsumerBehaviour,
    private readonly stats: ConsumerStats,
  ) {}

  private ownedList() {
    return [...this.owned.keys()]
      .sort((a, b) => a - b)
      .map((partition) => ({ topic: this.topic, partition }));
  }

  private async join(): Promise<boolean> {
    this.owned.clear();
    this.committed.clear();
    this.recorder.invoke(this.name, 'join', { group: this.group, topic: this.topic });
    const out = await this.api.join(this.group, [this.topic], this.behaviour.sessionTimeoutMs);
    if (out.type !== 'ok') {
      this.recorder.complete(this.name, out.type, { group: this.group, topic: this.topic, error: out.error });
      return false;
    }
    this.memberId = out.value.memberId;
    this.generation = out.value.generation;
    const partitions = out.value.assignment.filter((a) => a.topic === this.topic).map((a) => a.partition);
    this.recorder.complete(this.name, 'ok', {
      group: this.group,
      topic: this.topic,
      member: this.memberId,
      generation: this.generation,
      partitions,
    });
    await this.adopt(partitions);
    return true;
  }

  /** Starts consuming newly granted partitions from the group's committed offsets. */
  private async adopt(partitions: readonly number[]): Promise<void> {
    const fresh = partitions.filter((p) => !this.owned.has(p));
    if (fresh.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      const out = await this.api.fetchOffsets(this.group, this.topic);
      if (out.type === 'ok') {
        for (const p of fresh) {
          const c = out.value.offsets.find((o) => o.partition === p);
          this.owned.set(p, c?.offset ?? 0);
          this.committed.set(p, c?.offset ?? 0);
        }
        return;
      }
      if (attempt > 20) throw new Error(`${this.name}: cannot read committed offsets: ${out.error}`);
      await sleep(100);
    }
  }

  /** Heartbeat; false when the member is gone (expelled) and must rejoin. */
  private async heartbeat(): Promise<boolean> {
    const owned = this.ownedList();
    const fields = {
      group: this.group,
      topic: this.topic,
      member: this.memberId!,
      generation: this.generation,
      partitions: owned.map((o) => o.partition),
    };
    this.recorder.invoke(this.name, 'heartbeat', fields);
    const out = await this.api.heartbeat(this.group, this.memberId!, this.generation, owned);
    if (out.type !== 'ok') {
      this.recorder.complete(this.name, out.type, { ...fields, error: out.error });
      // A clear rejection (the member was expelled): rejoin as a new member.
      return out.type === 'info';
    }
    this.generation = out.value.generation;
    const assigned = out.value.assignment.filter((a) => a.topic === this.topic).map((a) => a.partition);
    this.recorder.complete(this.name, 'ok', { ...fields, generation: this.generation, partitions: assigned });
    // Revoked: commit what was processed, then stop (the next heartbeat leaves it out: released).
    for (const p of [...this.owned.keys()]) {
      if (!assigned.includes(p)) {
        await this.commit([p]);
        this.owned.delete(p);
        this.committed.delete(p);
      }
    }
    await this.adopt(assigned);
    return true;
  }

  private async commit(partitions: readonly number[], force = false): Promise<void> {
    for (const p of partitions) {
      const offset = this.owned.get(p);
      if (offset === undefined || (!force && this.committed.get(p) === offset)) continue;
      const fields = {
        group: this.group,
        topic: this.topic,
        partition: p,
        member: this.memberId!,
        generation: this.generation,
        offset,
      };
      this.recorder.invoke(this.name, 'commit', fields);
      const out = await this.api.commit(this.group, this.memberId!, this.generation, [
        { topic: this.topic, partition: p, offset },
      ]);
      this.recorder.complete(this.name, out.type, {
        ...fields,
        ...(out.type === 'ok' ? {} : { error: out.error }),
      });
      if (out.type === 'ok') this.committed.set(p, offset);
    }
  }

  private async poll(): Promise<boolean> {
    const asked = this.ownedList().map((o) => ({ ...o, offset: this.owned.get(o.partition)! }));
    if (asked.length === 0) {
      await sleep(50);
      return false;
    }
    for (const a of asked) {
      this.recorder.invoke(`${this.name}/p${a.partition}`, 'poll', {
        topic: this.topic,
        partition: a.partition,
        offset: a.offset,
        maxWaitMs: 100,
      });
    }
    const out = await this.transport.fetch({ partitions: asked, maxWaitMs: 100, minBytes: 1 });
    let processed = false;
    for (const [i, a] of asked.entries()) {
      const proc = `${this.name}/p${a.partition}`;
      if (out.type !== 'ok') {
        this.recorder.complete(proc, out.type, { error: out.error });
        continue;
      }
      const r = out.value[i];
      if (!r || r.error) {
        const code = r?.error?.code ?? 'no result';
        this.recorder.complete(proc, classifyCode(code), { error: code });
        continue;
      }
      const fields = pollFields(r, a.offset);
      this.recorder.complete(proc, 'ok', fields);
      if (fields.corrupt) continue;
      for (const [offset, value] of fields.records) {
        // The application's work: recorded as it happens.
        const work = {
          group: this.group,
          topic: this.topic,
          partition: a.partition,
          member: this.memberId!,
          offset,
          values: [value],
        };
        this.recorder.invoke(this.name, 'process', work);
        this.recorder.complete(this.name, 'ok', work);
        processed = true;
      }
      if (this.owned.has(a.partition)) this.owned.set(a.partition, Math.max(a.offset, r.nextOffset));
    }
    return processed;
  }

  async run(): Promise<void> {
    let lastBeat = 0;
    let lastCommit = Date.now();
    const beatEvery = Math.max(100, Math.floor(this.behaviour.sessionTimeoutMs / 4));
    while (!this.stopped) {
      if (!this.memberId) {
        if (!(await this.join())) {
          await sleep(100);
          continue;
        }
        lastBeat = Date.now();
      }
      if (Date.now() - lastBeat >= beatEvery) {
        lastBeat = Date.now();
        if (!(await this.heartbeat())) {
          this.memberId = undefined;
          continue;
        }
      }
      const processed = await this.poll();
      if (processed && this.rng.chance(this.behaviour.crashChance)) {
        // F9: dies after processing, before committing; its session runs out and another member resumes.
        this.stats.crashes++;
        this.crashed = true;
        return;
      }
      if (this.rng.chance(this.behaviour.pauseChance)) {
        // F10: a pause (GC, a frozen container) past the session; then it carries on as a zombie.
        this.stats.pauses++;
        await sleep(this.behaviour.sessionTimeoutMs * 2 + this.rng.int(0, 500));
        this.stats.zombieCommits++;
        await this.commit([...this.owned.keys()], true);
        lastBeat = 0;
        continue;
      }
      if (Date.now() - lastCommit >= this.behaviour.commitEveryMs) {
        lastCommit = Date.now();
        await this.commit([...this.owned.keys()]);
      }
    }
    if (this.memberId) {
      await this.commit([...this.owned.keys()]);
      this.recorder.invoke(this.name, 'leave', { group: this.group, member: this.memberId });
      const out = await this.api.leave(this.group, this.memberId);
      this.recorder.complete(this.name, out.type, { group: this.group, member: this.memberId });
    }
  }
}
