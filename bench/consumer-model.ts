/**
 * The SDK consumer, run for real on a virtual clock against a counting transport: how many fetches (long
 * polls and the idle backoff's short fetches) and heartbeats it sends on a topic, how long it holds the
 * fetch function, how many partition heads the server reads for it, and how long a record produced after
 * an idle spell waits to be handed over. The cost model (bench/cost.ts) prices these counts instead of
 * assuming a polling behaviour, and test/client/consumer-idle.test.ts asserts them.
 *
 * Nothing here is timed: the clock is virtual (bench/producer-model.ts VirtualClock). The transport plays
 * the group service (a third of the session timeout as heartbeat interval, as shared/groups does) and the
 * log: a long poll reads the heads at the server's backoff (DEFAULT_FETCH_TUNING: minPollMs doubling to
 * maxPollMs, as shared/log/fetch.ts) and answers at the first read that sees a record, or at maxWaitMs.
 * Requests take no time on the wire; the cost model adds AWS's.
 */

import { Consumer, type ConsumerOptions } from '../client';
import type { Transport, TransportRequest, TransportResponse } from '../client/transport';
import { decodeFetchRequest, encodeFetchResponse } from '../shared/api/framing';
import { encodeRecordBatch } from '../shared/codec/record-batch';
import { DEFAULT_FETCH_TUNING, type FetchTuning } from '../shared/log/fetch';
import type { FetchPartitionResult } from '../shared/model';
import { VirtualClock } from './producer-model';

export interface ConsumerRunOptions {
  readonly options: ConsumerOptions;
  readonly partitions: number;
  /** Virtual seconds to run. */
  readonly seconds: number;
  /** Virtual ms at which one record is produced to partition 0 (after an idle spell); none if undefined. */
  readonly produceAtMs?: number;
  readonly tuning?: Pick<FetchTuning, 'minPollMs' | 'maxPollMs'>;
}

export interface ConsumerRunResult {
  /** Per second, over the run after the first `warmupSeconds` (join and the first empty long polls). */
  readonly longPollsPerSec: number;
  readonly shortFetchesPerSec: number;
  readonly heartbeatsPerSec: number;
  /** Seconds per second with a fetch in flight (what the fetch function is billed for). */
  readonly fetchBusy: number;
  /** Head reads per second (all partitions). */
  readonly headReadsPerSec: number;
  /** Virtual ms from the record's production to its handler, when one was produced. */
  readonly deliveryMs: number | undefined;
  /** Every fetch of the run (virtual ms it was sent, its maxWaitMs) and every heartbeat's time. */
  readonly fetches: readonly { readonly at: number; readonly maxWaitMs: number; records: boolean }[];
  readonly heartbeats: readonly number[];
  /** Virtual ms at which the record was handed over. */
  readonly deliveredAt: number | undefined;
}

/** The server's head reads of a long poll from 0 to `waitMs`: at 0, then after each backoff pause. */
export function headReadTimes(waitMs: number, tuning = DEFAULT_FETCH_TUNING): number[] {
  const times = [0];
  let t = 0;
  let pause = tuning.minPollMs;
  while (t < waitMs) {
    t += Math.min(pause, Math.max(1, waitMs - t));
    times.push(t);
    pause = Math.min(pause * 2, tuning.maxPollMs);
  }
  return times;
}

interface Window {
  readonly from: number;
  longPolls: number;
  shortFetches: number;
  heartbeats: number;
  busyMs: number;
  headReads: number;
}

/** A topic `t` of `partitions` partitions, one group, behind a counting transport on `clock`. */
class IdleTopic {
  produced: { at: number; batch: Buffer } | undefined;
  window: Window = { from: 0, longPolls: 0, shortFetches: 0, heartbeats: 0, busyMs: 0, headReads: 0 };
  readonly fetches: { at: number; maxWaitMs: number; records: boolean }[] = [];
  readonly heartbeats: number[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly partitions: number,
    private readonly tuning: Pick<FetchTuning, 'minPollMs' | 'maxPollMs'>,
    private sessionTimeoutMs = 0,
  ) {}

  produce(): void {
    this.produced = {
      at: this.clock.now(),
      batch: encodeRecordBatch([{ value: Buffer.from('after an idle spell') }], { now: this.clock.now() }),
    };
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const all = Array.from({ length: this.partitions }, (_, partition) => ({ topic: 't', partition }));
    const interval = Math.floor(this.sessionTimeoutMs / 3);
    if (method === 'POST' && path.endsWith('/members')) {
      this.sessionTimeoutMs = (body as { sessionTimeoutMs: number }).sessionTimeoutMs;
      const heartbeatIntervalMs = Math.floor(this.sessionTimeoutMs / 3);
      return { memberId: 'm', generation: 1, assignment: all, heartbeatIntervalMs } as T;
    }
    if (method === 'POST' && path.endsWith('/heartbeat')) {
      this.window.heartbeats++;
      this.heartbeats.push(this.clock.now());
      return { generation: 1, assignment: all, heartbeatIntervalMs: interval } as T;
    }
    if (method === 'GET' && path.includes('/offsets')) return { offsets: [] } as T;
    if (method === 'GET' && path.startsWith('/v1/topics/')) {
      const partitions = all.map(({ partition }) => ({ partition, logStartOffset: 0, highWatermark: 0 }));
      return { partitionCount: this.partitions, partitions } as T;
    }
    return {} as T;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    if (req.path !== '/v1/fetch') return Promise.reject(new Error(`unexpected ${req.method} ${req.path}`));
    const fetch = decodeFetchRequest(req.body!);
    const maxWaitMs = fetch.maxWaitMs ?? 0;
    const started = this.clock.now();
    const window = this.window;
    const logged = { at: started, maxWaitMs, records: false };
    this.fetches.push(logged);
    if (maxWaitMs > 0) window.longPolls++;
    else window.shortFetches++;
    // The server's rounds: answer at the first that sees the record, or at the deadline.
    const rounds = headReadTimes(maxWaitMs, { ...DEFAULT_FETCH_TUNING, ...this.tuning });
    const wanted = fetch.partitions.find((p) => p.partition === 0);
    const ready = (at: number) =>
      this.produced !== undefined && wanted !== undefined && wanted.offset === 0 && this.produced.at <= at;
    return new Promise((resolve, reject) => {
      let round = 0;
      const done = (aborted: boolean) => {
        const elapsed = this.clock.now() - started;
        window.busyMs += elapsed;
        window.headReads += fetch.partitions.length * rounds.filter((t) => t <= elapsed).length;
        if (aborted) {
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          return;
        }
        const results: FetchPartitionResult[] = fetch.partitions.map((p) => {
          const hit = p.partition === 0 && ready(this.clock.now()) && p.offset === 0;
          return {
            topic: p.topic,
            partition: p.partition,
            highWatermark: hit ? 1 : this.produced && p.partition === 0 ? 1 : 0,
            logStartOffset: 0,
            nextOffset: hit ? 1 : p.offset,
            records: hit ? this.produced!.batch : Buffer.alloc(0),
          };
        });
        logged.records = results.some((r) => r.records.length > 0);
        resolve({ status: 200, headers: {}, body: encodeFetchResponse(results) });
      };
      // Each round reads the heads; the answer leaves at the first that sees the record, or the last.
      let timer: unknown;
      const next = () => {
        if (ready(this.clock.now()) || round === rounds.length - 1) {
          req.signal?.removeEventListener('abort', onAbort);
          done(false);
          return;
        }
        round++;
        timer = this.clock.setTimeout(next, started + rounds[round]! - this.clock.now());
      };
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        done(true);
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      next();
    });
  }

  close(): void {}
}

/** Runs the SDK consumer (one group member subscribed to the whole topic) and counts what it sends. */
export async function runConsumerModel(run: ConsumerRunOptions): Promise<ConsumerRunResult> {
  const clock = new VirtualClock();
  const topic = new IdleTopic(clock, run.partitions, run.tuning ?? DEFAULT_FETCH_TUNING);
  const consumer = new Consumer(
    topic as unknown as Transport,
    { groupId: 'g', ...run.options },
    false,
    clock,
  );
  let deliveredAt: number | undefined;
  await consumer.subscribe({ topic: 't' });
  const running = consumer.run({
    eachMessage: async () => {
      deliveredAt ??= clock.now();
    },
  });
  // The join settles at virtual time 0; then rates are counted after a warm-up of a minute (the first
  // long polls, the settling heartbeats), or up to the record's production.
  await clock.run(0);
  await running;
  const warmupMs = Math.min(60_000, run.produceAtMs ?? 60_000, run.seconds * 500);
  await clock.run(warmupMs);
  topic.window = { from: clock.now(), longPolls: 0, shortFetches: 0, heartbeats: 0, busyMs: 0, headReads: 0 };
  if (run.produceAtMs !== undefined) {
    await clock.run(run.produceAtMs);
    topic.produce();
  }
  await clock.run(run.seconds * 1000);
  const w = topic.window;
  const seconds = (clock.now() - w.from) / 1000;
  const stopping = consumer.stop();
  await clock.run(clock.now() + 60_000);
  await stopping;
  return {
    longPollsPerSec: w.longPolls / seconds,
    shortFetchesPerSec: w.shortFetches / seconds,
    heartbeatsPerSec: w.heartbeats / seconds,
    fetchBusy: w.busyMs / 1000 / seconds,
    headReadsPerSec: w.headReads / seconds,
    deliveryMs:
      deliveredAt !== undefined && topic.produced !== undefined ? deliveredAt - topic.produced.at : undefined,
    fetches: topic.fetches,
    heartbeats: topic.heartbeats,
    deliveredAt,
  };
}
