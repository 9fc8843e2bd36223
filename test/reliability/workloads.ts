/**
 * The load of L1–L3, seeded and bounded: idempotent producers (one partition or many, keyed records,
 * optionally pipelined two batches deep) and long-poll fetchers. Every request is recorded in the
 * history; a producer retries a batch whose outcome is unknown with the same sequence, as Kafka's
 * idempotent producer does, until it is acknowledged, clearly fenced, or its time is up (which is a
 * liveness violation, L1).
 */

import { partitionForKey } from '../../shared/codec/partitioner';
import { type Compression, decodeRecordBatches, encodeRecordBatch } from '../../shared/codec/record-batch';
import type { FetchPartitionResult } from '../../shared/log/types';
import type { Violation } from './checker';
import type { Recorder } from './history';
import type { Random } from './prng';
import { classifyCode, type LogTransport } from './transport';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ProducerSpec {
  /** Process name prefix, unique in the run. */
  readonly name: string;
  readonly producerId: number;
  readonly epoch: number;
  readonly topic: string;
  readonly partitionCount: number;
  /** All records to this partition (L1); otherwise keyed records spread by Kafka's partitioner (L2). */
  readonly partition?: number;
  /** Most produce requests to send. */
  readonly requests: number;
  readonly recordsPerRequest: readonly [number, number];
  /** Batches in flight at once on its partition (2: pipelined, F6). Single-partition producers only. @default 1 */
  readonly maxInFlight?: 1 | 2;
  /** Pause between requests, ms. @default [0, 20] */
  readonly pauseMs?: readonly [number, number];
  /** First sequence per partition (a producer resuming an epoch). @default 0 */
  readonly firstSequence?: number;
}

interface Part {
  readonly partition: number;
  readonly seq: number;
  readonly values: string[];
  readonly bytes: Buffer;
  /** Settles when the batch before it on its partition is resolved (pipelining). */
  readonly previous: Promise<void>;
}

export interface RunClock {
  /** Stop starting new requests at this Date.now(). */
  readonly stopAt: number;
  /** Give up retrying at this Date.now(): what is still unacknowledged is a liveness violation. */
  readonly giveUpAt: number;
}

export class Producer {
  readonly anomalies: Violation[] = [];
  fenced = false;
  /** Batches refused for good because later ones were stored first (pipelining over lost requests). */
  gaps = 0;
  private readonly nextSeq = new Map<number, number>();
  private counter = 0;
  private readonly tail = new Map<number, Promise<void>>();

  constructor(
    readonly spec: ProducerSpec,
    private readonly transport: LogTransport,
    private readonly recorder: Recorder,
    private readonly rng: Random,
    private readonly tag: string,
  ) {}

  private record(i: number): {
    key: Buffer | null;
    value: Buffer;
    headers: { key: string; value: Buffer }[];
  } {
    const value = `${this.tag}.${this.spec.name}.${i}`;
    const key =
      this.spec.partition === undefined
        ? `k${this.rng.int(0, 99_999)}`
        : this.rng.chance(0.5)
          ? null
          : `k${this.rng.int(0, 99)}`;
    // Some padding in a header, so batches and objects vary in size.
    const pad = this.rng.chance(0.2) ? Buffer.alloc(this.rng.int(1, 3000), 0x61 + (i % 26)) : null;
    return {
      key: key === null ? null : Buffer.from(key),
      value: Buffer.from(value),
      headers: pad ? [{ key: 'pad', value: pad }] : [],
    };
  }

  private nextParts(): Part[] {
    const n = this.rng.int(this.spec.recordsPerRequest[0], this.spec.recordsPerRequest[1]);
    const byPartition = new Map<number, ReturnType<Producer['record']>[]>();
    for (let i = 0; i < n; i++) {
      const r = this.record(this.counter++);
      const partition =
        this.spec.partition ?? partitionForKey(r.key ?? Buffer.alloc(0), this.spec.partitionCount);
      const list = byPartition.get(partition) ?? [];
      list.push(r);
      byPartition.set(partition, list);
    }
    const compression: Compression = this.rng.pick(['lz4', 'lz4', 'none', 'gzip']);
    return [...byPartition].map(([partition, records]) => {
      const seq = this.nextSeq.get(partition) ?? this.spec.firstSequence ?? 0;
      this.nextSeq.set(partition, seq + records.length);
      return {
        partition,
        seq,
        values: records.map((r) => r.value.toString('utf8')),
        bytes: encodeRecordBatch(records, {
          compression,
          producerId: this.spec.producerId,
          producerEpoch: this.spec.epoch,
          baseSequence: seq,
        }),
        previous: this.tail.get(partition) ?? Promise.resolve(),
      };
    });
  }

  private process(part: Part, slot: number): string {
    return (this.spec.maxInFlight ?? 1) > 1
      ? `${this.spec.name}/s${slot}`
      : `${this.spec.name}/p${part.partition}`;
  }

  /** Sends parts until each is acknowledged, fenced, or time is up. */
  private async send(parts: Part[], slot: number, clock: RunClock): Promise<void> {
    let pending = parts;
    let attempt = 0;
    while (pending.length > 0 && !this.fenced) {
      if (Date.now() > clock.giveUpAt) {
        for (const p of pending) {
          this.anomalies.push({
            invariant: 'L1',
            message: `${this.spec.topic}/${p.partition}: producer ${this.spec.name} (id ${this.spec.producerId}) was never acknowledged for sequence ${p.seq} (${p.values[0]} …) within the run's bound`,
            events: this.recorder.events.filter((e) => e.values?.[0] === p.values[0]).slice(-4),
          });
        }
        return;
      }
      const { topic } = this.spec;
      for (const p of pending) {
        this.recorder.invoke(this.process(p, slot), 'send', {
          topic,
          partition: p.partition,
          values: p.values,
          producer: { id: this.spec.producerId, epoch: this.spec.epoch, seq: p.seq },
        });
      }
      const out = await this.transport.produce(
        pending.map((p) => ({ topic, partition: p.partition, batches: p.bytes })),
      );
      const again: Part[] = [];
      const waits: Promise<void>[] = [];
      pending.forEach((p, i) => {
        const proc = this.process(p, slot);
        if (out.type !== 'ok') {
          this.recorder.complete(proc, out.type, { error: out.error });
          if (out.type === 'info') again.push(p);
          else this.unexpected(p, out.error);
          return;
        }
        const r = out.value[i];
        if (!r) {
          this.recorder.complete(proc, 'info', { error: 'no result for the partition' });
          again.push(p);
          return;
        }
        if (!r.error) {
          this.recorder.complete(proc, 'ok', { offset: r.baseOffset });
          return;
        }
        const code = r.error.code;
        const type = classifyCode(code);
        this.recorder.complete(proc, type, { error: code });
        if (type === 'info') {
          again.push(p);
        } else if (code === 'INVALID_PRODUCER_EPOCH') {
          this.fenced = true;
        } else if (code === 'OUT_OF_ORDER_SEQUENCE') {
          const expected = r.error.details.expectedSequence;
          if (typeof expected === 'number' && expected > p.seq) {
            // Later batches are in and this one is not: the application is told it failed (as Kafka's
            // OutOfOrderSequenceException); an earlier attempt of unknown outcome may still hold it.
            this.gaps++;
            return;
          }
          // An earlier batch is not in yet (pipelining): retry once it is resolved.
          waits.push(p.previous);
          again.push(p);
        } else if (code === 'UNKNOWN_PRODUCER_ID' && p.seq > (this.spec.firstSequence ?? 0)) {
          // A pipelined batch overtook the producer's first one: retry once that is in.
          waits.push(p.previous);
          again.push(p);
        } else {
          this.unexpected(p, code);
        }
      });
      pending = again;
      if (pending.length > 0) {
        await Promise.all(waits);
        await sleep(Math.min(1000, 20 * 2 ** Math.min(attempt++, 6)) * (0.5 + this.rng.next()));
      }
    }
  }

  private unexpected(p: Part, code: string): void {
    this.anomalies.push({
      invariant: 'L1',
      message: `${this.spec.topic}/${p.partition}: producer ${this.spec.name} got an unexpected rejection ${code} for sequence ${p.seq}`,
      events: [],
    });
  }

  async run(clock: RunClock): Promise<void> {
    const inFlight = this.spec.maxInFlight ?? 1;
    const running = new Set<Promise<void>>();
    const slots = Array.from({ length: inFlight }, (_, i) => i);
    const free = [...slots];
    for (let r = 0; r < this.spec.requests && Date.now() < clock.stopAt && !this.fenced; r++) {
      while (free.length === 0) await Promise.race(running);
      const slot = free.shift()!;
      const parts = this.nextParts();
      const task = this.send(parts, slot, clock).finally(() => {
        running.delete(task);
        free.push(slot);
      });
      for (const p of parts) this.tail.set(p.partition, task);
      running.add(task);
      const [lo, hi] = this.spec.pauseMs ?? [0, 20];
      await sleep(this.rng.int(lo, hi));
    }
    await Promise.all(running);
  }
}

/** A long-poll reader of some partitions (L3): each poll waits until its offset is committed. */
export class Poller {
  private readonly positions = new Map<number, number>();
  stopped = false;

  constructor(
    readonly name: string,
    readonly topic: string,
    readonly partitions: readonly number[],
    private readonly transport: LogTransport,
    private readonly recorder: Recorder,
    private readonly rng: Random,
    private readonly maxWaitMs: readonly [number, number],
  ) {}

  async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const maxWaitMs = this.rng.int(this.maxWaitMs[0], this.maxWaitMs[1]);
      const asked = this.partitions.map((p) => ({
        topic: this.topic,
        partition: p,
        offset: this.positions.get(p) ?? 0,
      }));
      for (const a of asked) {
        this.recorder.invoke(`${this.name}/p${a.partition}`, 'poll', {
          topic: this.topic,
          partition: a.partition,
          offset: a.offset,
          maxWaitMs,
        });
      }
      const out = await this.transport.fetch({ partitions: asked, maxWaitMs, minBytes: 1 });
      asked.forEach((a, i) => {
        const proc = `${this.name}/p${a.partition}`;
        if (out.type !== 'ok') {
          this.recorder.complete(proc, out.type, { error: out.error });
          return;
        }
        const r = out.value[i];
        if (!r || r.error) {
          const code = r?.error?.code ?? 'no result';
          this.recorder.complete(proc, classifyCode(code), { error: code });
          // Retention moved the log start past this reader: go on from there, as a Kafka consumer resets.
          const start = r?.error?.details.logStartOffset;
          if (code === 'OFFSET_OUT_OF_RANGE' && typeof start === 'number' && start > a.offset) {
            this.positions.set(a.partition, start);
          }
          return;
        }
        this.recorder.complete(proc, 'ok', pollFields(r, a.offset));
        this.positions.set(a.partition, r.nextOffset);
      });
      if (out.type !== 'ok') await sleep(Math.min(500, 20 * 2 ** Math.min(failures++, 5)));
      else failures = 0;
    }
  }
}

/** What a poll's completion records: the records at or after the offset asked, the bounds, or the decode error. */
export function pollFields(r: FetchPartitionResult, asked: number) {
  const records: [number, string][] = [];
  let corrupt: string | undefined;
  try {
    const { batches, partialBytes } = decodeRecordBatches(r.records);
    for (const batch of batches) {
      for (const record of batch.records) {
        if (record.offset >= asked) records.push([record.offset, record.value?.toString('utf8') ?? '']);
      }
    }
    // The server cuts answers at batch boundaries: a partial batch is a body cut short (F8).
    if (partialBytes > 0) corrupt = `a partial batch of ${partialBytes} bytes at the end`;
  } catch (err) {
    corrupt = (err as Error).message;
  }
  return {
    records,
    hwm: r.highWatermark,
    logStartOffset: r.logStartOffset,
    nextOffset: r.nextOffset,
    ...(corrupt ? { corrupt } : {}),
  };
}
