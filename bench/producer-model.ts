/**
 * The SDK producer, run for real on a virtual clock against a counting transport: how many requests it
 * sends, how many partitions each carries and how long records wait, at a given rate and settings. The
 * cost model (bench/cost.ts) prices these counts instead of assuming a batching behaviour, and
 * test/client/producer-load.test.ts asserts them.
 *
 * Nothing here is timed: the clock is virtual (timers fire in order, each after the promise callbacks
 * of the last), and the transport answers every request `ackMs` virtual ms after it was sent, with
 * offsets per partition, as the log would. The records are the seeded workload's (bench/workloads.ts),
 * keyed, so partitions are chosen by Kafka's murmur2 as in production, and compressed as configured.
 */

import { Producer, type ProducerOptions } from '../client';
import type { Clock, ProducerTransport } from '../client/producer';
import { REQUEST_BURST, resolveProducerOptions } from '../client/producer/options';
import type { TransportRequest, TransportResponse } from '../client/transport';
import { decodeProduceRequest, encodeProduceResponse } from '../shared/api/framing';
import { generateEvents, type WorkloadName } from './workloads';

interface TimerEvent {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock whose time moves only when `run` fires the next timer. */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly heap: TimerEvent[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const event: TimerEvent = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(event);
    return event;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as TimerEvent).cancelled = true;
  }

  setImmediate(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /** Fires every timer due by `until` (virtual ms), letting promise callbacks settle after each. */
  async run(until: number): Promise<void> {
    for (;;) {
      // Promise callbacks first: they may set timers due now.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const next = this.heap[0];
      if (next === undefined || next.at > until) break;
      this.pop();
      if (next.cancelled) continue;
      this.time = next.at;
      next.fn();
    }
    this.time = Math.max(this.time, until);
  }

  private push(e: TimerEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

const before = (a: TimerEvent, b: TimerEvent) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** Answers produce requests after `ackMs` with consecutive offsets per partition, and counts them. */
export class CountingTransport implements ProducerTransport {
  readonly requests: { at: number; partitions: number; bytes: number }[] = [];
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly partitionCount: number,
    private readonly ackMs: number,
  ) {}

  async json<T>(): Promise<T> {
    return { partitionCount: this.partitionCount } as T;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    if (req.method !== 'POST' || req.path !== '/v1/produce' || req.body === undefined) {
      return Promise.reject(new Error(`the counting transport serves POST /v1/produce, not ${req.path}`));
    }
    const parts = decodeProduceRequest(req.body);
    this.requests.push({ at: this.clock.now(), partitions: parts.length, bytes: req.body.length });
    const results = parts.map((p) => {
      const key = `${p.topic}/${p.partition}`;
      const base = this.offsets.get(key) ?? 0;
      // recordCount: the RecordBatch header's int32 at byte 57.
      const count = p.batches.readInt32BE(57);
      this.offsets.set(key, base + count);
      return {
        topic: p.topic,
        partition: p.partition,
        baseOffset: base,
        lastOffset: base + count - 1,
        duplicate: false,
      };
    });
    return new Promise((resolve) => {
      this.clock.setTimeout(
        () => resolve({ status: 200, headers: {}, body: encodeProduceResponse(results) }),
        this.ackMs,
      );
    });
  }

  close(): void {}
}

export interface ProducerRun {
  readonly options: ProducerOptions;
  /** Records per second one producer sends, evenly spaced. */
  readonly recordsPerSec: number;
  readonly partitions: number;
  /** Virtual seconds to run. @default 20 */
  readonly seconds?: number;
  /** Virtual ms from a request to its answer (the produce acknowledgement time). */
  readonly ackMs: number;
  /** @default 'webAccessLog' */
  readonly workload?: WorkloadName;
}

export interface ProducerRunResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSec: number;
  readonly partitionsPerRequest: number;
  /** Partition batches (partitions written) per second: what the DynamoDB writes follow. */
  readonly partitionBatchesPerSec: number;
  readonly recordsPerRequest: number;
  readonly bytesPerRequest: number;
  /** Mean virtual ms from send() to its acknowledgement, ackMs included. */
  readonly meanAckMs: number;
  readonly records: number;
}

/**
 * Runs one producer at `recordsPerSec` for `seconds` of virtual time after a warm-up, and counts what it
 * sent in those seconds: the steady state, as a producer sending all month would.
 */
export async function runProducerModel(run: ProducerRun): Promise<ProducerRunResult> {
  const seconds = run.seconds ?? 20;
  // Steady state only: a quiet producer first spends its burst of requests at lingerMs.
  const options = resolveProducerOptions(run.options);
  const warmupMs = 1000 + REQUEST_BURST * options.requestIntervalMs + options.lingerMs;
  const clock = new VirtualClock();
  const transport = new CountingTransport(clock, run.partitions, run.ackMs);
  const producer = new Producer(transport, run.options, false, clock);
  const events = generateEvents(run.workload ?? 'webAccessLog', 2000, 7);
  const topic = 'model';
  const endMs = warmupMs + seconds * 1000;
  const spacing = 1000 / run.recordsPerSec;
  let waited = 0;
  let acked = 0;
  let sent = 0;
  let due = 0;
  const tick = () => {
    const now = clock.now();
    const messages: { key: Buffer; value: Buffer }[] = [];
    while (due <= now && due < endMs) {
      const e = events[sent++ % events.length]!;
      messages.push({ key: e.key, value: e.value });
      due += spacing;
    }
    if (messages.length > 0) {
      const at = now;
      void producer.send({ topic, messages }).then(() => {
        if (at >= warmupMs) {
          waited += (clock.now() - at) * messages.length;
          acked += messages.length;
        }
      });
    }
    if (due < endMs) clock.setTimeout(tick, Math.max(0, Math.ceil(due - now)));
  };
  clock.setTimeout(tick, 0);
  await clock.run(endMs);
  const counted = transport.requests.filter((r) => r.at >= warmupMs && r.at < endMs);
  // Let the last requests come back (their records' waits count), without the final flush's request.
  await clock.run(endMs + 60_000);
  const flushed = producer.flush();
  await clock.run(endMs + 120_000);
  await flushed;
  const n = counted.length;
  const partitions = counted.reduce((s, r) => s + r.partitions, 0);
  const bytes = counted.reduce((s, r) => s + r.bytes, 0);
  const records = (run.recordsPerSec * seconds) | 0;
  return {
    requests: n,
    seconds,
    requestsPerSec: n / seconds,
    partitionsPerRequest: n > 0 ? partitions / n : 0,
    partitionBatchesPerSec: partitions / seconds,
    recordsPerRequest: n > 0 ? records / n : 0,
    bytesPerRequest: n > 0 ? bytes / n : 0,
    meanAckMs: acked > 0 ? waited / acked : 0,
    records,
  };
}
