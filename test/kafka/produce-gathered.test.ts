/**
 * LogService.produceGathered, the append under the Kafka listener's gatherer: many parts of one
 * partition in one S3 object, each answered alone, idempotent batches kept one per append.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { logIdOf } from '../../shared/log/log-service';
import { type KafkaTestStack, startKafkaTestStack, uniqueTopic } from './support';

let kafka: KafkaTestStack;
beforeAll(async () => {
  kafka = await startKafkaTestStack();
});
afterAll(async () => {
  await kafka?.stop();
});

const batch = (values: string[], producer?: { id: number; seq: number }) =>
  encodeRecordBatch(
    values.map((v) => ({ value: Buffer.from(v) })),
    {
      compression: 'none',
      ...(producer ? { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq } : {}),
    },
  );

describe('Method: LogService.produceGathered', () => {
  it('puts every part in one object, concatenates non-idempotent parts and answers each with its own offsets', async () => {
    // Prepare
    const log = kafka.stack.services.log;
    const topic = uniqueTopic('pg');
    const t = await log.createTopic({ name: topic, partitionCount: 2 });
    const puts = kafka.segmentPuts();
    // Act
    const results = await log.produceGathered([
      { topic, partition: 0, batches: batch(['a', 'b']) },
      { topic, partition: 1, batches: batch(['x']) },
      { topic, partition: 0, batches: batch(['c']) },
      { topic, partition: 5, batches: batch(['nowhere']) },
      { topic, partition: 0, batches: Buffer.from('not a batch') },
    ]);
    // Assess
    expect(kafka.segmentPuts() - puts).toBe(1);
    expect(results.map((r) => (r.error ? r.error.code : [r.baseOffset, r.lastOffset]))).toEqual([
      [0, 1],
      [0, 0],
      [2, 2],
      'UNKNOWN_TOPIC_OR_PARTITION',
      'CORRUPT_MESSAGE',
    ]);
    const entries = await log.log.queryEntries(logIdOf(t, 0), 0, 10, 10);
    expect(entries.map((e) => [e.base, e.count])).toEqual([[0, 3]]); // one append for both parts
  });

  it('appends idempotent parts one by one, so a retry of one still finds its batch', async () => {
    // Prepare
    const log = kafka.stack.services.log;
    const topic = uniqueTopic('pg-idem');
    const t = await log.createTopic({ name: topic, partitionCount: 1 });
    const producer = 4242;
    // Act
    const first = await log.produceGathered([
      { topic, partition: 0, batches: batch(['s0', 's1'], { id: producer, seq: 0 }) },
      { topic, partition: 0, batches: batch(['s2'], { id: producer, seq: 2 }) },
    ]);
    const retry = await log.produceGathered([
      { topic, partition: 0, batches: batch(['s2'], { id: producer, seq: 2 }) },
    ]);
    const gap = await log.produceGathered([
      { topic, partition: 0, batches: batch(['s9'], { id: producer, seq: 9 }) },
    ]);
    // Assess
    expect(first.map((r) => (r.error ? r.error.code : r.baseOffset))).toEqual([0, 2]);
    expect(retry.map((r) => (r.error ? r.error.code : [r.baseOffset, r.duplicate]))).toEqual([[2, true]]);
    expect(gap.map((r) => r.error?.code)).toEqual(['OUT_OF_ORDER_SEQUENCE']);
    const entries = await log.log.queryEntries(logIdOf(t, 0), 0, 10, 10);
    expect(entries.map((e) => [e.base, e.count])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    expect((await log.partitionBounds(topic, 0)).highWatermark).toBe(3);
  });

  it('appends the idempotent parts of many producers on one partition in the order given, failing only a bad one', async () => {
    // Prepare: eight producers, one batch each, in one gathered request (as Java clients, idempotent
    // by default, send them); the fourth producer's first batch does not start at sequence 0
    const log = kafka.stack.services.log;
    const topic = uniqueTopic('pg-many');
    const t = await log.createTopic({ name: topic, partitionCount: 1 });
    const producers = [5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008];
    // Act
    const results = await log.produceGathered(
      producers.map((id, i) => ({
        topic,
        partition: 0,
        batches: batch([`p${i}`], { id, seq: id === 5004 ? 1 : 0 }),
      })),
    );
    // Assess: every other part at the next offset, in the order given; the bad one refused (Kafka's
    // UNKNOWN_PRODUCER_ID for a first batch past 0), nothing of it stored
    expect(results.map((r) => (r.error ? r.error.code : r.baseOffset))).toEqual([
      0,
      1,
      2,
      'UNKNOWN_PRODUCER_ID',
      3,
      4,
      5,
      6,
    ]);
    const entries = await log.log.queryEntries(logIdOf(t, 0), 0, 10, 10);
    expect(entries.map((e) => [e.base, e.producerId])).toEqual(
      producers.filter((id) => id !== 5004).map((id, i) => [i, id]),
    );
    expect((await log.partitionBounds(topic, 0)).highWatermark).toBe(7);
  });
});
