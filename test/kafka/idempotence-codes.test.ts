import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import type { KafkaReader } from '../../shared/kafka/protocol/reader';
import { type KafkaTestStack, RawKafkaConnection, startKafkaTestStack, uniqueTopic } from './support';

/**
 * InitProducerId and the idempotent Produce over the wire, with Kafka's codes: ids from the Kafka range
 * and unique across listeners, KIP-360 epoch bumps and their fencing, transactional ids refused; a
 * retried batch stored once and answered with its first offsets, a sequence gap, an old epoch and an
 * unknown producer each refused with nothing written.
 */

let kafka: KafkaTestStack;
let second: KafkaTestStack;
beforeAll(async () => {
  kafka = await startKafkaTestStack();
  second = await startKafkaTestStack();
}, 30_000);
afterAll(async () => {
  await kafka?.stop();
  await second?.stop();
});

async function initProducerId(
  c: RawKafkaConnection,
  version: number,
  fields: { transactionalId?: string | null; producerId?: number; producerEpoch?: number } = {},
): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
  const flexible = version >= 2;
  const { body } = await c.request(
    22,
    version,
    (w) => {
      w.nullableString(fields.transactionalId ?? null).int32(60_000);
      if (version >= 3) w.int64(fields.producerId ?? -1).int16(fields.producerEpoch ?? -1);
      w.taggedFields();
    },
    { flexible },
  );
  body.int32(); // ThrottleTimeMs
  return { errorCode: body.int16(), producerId: Number(body.int64()), producerEpoch: body.int16() };
}

/** Produce v7 of one batch to one partition: the partition's error code and base offset. */
async function produce(
  c: RawKafkaConnection,
  topic: string,
  batch: Buffer,
): Promise<{ errorCode: number; baseOffset: number }> {
  const { body } = await c.request(0, 7, (w) => {
    w.nullableString(null).int16(-1).int32(10_000);
    w.array([0], (w) => {
      w.string(topic).array([0], (w) => {
        w.int32(0).records(batch);
      });
    });
  });
  const r: KafkaReader = body;
  r.int32(); // topics
  r.string();
  r.int32(); // partitions
  r.int32(); // index
  const errorCode = r.int16();
  const baseOffset = Number(r.int64());
  return { errorCode, baseOffset };
}

const batch = (producerId: number, producerEpoch: number, baseSequence: number, n = 3) =>
  encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`s${baseSequence + i}`) })),
    { producerId, producerEpoch, baseSequence, compression: 'none' },
  );

describe('Kafka idempotence: InitProducerId', () => {
  it('hands out distinct ids from the Kafka range on every listener', async () => {
    const a = await RawKafkaConnection.connect(kafka.port);
    const ids: number[] = [];
    for (const v of [0, 1, 2, 3, 4, 5]) {
      const r = await initProducerId(a, v);
      expect(r.errorCode).toBe(0);
      expect(r.producerEpoch).toBe(0);
      ids.push(r.producerId);
    }
    a.close();
    // Another stack shares nothing with the first, so only the range is checked there.
    const b = await RawKafkaConnection.connect(second.port);
    const other = await initProducerId(b, 4);
    b.close();
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [...ids, other.producerId]) {
      expect(id).toBeGreaterThanOrEqual(2 ** 48);
      expect(id).toBeLessThan(2 ** 53);
    }
  });

  it('bumps the epoch of a re-initialising producer (KIP-360) and fences a stale id/epoch pair', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const first = await initProducerId(c, 4);
    const bumped = await initProducerId(c, 4, { producerId: first.producerId, producerEpoch: 0 });
    const again = await initProducerId(c, 4, { producerId: first.producerId, producerEpoch: 1 });
    const staleV4 = await initProducerId(c, 4, { producerId: first.producerId, producerEpoch: 0 });
    const staleV3 = await initProducerId(c, 3, { producerId: first.producerId, producerEpoch: 1 });
    c.close();
    expect(bumped).toEqual({ errorCode: 0, producerId: first.producerId, producerEpoch: 1 });
    expect(again).toEqual({ errorCode: 0, producerId: first.producerId, producerEpoch: 2 });
    expect(staleV4.errorCode).toBe(KAFKA_ERRORS.PRODUCER_FENCED);
    expect(staleV3.errorCode).toBe(KAFKA_ERRORS.INVALID_PRODUCER_EPOCH);
  });

  it('refuses a transactional id until Sluice has transactions', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const r = await initProducerId(c, 4, { transactionalId: 'tx-1' });
    c.close();
    expect(r.errorCode).toBe(KAFKA_ERRORS.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });
});

describe('Kafka idempotence: Produce', () => {
  it('stores a retried batch once and answers it with its first offsets; refuses gaps, old epochs and unknown producers', async () => {
    // Prepare
    const topic = uniqueTopic('idem');
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 1 });
    const c = await RawKafkaConnection.connect(kafka.port);
    const { producerId } = await initProducerId(c, 4);
    const hwm = async () => (await kafka.stack.services.log.partitionBounds(topic, 0)).highWatermark;

    // Act and assess
    const first = await produce(c, topic, batch(producerId, 0, 0));
    expect(first).toEqual({ errorCode: 0, baseOffset: 0 });
    const retry = await produce(c, topic, batch(producerId, 0, 0));
    expect(retry).toEqual({ errorCode: 0, baseOffset: 0 });
    expect(await hwm()).toBe(3);

    const gap = await produce(c, topic, batch(producerId, 0, 5));
    expect(gap.errorCode).toBe(KAFKA_ERRORS.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await hwm()).toBe(3);

    const next = await produce(c, topic, batch(producerId, 0, 3));
    expect(next).toEqual({ errorCode: 0, baseOffset: 3 });

    // A re-initialised producer (epoch 1) restarts its sequence at 0 and fences epoch 0.
    const bumped = await initProducerId(c, 4, { producerId, producerEpoch: 0 });
    expect(bumped.producerEpoch).toBe(1);
    expect((await produce(c, topic, batch(producerId, 1, 0))).baseOffset).toBe(6);
    const zombie = await produce(c, topic, batch(producerId, 0, 6));
    expect(zombie.errorCode).toBe(KAFKA_ERRORS.INVALID_PRODUCER_EPOCH);

    const { producerId: stranger } = await initProducerId(c, 4);
    const unknown = await produce(c, topic, batch(stranger, 0, 7));
    expect(unknown.errorCode).toBe(KAFKA_ERRORS.UNKNOWN_PRODUCER_ID);
    expect(await hwm()).toBe(9);
    c.close();
  });
});
