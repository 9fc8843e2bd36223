/**
 * kafkajs 2.2.4 against the listener: its producer (none, gzip, lz4), its admin's offset lookups
 * (ListOffsets), and consumption by assignment through its cluster's Fetch. kafkajs's consumer.run
 * needs consumer groups (branch kgroups); this test reads partitions the way an assign would, with the
 * same Cluster and Broker code its consumer uses.
 */
import { createRequire } from 'node:module';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/codec/partitioner';
import '../codec/kafkajs'; // registers kafkajs's LZ4 codec (on the npm lz4 package)
import { type KafkaTestStack, startKafkaTestStack, uniqueTopic } from './support';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: kafkajs's internals are untyped JavaScript
const Cluster: any = require('kafkajs/src/cluster');
// biome-ignore lint/suspicious/noExplicitAny: kafkajs's internals are untyped JavaScript
const socketFactory: any = require('kafkajs/src/network/socketFactory');

let kafka: KafkaTestStack;
let client: Kafka;
beforeAll(async () => {
  kafka = await startKafkaTestStack();
  client = new Kafka({
    brokers: [kafka.bootstrap],
    clientId: 'sluice-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
});
afterAll(async () => {
  await kafka?.stop();
});

interface Fetched {
  partition: number;
  offset: number;
  key: string;
  value: string;
  timestamp: number;
  headers: Record<string, string>;
}

/** Reads every partition from offset 0 until `count` records came back (or 10 s passed). */
async function readByAssign(topic: string, partitions: number, count: number): Promise<Fetched[]> {
  const cluster = new Cluster({
    brokers: [kafka.bootstrap],
    clientId: 'sluice-assign',
    logger: { namespace: () => ({ info() {}, warn() {}, error() {}, debug() {} }) },
    retry: { retries: 2 },
    offsets: new Map(),
    socketFactory: socketFactory(),
    connectionTimeout: 2000,
    requestTimeout: 10_000,
    enforceRequestTimeout: true,
  });
  await cluster.connect();
  await cluster.addTargetTopic(topic);
  const offsets = new Map([...Array(partitions).keys()].map((p) => [p, 0]));
  const got: Fetched[] = [];
  const deadline = Date.now() + 10_000;
  try {
    while (got.length < count && Date.now() < deadline) {
      const leaders: Record<string, number[]> = cluster.findLeaderForPartitions(topic, [...offsets.keys()]);
      for (const [nodeId, ps] of Object.entries(leaders)) {
        const broker = await cluster.findBroker({ nodeId });
        const res = await broker.fetch({
          maxWaitTime: 100,
          topics: [
            {
              topic,
              partitions: ps.map((p) => ({
                partition: p,
                fetchOffset: String(offsets.get(p)),
                maxBytes: 1 << 20,
              })),
            },
          ],
        });
        for (const t of res.responses) {
          for (const p of t.partitions) {
            expect(p.errorCode).toBe(0);
            for (const m of p.messages) {
              const offset = Number(m.offset);
              if (offset < offsets.get(p.partition)!) continue;
              got.push({
                partition: p.partition,
                offset,
                key: m.key.toString(),
                value: m.value.toString(),
                timestamp: Number(m.timestamp),
                headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
              });
              offsets.set(p.partition, offset + 1);
            }
          }
        }
      }
    }
  } finally {
    await cluster.disconnect();
  }
  return got;
}

describe('kafkajs', () => {
  for (const [name, compression] of [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['lz4', CompressionTypes.LZ4],
  ] as const) {
    it(`produces ${name} batches on Java’s partitions and reads them back by assignment`, async () => {
      // Prepare
      const topic = uniqueTopic(`kjs-${name}`);
      await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 6 });
      const producer = client.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const messages = Array.from({ length: 40 }, (_, i) => ({
        key: `user-${i % 9}`,
        value: `event ${i} `.repeat(8),
        headers: { n: String(i) },
        timestamp: String(1_700_000_000_000 + i),
      }));
      // Act
      const meta = await producer.send({ topic, compression, messages: messages.slice(0, 20), acks: -1 });
      const meta2 = await producer.send({ topic, compression, messages: messages.slice(20), acks: 1 });
      await producer.disconnect();
      const read = await readByAssign(topic, 6, messages.length);
      // Assess
      expect([...meta, ...meta2].every((m) => m.errorCode === 0)).toBe(true);
      expect(read).toHaveLength(messages.length);
      for (const r of read) {
        const i = Number(r.headers.n);
        expect(r.key).toBe(messages[i]!.key);
        expect(r.value).toBe(messages[i]!.value);
        expect(r.timestamp).toBe(1_700_000_000_000 + i);
        expect(r.partition).toBe(partitionForKey(r.key, 6));
      }
      const fetched = await kafka.stack.services.log.fetch({
        partitions: [...Array(6).keys()].map((partition) => ({ topic, partition, offset: 0 })),
      });
      for (const f of fetched)
        if (f.records.length > 0) expect(f.records.readInt16BE(21) & 7).toBe(compression);
    });
  }

  it('lists offsets through its admin: earliest, latest and by timestamp (ListOffsets)', async () => {
    // Prepare
    const topic = uniqueTopic('kjs-offsets');
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 2 });
    const producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic,
      messages: [0, 1, 2, 3].map((i) => ({
        partition: 0,
        value: `v${i}`,
        timestamp: String(1_000_000 + i * 1000),
      })),
    });
    await producer.disconnect();
    const admin = client.admin();
    await admin.connect();
    // Act
    const offsets = await admin.fetchTopicOffsets(topic);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 1_002_000);
    const pastEnd = await admin.fetchTopicOffsetsByTimestamp(topic, 9_000_000);
    await admin.disconnect();
    // Assess
    const p0 = offsets.find((o) => o.partition === 0)!;
    expect([p0.low, p0.high]).toEqual(['0', '4']);
    expect(offsets.find((o) => o.partition === 1)).toMatchObject({ low: '0', high: '0' });
    expect(byTime.find((o) => o.partition === 0)!.offset).toBe('2');
    // kafkajs answers a timestamp past the end with the latest offset
    expect(pastEnd.find((o) => o.partition === 0)!.offset).toBe('4');
  });
});
