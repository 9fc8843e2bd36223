/**
 * The end-to-end case: a producer sends records with keys to a 6-partition topic; a group of 3
 * consumers reads them all, each partition in offset order, each key on the partition Kafka's own
 * partitioner chooses (kafkajs's murmur2, an independent implementation); half-way one consumer crashes
 * (its network goes dark: no commit, no leave), the others take over after its session expires, and no
 * record is lost — records are seen twice only in the crashed member's uncommitted tail.
 *
 * SLUICE_E2E_RECORDS sets the count: 20,000 in the suite (the 100,000 take ~12 s alone, ~40 s
 * beside the other test files on two cores): SLUICE_E2E_RECORDS=100000 npx vitest run test/client/e2e.test.ts
 */
import { describe, expect, it } from 'vitest';
import type { Consumer, Sluice } from '../../client';
import { kafkajsMurmur2 } from '../codec/kafkajs';
import { client, createTopic, stackBehindProxyForAll, waitFor } from './support';

const RECORDS = Number(process.env.SLUICE_E2E_RECORDS ?? 20_000);
const PARTITIONS = 6;
const KEYS = 1_000;

const { stack, proxy: crashProxy } = stackBehindProxyForAll();

interface Delivery {
  readonly consumer: number;
  readonly partition: number;
  readonly offset: number;
}

describe('End to end: producer, a group of three consumers, a crash half-way', () => {
  it(`delivers ${RECORDS} keyed records with no loss, in order, duplicates only in the uncommitted tail`, async () => {
    // Prepare: a stable group of three before any record exists.
    const sluice: Sluice = client(stack.url);
    const topic = await createTopic(sluice, PARTITIONS);
    const group = `e2e-${topic}`;
    const clients = [
      sluice,
      sluice,
      client(crashProxy.url, { retry: { initialRetryTimeMs: 20, maxRetryTimeMs: 100, maxElapsedMs: 500 } }),
    ];
    const deliveries: Delivery[] = [];
    const seen = new Set<string>();
    const orderErrors: string[] = [];
    const keyErrors: string[] = [];
    const committedByCrashed = new Map<number, number>();
    let crashed = false;
    let deliveredByCrashing = 0;
    const consumers: Consumer[] = clients.map((c, index) => {
      const consumer = c.consumer({
        groupId: group,
        sessionTimeoutMs: 3_000,
        heartbeatIntervalMs: 250,
        autoCommitIntervalMs: 200,
        maxWaitMs: 1_000,
        maxBytesPerPartition: 64 * 1024,
      });
      if (index === 2) {
        consumer.on('commit', ({ offsets }) => {
          if (crashed) return;
          for (const o of offsets) committedByCrashed.set(o.partition, o.offset);
        });
      }
      void consumer.subscribe({ topics: [topic], fromBeginning: true });
      return consumer;
    });
    for (const [index, consumer] of consumers.entries()) {
      const expected = new Map<number, number>();
      consumer.on('rebalance', ({ assigned }) => {
        for (const tp of assigned) expected.delete(tp.partition);
      });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          const next = expected.get(partition);
          if (next !== undefined && message.offset !== next) {
            orderErrors.push(`consumer ${index} partition ${partition}: ${message.offset} after ${next - 1}`);
          }
          expected.set(partition, message.offset + 1);
          const key = message.key!.toString();
          const kafkaPartition = (kafkajsMurmur2(key) & 0x7fffffff) % PARTITIONS;
          if (kafkaPartition !== partition)
            keyErrors.push(`${key} on ${partition}, Kafka: ${kafkaPartition}`);
          deliveries.push({ consumer: index, partition, offset: message.offset });
          seen.add(`${partition}/${message.offset}`);
          if (index === 2) deliveredByCrashing++;
          // Half-way through its own share (a third of the records), the third member crashes.
          if (index === 2 && !crashed && deliveredByCrashing >= RECORDS / 6) {
            // The crash: from now on every request of this consumer fails; it cannot commit or leave.
            crashed = true;
            crashProxy.fault = () => ({
              kind: 'answer',
              status: 503,
              body: { error: { code: 'STORAGE_UNAVAILABLE', message: 'injected: the member is gone' } },
            });
          }
        },
      });
    }
    await waitFor(
      () => consumers.every((c) => c.assignment().length === PARTITIONS / 3),
      20_000,
      'a stable group of three',
    );

    // Act
    // Batches of ~64 KiB (about 900 records): the crashed member holds only a small part of its share.
    const producer = sluice.producer({ maxBatchBytes: 64 * 1024 });
    const started = Date.now();
    const messages = Array.from({ length: RECORDS }, (_, i) => ({
      key: `customer-${i % KEYS}`,
      value: JSON.stringify({ i, customer: `customer-${i % KEYS}`, amount: (i * 7) % 1000 }),
    }));
    const metadata = await producer.send({ topic, messages });
    const producedMs = Date.now() - started;
    await waitFor(() => seen.size >= RECORDS, 120_000, 'every record consumed');
    const consumedMs = Date.now() - started;
    for (const c of consumers) await c.disconnect();
    await producer.disconnect();

    // Assess
    metadata.forEach((m, i) => {
      expect(m.partition).toBe((kafkajsMurmur2(`customer-${i % KEYS}`) & 0x7fffffff) % PARTITIONS);
    });
    const { partitions } = await sluice.admin().describeTopic(topic);
    const highWatermarks = partitions.map((p) => p.highWatermark);
    expect(highWatermarks.reduce((a, b) => a + b, 0)).toBe(RECORDS);
    for (const [p, hw] of highWatermarks.entries()) {
      for (let o = 0; o < hw; o++) if (!seen.has(`${p}/${o}`)) throw new Error(`lost ${p}/${o}`);
    }
    expect(orderErrors).toEqual([]);
    expect(keyErrors).toEqual([]);
    expect(crashed).toBe(true);

    const count = new Map<string, number>();
    for (const d of deliveries)
      count.set(`${d.partition}/${d.offset}`, (count.get(`${d.partition}/${d.offset}`) ?? 0) + 1);
    const duplicates = [...count]
      .filter(([, n]) => n > 1)
      .map(([k]) => k.split('/').map(Number) as [number, number]);
    const lastByCrashed = new Map<number, number>();
    for (const d of deliveries) {
      if (d.consumer === 2)
        lastByCrashed.set(d.partition, Math.max(lastByCrashed.get(d.partition) ?? -1, d.offset));
    }
    for (const [partition, offset] of duplicates) {
      // Seen twice only where the crashed member processed records it never committed.
      const committed = committedByCrashed.get(partition) ?? 0;
      expect(offset).toBeGreaterThanOrEqual(committed);
      expect(offset).toBeLessThanOrEqual(lastByCrashed.get(partition)!);
    }
    console.log(
      `e2e: ${RECORDS} records, produced in ${producedMs} ms, all consumed after ${consumedMs} ms ` +
        `(crash and takeover included); ${duplicates.length} redelivered from the crashed member's uncommitted tail`,
    );
  });
});
