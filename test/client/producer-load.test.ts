import { describe, expect, it } from 'vitest';
import { runProducerModel, VirtualClock } from '../../bench/producer-model';
import {
  type Clock,
  PRODUCER_PROFILES,
  Producer,
  type ProducerProfile,
  type ProducerTransport,
  REQUEST_BURST,
} from '../../client/producer';
import { resolveProducerOptions } from '../../client/producer/options';
import type { TransportRequest, TransportResponse } from '../../client/transport';
import { decodeProduceRequest, encodeProduceResponse } from '../../shared/api/framing';
import { decodeRecordBatches, readBatchHeader } from '../../shared/codec/record-batch';
import { SluiceError } from '../../shared/errors';
import { client, createTopic, stackBehindProxyForAll } from './support';

/**
 * A log in miniature behind a transport, on a virtual clock: it checks each batch's producer id and
 * sequence as the server does (a retried batch is stored once and answers its first offsets; a gap is
 * OUT_OF_ORDER_SEQUENCE), and can refuse requests or lose their answers after storing them.
 */
class SequencedLog implements ProducerTransport {
  readonly stored = new Map<number, string[]>();
  readonly requests: number[] = [];
  private readonly state = new Map<string, { next: number; batches: Map<number, number> }>();
  private index = 0;

  constructor(
    private readonly clock: Clock,
    private readonly partitionCount: number,
    private readonly fault: (index: number) => 'pass' | 'refuse' | 'lose-answer',
  ) {}

  async json<T>(): Promise<T> {
    return { partitionCount: this.partitionCount } as T;
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    const parts = decodeProduceRequest(req.body!);
    this.requests.push(parts.length);
    const fault = this.fault(this.index++);
    const later = <T>(fn: () => T) =>
      new Promise<T>((resolve, reject) =>
        this.clock.setTimeout(() => {
          try {
            resolve(fn());
          } catch (err) {
            reject(err);
          }
        }, 20),
      );
    if (fault === 'refuse') {
      return later(() => {
        throw new SluiceError('STORAGE_UNAVAILABLE', 'injected');
      });
    }
    const results = parts.map((p) => {
      const h = readBatchHeader(p.batches);
      const key = `${p.partition}/${h.producerId}`;
      const s = this.state.get(key) ?? { next: 0, batches: new Map<number, number>() };
      this.state.set(key, s);
      const log = this.stored.get(p.partition) ?? [];
      this.stored.set(p.partition, log);
      const stored = (baseOffset: number, duplicate: boolean) => ({
        topic: p.topic,
        partition: p.partition,
        baseOffset,
        lastOffset: baseOffset + h.recordCount - 1,
        duplicate,
      });
      const first = s.batches.get(h.baseSequence);
      if (first !== undefined) return stored(first, true);
      if (h.baseSequence !== s.next) {
        return {
          topic: p.topic,
          partition: p.partition,
          error: new SluiceError('OUT_OF_ORDER_SEQUENCE', `expected ${s.next}, got ${h.baseSequence}`),
        };
      }
      const base = log.length;
      for (const b of decodeRecordBatches(p.batches).batches)
        for (const r of b.records) log.push(r.value!.toString());
      s.batches.set(h.baseSequence, base);
      s.next += h.recordCount;
      return stored(base, false);
    });
    return later(() => {
      if (fault === 'lose-answer') throw new SluiceError('REQUEST_TIMED_OUT', 'injected: answer lost');
      return { status: 200, headers: {}, body: encodeProduceResponse(results) };
    });
  }

  close(): void {}
}

describe('Class: Producer (load, counted)', () => {
  describe('Method: send', () => {
    it('at 200 records/s over 4 partitions, sends one request per producer carrying the partitions (virtual clock)', async () => {
      // Prepare / Act: SDK defaults, 20 virtual seconds, answers after 20 ms (local stack) and 70 ms (AWS)
      const fast = await runProducerModel({ options: {}, recordsPerSec: 200, partitions: 4, ackMs: 20 });
      const aws = await runProducerModel({ options: {}, recordsPerSec: 200, partitions: 4, ackMs: 70 });
      const latency = await runProducerModel({
        options: { profile: 'latency' },
        recordsPerSec: 200,
        partitions: 4,
        ackMs: 70,
      });
      console.log(
        `200 records/s over 4 partitions: defaults ${fast.requestsPerSec} req/s, ${fast.partitionsPerRequest.toFixed(2)} partitions/request; ` +
          `latency profile (ack 70 ms) ${latency.requestsPerSec} req/s, ${latency.partitionsPerRequest.toFixed(2)} partitions/request`,
      );

      // Assess: counts, not times
      for (const r of [fast, aws]) {
        expect(r.partitionsPerRequest).toBeGreaterThanOrEqual(3);
        // balanced paces sustained load to one request per requestIntervalMs (1 s)
        expect(r.requests).toBe(20);
        expect(r.requestsPerSec).toBe(1);
      }
      expect(latency.partitionsPerRequest).toBeGreaterThanOrEqual(3);
      // latency: a request whenever the last was answered, ~1 per 70 ms
      expect(latency.requestsPerSec).toBeGreaterThan(10);
    });

    it('keeps each partition in order, stored once, through refused requests and lost answers (virtual clock)', async () => {
      for (const maxInFlightRequests of [1, 5]) {
        // Prepare: a log that refuses every 7th request and loses the answer of every 5th after storing it
        const clock = new VirtualClock();
        const log = new SequencedLog(clock, 4, (i) =>
          i % 7 === 3 ? 'refuse' : i % 5 === 2 ? 'lose-answer' : 'pass',
        );
        const producer = new Producer(
          log,
          {
            profile: 'latency',
            maxInFlightRequests,
            maxBatchBytes: 4096,
            retry: { retries: 50, maxElapsedMs: 600_000 },
          },
          false,
          clock,
        );

        // Act: 800 records over 2 virtual seconds, in sends of 1 to 3 records, each pinned to a partition
        const sends: Promise<unknown>[] = [];
        let n = 0;
        for (let t = 0; t < 400; t++) {
          clock.setTimeout(() => {
            const partition = t % 4;
            const messages = Array.from({ length: 1 + (t % 3) }, () => ({
              partition,
              value: `${partition}:${n++}`,
            }));
            sends.push(producer.send({ topic: 't', messages }));
          }, t * 5);
        }
        await clock.run(400 * 5);
        const flushed = producer.flush();
        await clock.run(3_600_000);
        await flushed;
        const results = await Promise.all(sends);

        // Assess: every send acknowledged; per partition, each record once and in send order
        expect(results).toHaveLength(400);
        let total = 0;
        for (const [partition, values] of log.stored) {
          const numbers = values.map((v) => Number(v.split(':')[1]));
          expect(new Set(numbers).size, `partition ${partition}`).toBe(numbers.length);
          expect(numbers, `partition ${partition}, maxInFlightRequests ${maxInFlightRequests}`).toEqual(
            [...numbers].sort((a, b) => a - b),
          );
          total += numbers.length;
        }
        expect(total).toBe(n);
        expect(producer.stats.retries).toBeGreaterThan(0);
        if (maxInFlightRequests === 1) {
          // Partitions share requests even through the faults: a failed request's partitions are retried
          // together. (With 5 in flight and lingerMs 0, requests do not wait for answers: they stay small.)
          expect(log.requests.reduce((s, x) => s + x, 0) / log.requests.length).toBeGreaterThan(3);
        }
      }
    });

    it('bounds buffer memory under pacing: send waits for room and the full buffer is sent at once (virtual clock)', async () => {
      const clock = new VirtualClock();
      const log = new SequencedLog(clock, 2, () => 'pass');
      const producer = new Producer(
        log,
        { profile: 'cost', bufferMemoryBytes: 16 * 1024, maxBatchBytes: 8 * 1024, compression: 'none' },
        false,
        clock,
      );
      const value = 'v'.repeat(1000);
      let done = false;
      const sent = producer
        .send({ topic: 't', messages: Array.from({ length: 100 }, (_, i) => ({ partition: i % 2, value })) })
        .then(() => {
          done = true;
        });

      await clock.run(60_000);

      // 100 KB through a 16 KiB buffer: the cost profile's 5 s pacing does not hold a full buffer back.
      expect(done).toBe(true);
      await sent;
      expect(log.requests.length).toBeGreaterThanOrEqual(100_000 / (16 * 1024));
    });
  });
});

describe('Function: resolveProducerOptions', () => {
  it('fills a profile, lets each setting override it, and names a bad value with its limit', () => {
    expect(resolveProducerOptions({})).toMatchObject(PRODUCER_PROFILES.balanced);
    expect(resolveProducerOptions({ profile: 'cost', lingerMs: 20 })).toMatchObject({
      lingerMs: 20,
      requestIntervalMs: PRODUCER_PROFILES.cost.requestIntervalMs,
    });
    expect(() => resolveProducerOptions({ profile: 'fast' as ProducerProfile })).toThrow(
      'profile must be latency, balanced or cost, but fast was provided',
    );
    expect(() => resolveProducerOptions({ requestIntervalMs: -1 })).toThrow(
      'requestIntervalMs must be an integer from 0 to 600000, but -1 was provided',
    );
  });
});

describe('Class: Producer (load, local stack)', () => {
  const { proxy } = stackBehindProxyForAll();

  it('at 200 records/s over 4 partitions, defaults: ≥ 3 partitions per request, requests counted on the wire', async () => {
    // Prepare
    const sluice = client(proxy.url);
    const topic = await createTopic(sluice, 4);
    const producer = sluice.producer();

    // Act: 600 keyed records paced at 200/s (every 5 ms)
    const before = proxy.requests('POST', '/v1/produce').length;
    const sends: Promise<unknown>[] = [];
    const started = Date.now();
    for (let i = 0; i < 600; i++) {
      const due = started + i * 5;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] }));
    }
    await Promise.all(sends);
    const seconds = (Date.now() - started) / 1000;
    await producer.disconnect();

    // Assess: counted from the request bodies as sent (a retry resends the same bytes: counted once). The
    // first REQUEST_BURST requests are a quiet producer's, at lingerMs; the rest are the steady state.
    const bodies = new Map<string, number>();
    for (const r of proxy.requests('POST', '/v1/produce').slice(before)) {
      bodies.set(r.body.toString('base64'), decodeProduceRequest(r.body).length);
    }
    const steady = [...bodies.values()].slice(REQUEST_BURST);
    const partitions = steady.reduce((s, x) => s + x, 0);
    console.log(
      `local stack, 600 records at 200/s over 4 partitions in ${seconds.toFixed(1)} s: ${bodies.size} requests; after the burst of ${REQUEST_BURST}, ${steady.length} carrying ${(partitions / steady.length).toFixed(2)} partitions each`,
    );
    expect(steady.length).toBeGreaterThan(0);
    expect(partitions / steady.length).toBeGreaterThanOrEqual(3);
    // Paced to one request a second under sustained load, plus the burst and the flush at disconnect.
    expect(bodies.size).toBeLessThanOrEqual(REQUEST_BURST + Math.ceil(seconds) + 1);
  });
});
