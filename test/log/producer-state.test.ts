/**
 * Producer state out of the head (issue 13): one item per (partition, idempotent producer id), under a
 * key of its own, so the head stays small and of constant size whatever the number of producers, and
 * an append costs the same for the first producer of a partition and the ten-thousandth.
 */
import { BatchWriteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrashPoint, SimulatedCrash } from '../../shared/log/faults';
import { logIdOf } from '../../shared/log/log-service';
import type { PartitionError, ProducePartitionResult } from '../../shared/log/types';
import { PRODUCER_SORT_KEY, producerKeyOf, TTL_ATTRIBUTE } from '../../shared/store/log-store';
import { batchOf, createLogHarness, lostResponse, MemorySegmentStore, uniqueTopic } from '../support/log';
import { startTestStorage, type TestStorage } from '../support/storage';
import { createMeteredLog, dynamoItemSize, mapLimit, rawHead } from './support';

const ok = (r: ProducePartitionResult | PartitionError | undefined) => {
  if (!r || r.error) throw r?.error ?? new Error('no result');
  return r;
};
const idem = (producerId: number, epoch: number, baseSequence: number, values: string[]) =>
  batchOf(values, { producerId, producerEpoch: epoch, baseSequence });

describe('Producer state (one item per partition and producer id)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  it('keeps the head ≤ 1 KB with 10,000 producer ids, and the 1st and 10,000th producer pay the same calls and capacity units', {
    timeout: 240_000,
  }, async () => {
    // Prepare. Real appends for the first REAL producers (1, 2, …); the states of producers REAL+1 …
    // 9,999 are seeded straight into the table, 25 per BatchWriteItem, in the item format the claim
    // writes (checked below through the store): 40,000 calls of real appends take minutes on a shared
    // 2-core machine. Then producer 10,000 appends for real.
    const REAL = 200;
    const PRODUCERS = 10_000;
    // Topic metadata cached for the whole test, as in a warm function: only the log table is measured.
    const { log, meter, store } = createMeteredLog(storage, new MemorySegmentStore(), {
      topicCacheMs: 600_000,
    });
    const topic = uniqueTopic('many');
    await log.createTopic({ name: topic, partitionCount: 1 });
    const logId = logIdOf(await log.requireTopic(topic), 0);
    const produce = async (producerId: number) =>
      ok(
        (
          await log.produce([{ topic, partition: 0, batches: idem(producerId, 0, 0, [`p${producerId}`]) }])
        )[0],
      );
    await log.requireTopic(topic); // the topic's metadata is cached from here on, as in a warm function

    // Act: producer 1's append, measured.
    meter.reset();
    const first = await produce(1);
    const firstCost = meter.snapshot();
    const firstHead = await rawHead(storage, logId);
    const headAfterFirst = { size: dynamoItemSize(firstHead), names: Object.keys(firstHead).sort() };

    await mapLimit(
      Array.from({ length: REAL - 1 }, (_, i) => i + 2),
      16,
      produce,
    );
    const seeded = Array.from({ length: PRODUCERS - REAL - 1 }, (_, i) => i + REAL + 1);
    const chunks = Array.from({ length: Math.ceil(seeded.length / 25) }, (_, i) =>
      seeded.slice(i * 25, i * 25 + 25),
    );
    const now = Date.now();
    await mapLimit(chunks, 8, async (chunk) => {
      const n = (v: number) => ({ N: String(v) });
      let requests = chunk.map((producerId) => ({
        PutRequest: {
          Item: {
            pid: { S: producerKeyOf(logId, producerId) },
            sk: n(PRODUCER_SORT_KEY),
            ...{ e: n(0), s: n(1), f: n(0), b: n(producerId), c: n(1), t: n(now) },
            [TTL_ATTRIBUTE]: n(Math.ceil((now + 3_600_000) / 1000)),
          },
        },
      }));
      while (requests.length > 0) {
        const result = await storage.clients.dynamo.send(
          new BatchWriteItemCommand({ RequestItems: { [storage.config.logTable]: requests } }),
        );
        requests = (result.UnprocessedItems?.[storage.config.logTable] ?? []) as typeof requests;
      }
    });

    // Act: producer 10,000's append, measured.
    meter.reset();
    const last = await produce(PRODUCERS);
    const lastCost = meter.snapshot();

    // Assess: every append succeeded, at its own offset.
    expect(first.baseOffset).toBe(0);
    expect(last.baseOffset).toBe(REAL);
    const head = await rawHead(storage, logId);
    const headSize = dynamoItemSize(head);
    expect(headSize).toBeLessThanOrEqual(1024);
    // Constant: the same attributes as after the first append (only the offsets' digits differ).
    expect(Object.keys(head).sort()).toEqual(headAfterFirst.names);
    expect(headSize).toBeLessThanOrEqual(headAfterFirst.size + 8);
    expect(Object.keys(head).some((name) => /^p[esfbct]_/.test(name))).toBe(false);
    // Same DynamoDB calls, command by command, and the same capacity units (as dynalite reports them).
    expect(lastCost).toEqual(firstCost);
    // reserve, claim and advance (UpdateItem), commit (PutItem): no read first.
    expect(firstCost.calls).toEqual({ PutItemCommand: 1, UpdateItemCommand: 3 });
    expect(firstCost.total).toBe(4);
    expect(firstCost.units).toBeGreaterThan(0);
    expect(firstCost.units).toBeLessThanOrEqual(4); // one unit per write: every item is under 1 KB
    // All 10,000 states are there, each a small item of its own.
    for (const producerId of [1, REAL, REAL + 1, PRODUCERS - 1, PRODUCERS]) {
      expect(await store.getProducer(logId, producerId)).toMatchObject({
        producerId,
        epoch: 0,
        nextSequence: 1,
      });
    }
    const item = await storage.clients.dynamo.send(
      new GetItemCommand({
        TableName: storage.config.logTable,
        Key: { pid: { S: producerKeyOf(logId, PRODUCERS) }, sk: { N: String(PRODUCER_SORT_KEY) } },
        ConsistentRead: true,
      }),
    );
    expect(dynamoItemSize(item.Item!)).toBeLessThanOrEqual(200);
  });

  it('writes the idle expiry into the state item as a TTL attribute (epoch seconds)', async () => {
    const h = createLogHarness(storage, { append: { producerIdleMs: 3_600_000 } });
    const topic = uniqueTopic();
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    const before = Date.now();
    ok((await h.log.produce([{ topic, partition: 0, batches: idem(61, 0, 0, ['x']) }]))[0]);
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    const item = await storage.clients.dynamo.send(
      new GetItemCommand({
        TableName: storage.config.logTable,
        Key: { pid: { S: producerKeyOf(logId, 61) }, sk: { N: String(PRODUCER_SORT_KEY) } },
        ConsistentRead: true,
      }),
    );
    const expiresAt = Number(item.Item![TTL_ATTRIBUTE]!.N);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor((before + 3_600_000) / 1000));
    expect(expiresAt).toBeLessThanOrEqual(Math.ceil((Date.now() + 3_600_000) / 1000));
  });

  it('answers a retry from a warm instance without reserving; a cold instance aborts the range it reserved', async () => {
    const warm = createLogHarness(storage);
    const topic = uniqueTopic();
    await warm.log.createTopic({ name: topic, partitionCount: 1 });
    const first = ok((await warm.log.produce([{ topic, partition: 0, batches: idem(51, 0, 0, ['a']) }]))[0]);
    // Warm: it claimed the batch itself, so the retry is read and answered; nothing is written.
    warm.calls.reset();
    const retry = ok((await warm.log.produce([{ topic, partition: 0, batches: idem(51, 0, 0, ['a']) }]))[0]);
    expect(retry).toMatchObject({ baseOffset: first.baseOffset, duplicate: true });
    expect(warm.calls.get('UpdateItemCommand') + warm.calls.get('PutItemCommand')).toBe(0);
    // Cold: sequence 0 looks like a first batch; the claim refuses it and the reserved range is aborted.
    const cold = createLogHarness(storage);
    const coldRetry = ok(
      (await cold.log.produce([{ topic, partition: 0, batches: idem(51, 0, 0, ['a']) }]))[0],
    );
    expect(coldRetry).toMatchObject({ baseOffset: first.baseOffset, duplicate: true });
    const next = ok((await cold.log.produce([{ topic, partition: 0, batches: idem(51, 0, 1, ['b']) }]))[0]);
    expect(next.baseOffset).toBe(2);
    const logId = logIdOf(await warm.log.requireTopic(topic), 0);
    const head = (await warm.log.log.getHead(logId))!;
    expect(head).toMatchObject({ highWatermark: 3, logEndOffset: 3, reservations: [] });
    const entries = await warm.log.log.queryEntries(logId, 0, 3, 10);
    expect(entries.map((e) => [e.base, e.state])).toEqual([
      [0, 'committed'],
      [1, 'aborted'],
      [2, 'committed'],
    ]);
  });

  it('refuses gaps, unknown producers and fenced epochs from a cold instance, closing the ranges it reserved', async () => {
    const h = createLogHarness(storage);
    const topic = uniqueTopic();
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    ok((await h.log.produce([{ topic, partition: 0, batches: idem(52, 1, 0, ['a']) }]))[0]);
    // Each refusal from a fresh instance (no cache: its reserve comes before the claim).
    const refuse = async (batches: Buffer) =>
      (await createLogHarness(storage).log.produce([{ topic, partition: 0, batches }]))[0]!.error;
    expect(await refuse(idem(52, 1, 7, ['gap']))).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(await refuse(idem(52, 0, 0, ['zombie']))).toMatchObject({ code: 'INVALID_PRODUCER_EPOCH' });
    expect(await refuse(idem(53, 0, 3, ['unknown']))).toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    expect(await refuse(idem(52, 2, 5, ['new epoch, not 0']))).toMatchObject({
      code: 'OUT_OF_ORDER_SEQUENCE',
    });
    const after = ok((await h.log.produce([{ topic, partition: 0, batches: idem(52, 1, 1, ['b']) }]))[0]);
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    const head = (await h.log.log.getHead(logId))!;
    expect(head.highWatermark).toBe(head.logEndOffset);
    expect(head.reservations).toEqual([]);
    const [r] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
    expect(r!.nextOffset).toBe(head.highWatermark);
    expect(after.baseOffset).toBe(head.highWatermark - 1);
    expect((await h.log.log.getProducer(logId, 52))!).toMatchObject({ epoch: 1, nextSequence: 2 });
  });

  it('recognises its own claim when the claim’s answer is lost (F4)', async () => {
    const h = createLogHarness(storage);
    const topic = uniqueTopic();
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    let updates = 0;
    h.wire = async (name, send) => {
      const result = await send();
      // The second UpdateItem of the append is the claim: lose its answer once; the SDK retries it.
      if (name === 'UpdateItemCommand' && ++updates === 2) throw lostResponse();
      return result;
    };
    const r = ok((await h.log.produce([{ topic, partition: 0, batches: idem(54, 0, 0, ['once']) }]))[0]);
    h.wire = undefined;
    expect(r).toMatchObject({ baseOffset: 0, duplicate: false });
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    expect(await h.log.log.getHead(logId)).toMatchObject({ highWatermark: 1, logEndOffset: 1 });
    expect(await h.log.log.getProducer(logId, 54)).toMatchObject({ lastBase: 0, nextSequence: 1 });
  });

  it('keeps every invariant when a refused batch’s appender dies after aborting its range (after-abort)', async () => {
    const h = createLogHarness(storage, { append: { repairAfterMs: 400 } });
    const topic = uniqueTopic();
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    ok((await h.log.produce([{ topic, partition: 0, batches: idem(55, 0, 0, ['a']) }]))[0]);
    const dying = createLogHarness(storage, {
      append: { repairAfterMs: 400 },
      faults: {
        crash: (point: CrashPoint) => {
          if (point === 'after-abort') throw new SimulatedCrash(point);
        },
      },
    });
    await expect(
      dying.log.produce([{ topic, partition: 0, batches: idem(55, 0, 0, ['a']) }]),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    // The aborted entry sits at the mark with nobody to advance over it: the next appender's repair does.
    const next = ok((await h.log.produce([{ topic, partition: 0, batches: idem(55, 0, 1, ['b']) }]))[0]);
    expect(next.baseOffset).toBe(2);
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    expect(await h.log.log.getHead(logId)).toMatchObject({
      highWatermark: 3,
      logEndOffset: 3,
      reservations: [],
    });
    const entries = await h.log.log.queryEntries(logId, 0, 3, 10);
    expect(entries.map((e) => [e.base, e.count, e.state])).toEqual([
      [0, 1, 'committed'],
      [1, 1, 'aborted'],
      [2, 1, 'committed'],
    ]);
  });

  it('keeps 16 idempotent producers on one partition within 5 DynamoDB calls per commit', {
    timeout: 240_000,
  }, async () => {
    const h = createLogHarness(storage, { segments: new MemorySegmentStore() });
    const topic = uniqueTopic();
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]);
    h.calls.reset();
    const perProducer = 20;
    await Promise.all(
      Array.from({ length: 16 }, async (_, p) => {
        for (let s = 0; s < perProducer; s++) {
          ok(
            (await h.log.produce([{ topic, partition: 0, batches: idem(100 + p, 0, s, [`p${p}-${s}`]) }]))[0],
          );
        }
      }),
    );
    const commits = 16 * perProducer;
    // 4 uncontended (the claim is the fourth); contention adds what it adds to the plain append.
    expect(h.calls.total('dynamo') / commits).toBeLessThanOrEqual(5);
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    const head = (await h.log.log.getHead(logId))!;
    expect(head).toMatchObject({ highWatermark: commits + 1, logEndOffset: commits + 1, reservations: [] });
  });
});
