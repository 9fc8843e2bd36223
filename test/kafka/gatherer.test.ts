/**
 * Produce gathering: requests from many connections of one listener become one S3 object per flush.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { SluiceError } from '../../shared/errors';
import { type GatheringLog, ProduceGatherer } from '../../shared/kafka/gatherer';
import type { KafkaReader } from '../../shared/kafka/protocol/reader';
import type { KafkaWriter } from '../../shared/kafka/protocol/writer';
import type { ProducePartitionRequest } from '../../shared/log/types';
import { kafkaTestStackForAll, RawKafkaConnection, uniqueTopic } from './support';

const part = (partition: number, tag = 'x'): ProducePartitionRequest => ({
  topic: 't',
  partition,
  batches: Buffer.from(tag),
});

/** A log's answer for one part: appended as one record at `offset`. */
const appended = (p: ProducePartitionRequest, offset = 0) => ({
  topic: p.topic,
  partition: p.partition,
  baseOffset: offset,
  lastOffset: offset,
  duplicate: false,
});

describe('Class: ProduceGatherer', () => {
  it('answers each caller with its own results, in order, from one flush', async () => {
    // Prepare
    const calls: ProducePartitionRequest[][] = [];
    const log: GatheringLog = {
      async produceGathered(parts) {
        calls.push([...parts]);
        return parts.map((p, i) => appended(p, i));
      },
    };
    const g = new ProduceGatherer(log, { lingerMs: 5, maxFlushBytes: 1 << 20 });
    // Act
    const [a, b] = await Promise.all([g.produce([part(0, 'a'), part(1, 'a')]), g.produce([part(0, 'b')])]);
    // Assess
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((p) => p.batches.toString())).toEqual(['a', 'a', 'b']);
    expect(a!.map((r) => ('baseOffset' in r ? r.baseOffset : -1))).toEqual([0, 1]);
    expect(b!.map((r) => ('baseOffset' in r ? r.baseOffset : -1))).toEqual([2]);
    expect(g.counters).toMatchObject({ flushes: 1, requests: 2, parts: 3 });
  });

  it('flushes when maxFlushBytes wait, and runs flushes one at a time, in order', async () => {
    let running = 0;
    let overlapped = false;
    const order: string[] = [];
    const log: GatheringLog = {
      async produceGathered(parts) {
        running++;
        overlapped ||= running > 1;
        order.push(parts.map((p) => p.batches.toString()).join(''));
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return parts.map((p) => appended(p));
      },
    };
    const g = new ProduceGatherer(log, { lingerMs: 200, maxFlushBytes: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((t) => g.produce([part(0, t)])));
    await g.close();
    expect(order).toEqual(['ab', 'cd', 'e']);
    expect(overlapped).toBe(false);
  });

  it('gathers into one window everything that arrives while a flush runs (no queue of small windows)', async () => {
    const sizes: number[] = [];
    let release!: () => void;
    const first = new Promise<void>((r) => {
      release = r;
    });
    const log: GatheringLog = {
      async produceGathered(parts) {
        sizes.push(parts.length);
        if (sizes.length === 1) await first;
        return parts.map((p) => appended(p));
      },
    };
    const g = new ProduceGatherer(log, { lingerMs: 2, maxFlushBytes: 1 << 20 });
    const pending = [g.produce([part(0)])];
    await new Promise((r) => setTimeout(r, 10)); // the first flush is running
    for (let i = 0; i < 5; i++) {
      pending.push(g.produce([part(0)]));
      await new Promise((r) => setTimeout(r, 6)); // each would have had its own window
    }
    release();
    await Promise.all(pending);
    expect(sizes).toEqual([1, 5]);
  });

  it('fails every waiting caller when the flush fails', async () => {
    const g = new ProduceGatherer(
      {
        async produceGathered() {
          throw new SluiceError('STORAGE_UNAVAILABLE');
        },
      },
      { lingerMs: 0, maxFlushBytes: 1 << 20 },
    );
    const results = await Promise.allSettled([g.produce([part(0)]), g.produce([part(1)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('Produce gathering over the wire', () => {
  const kafka = kafkaTestStackForAll({ lingerMs: 25 });
  const topic = uniqueTopic('gather');
  beforeAll(async () => {
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 4 });
  });

  /** The one partition's base offset in a Produce v9 answer (errors fail the test). */
  function baseOffsetOf(r: KafkaReader): bigint {
    const [offset] = r.array((r) => {
      r.string();
      const [p] = r.array((r) => {
        r.int32();
        expect(r.int16()).toBe(0);
        const base = r.int64();
        r.int64();
        r.int64();
        r.array(() => {});
        r.nullableString();
        r.taggedFields();
        return base;
      });
      r.taggedFields();
      return p!;
    });
    return offset!;
  }

  const produceBody = (partition: number, value: string) => (w: KafkaWriter) => {
    const records = encodeRecordBatch([{ value: Buffer.from(value) }], { compression: 'none' });
    w.nullableString(null).int16(-1).int32(5000);
    w.array([0], (w) => {
      w.string(topic);
      w.array([0], (w) => w.int32(partition).records(records).taggedFields());
      w.taggedFields();
    });
    w.taggedFields();
  };

  it('bounds S3 PUTs by the flush rate, not the request rate, with 20 concurrent producer connections', async () => {
    // Prepare
    const connections = await Promise.all(
      Array.from({ length: 20 }, () => RawKafkaConnection.connect(kafka.port)),
    );
    const putsBefore = kafka.segmentPuts();
    const flushesBefore = kafka.listener.gatherer.counters.flushes;
    const perConnection = 10;
    // Act: every connection sends its next request as soon as its previous one is answered
    const answers = await Promise.all(
      connections.map(async (c, ci) => {
        const offsets: bigint[] = [];
        for (let i = 0; i < perConnection; i++) {
          const { body } = await c.request(0, 9, produceBody(ci % 4, `c${ci}-${i}`), { flexible: true });
          offsets.push(baseOffsetOf(body));
        }
        return offsets;
      }),
    );
    for (const c of connections) c.close();
    // Assess
    const requests = 20 * perConnection;
    const puts = kafka.segmentPuts() - putsBefore;
    const flushes = kafka.listener.gatherer.counters.flushes - flushesBefore;
    expect(answers.flat()).toHaveLength(requests);
    // Each connection's records follow one another on its partition, and no two share an offset.
    for (const offsets of answers)
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]! > offsets[i - 1]!).toBe(true);
    for (let p = 0; p < 4; p++) {
      const all = answers.filter((_, ci) => ci % 4 === p).flat();
      expect(new Set(all).size).toBe(all.length);
    }
    expect(puts).toBe(flushes); // one S3 object per flush
    expect(puts).toBeLessThanOrEqual(requests / 4);
    const hw = (await kafka.stack.services.log.describeTopic(topic)).partitions.reduce(
      (s, p) => s + p.highWatermark,
      0,
    );
    expect(hw).toBe(requests);
  });
});
