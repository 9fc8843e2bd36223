import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { isSluiceError } from '../../shared/errors';
import type { ProducePartitionResult } from '../../shared/log/types';
import { batchOf, createLogHarness, type LogHarness, uniqueTopic } from '../support/log';
import { startTestStorage, type TestStorage } from '../support/storage';

describe('Class: LogService', () => {
  let storage: TestStorage;
  let h: LogHarness;
  beforeAll(async () => {
    storage = await startTestStorage();
    h = createLogHarness(storage);
  });
  afterAll(async () => {
    await storage.stop();
  });

  describe('Method: createTopic', () => {
    it('rejects invalid names and partition counts before writing anything', async () => {
      for (const name of ['', '.', '..', 'a/b', 'a%2Fb', 'nul\u0000', 'x'.repeat(250), 'spa ce', 'é']) {
        await expect(h.log.createTopic({ name, partitionCount: 1 })).rejects.toMatchObject({
          code: 'INVALID_TOPIC',
        });
      }
      for (const partitionCount of [0, -1, 1.5, 1025, Number.NaN]) {
        await expect(h.log.createTopic({ name: uniqueTopic(), partitionCount })).rejects.toMatchObject({
          code: 'INVALID_PARTITIONS',
        });
      }
      expect(await h.log.listTopics()).toEqual([]);
    });

    it('creates, describes, lists, grows and deletes a topic', async () => {
      const name = uniqueTopic();
      const topic = await h.log.createTopic({ name, partitionCount: 3, retentionMs: 60_000 });
      expect(topic).toMatchObject({ name, partitionCount: 3, retentionMs: 60_000 });
      await expect(h.log.createTopic({ name, partitionCount: 1 })).rejects.toMatchObject({
        code: 'TOPIC_ALREADY_EXISTS',
      });
      const described = await h.log.describeTopic(name);
      expect(described.partitions).toEqual(
        [0, 1, 2].map((partition) => ({ partition, logStartOffset: 0, highWatermark: 0, logEndOffset: 0 })),
      );
      expect((await h.log.listTopics()).map((t) => t.name)).toContain(name);
      await expect(h.log.createPartitions(name, 2)).rejects.toMatchObject({ code: 'INVALID_PARTITIONS' });
      expect((await h.log.createPartitions(name, 5)).partitions).toHaveLength(5);
      await h.log.deleteTopic(name);
      await expect(h.log.describeTopic(name)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });
      await expect(h.log.deleteTopic(name)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    });

    it('gives a topic created again under a deleted name a fresh log', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['a', 'b']) }]);
      await h.log.deleteTopic(name);
      await h.log.createTopic({ name, partitionCount: 1 });
      const [result] = await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['c']) }]);
      expect(result).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    });
  });

  describe('Method: produce', () => {
    it('appends batches of several partitions in one request and reads them back at their offsets', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 2 });
      const first = await h.log.produce([
        { topic: name, partition: 0, batches: Buffer.concat([batchOf(['a', 'b']), batchOf(['c'])]) },
        { topic: name, partition: 1, batches: batchOf(['x']) },
      ]);
      expect(first).toEqual([
        { topic: name, partition: 0, baseOffset: 0, lastOffset: 2, duplicate: false },
        { topic: name, partition: 1, baseOffset: 0, lastOffset: 0, duplicate: false },
      ]);
      const second = await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['d', 'e']) }]);
      expect(second[0]).toMatchObject({ baseOffset: 3, lastOffset: 4 });
      const [fetched] = await h.log.fetch({ partitions: [{ topic: name, partition: 0, offset: 0 }] });
      expect(fetched).toMatchObject({ highWatermark: 5, logStartOffset: 0, nextOffset: 5 });
      const records = decodeRecordBatches(fetched!.records).batches.flatMap((b) => b.records);
      expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, 'e'],
      ]);
      expect(records[1]!.key?.toString()).toBe('k1');
      expect(records[0]!.key).toBeNull();
      expect(records[1]!.headers).toEqual([{ key: 'h', value: Buffer.from('b') }]);
    });

    it('rejects a bad request as a whole and writes nothing', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      const good = batchOf(['ok']);
      const corrupt = Buffer.from(batchOf(['bad']));
      corrupt[corrupt.length - 1]! ^= 0x01;
      h.calls.reset();
      const bad = [
        [
          { topic: name, partition: 0, batches: good },
          { topic: name, partition: 0, batches: corrupt },
        ],
        [{ topic: name, partition: 0, batches: good.subarray(0, good.length - 3) }],
        [{ topic: name, partition: 3, batches: good }],
        [{ topic: 'no-such-topic', partition: 0, batches: good }],
        [],
      ];
      for (const parts of bad) {
        await expect(h.log.produce(parts)).rejects.toSatisfy(isSluiceError);
      }
      expect(h.calls.get('PutObjectCommand')).toBe(0);
      expect(h.calls.get('UpdateItemCommand')).toBe(0);
      expect((await h.log.describeTopic(name)).partitions[0]).toMatchObject({
        highWatermark: 0,
        logEndOffset: 0,
      });
    });

    it('fails appends to a topic deleted meanwhile, even through a stale topic cache', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      const other = createLogHarness(storage, { topicCacheMs: 60_000 });
      await other.log.produce([{ topic: name, partition: 0, batches: batchOf(['warm']) }]);
      await h.log.deleteTopic(name);
      const [result] = await other.log.produce([{ topic: name, partition: 0, batches: batchOf(['late']) }]);
      expect(result!.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    });
  });

  describe('Method: fetch', () => {
    it('answers OFFSET_OUT_OF_RANGE with both bounds, and an empty answer at the high-water mark', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['a', 'b']) }]);
      const [beyond] = await h.log.fetch({ partitions: [{ topic: name, partition: 0, offset: 3 }] });
      expect(beyond!.error).toMatchObject({
        code: 'OFFSET_OUT_OF_RANGE',
        details: { logStartOffset: 0, highWatermark: 2 },
      });
      const [atEnd] = await h.log.fetch({ partitions: [{ topic: name, partition: 0, offset: 2 }] });
      expect(atEnd).toMatchObject({ highWatermark: 2, nextOffset: 2 });
      expect(atEnd!.records.length).toBe(0);
    });

    it('returns the batch holding an offset that lies mid-batch', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['a', 'b', 'c']) }]);
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['d']) }]);
      const [fetched] = await h.log.fetch({ partitions: [{ topic: name, partition: 0, offset: 1 }] });
      const offsets = decodeRecordBatches(fetched!.records).batches.flatMap((b) =>
        b.records.map((r) => r.offset),
      );
      expect(offsets).toEqual([0, 1, 2, 3]);
    });

    it('leaves out the batches of an entry that end before the offset asked', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      const batches = Buffer.concat([batchOf(['a', 'b']), batchOf(['c']), batchOf(['d', 'e'])]);
      await h.log.produce([{ topic: name, partition: 0, batches }]);
      const [fetched] = await h.log.fetch({ partitions: [{ topic: name, partition: 0, offset: 3 }] });
      const found = decodeRecordBatches(fetched!.records).batches.map((b) => b.header.baseOffset);
      expect(found).toEqual([3]);
      expect(fetched!.nextOffset).toBe(5);
    });

    it('respects maxBytes but always returns at least one batch', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      for (let i = 0; i < 5; i++) {
        await h.log.produce([
          { topic: name, partition: 0, batches: batchOf([`value-${i}`.repeat(50)], { compression: 'none' }) },
        ]);
      }
      const [one] = await h.log.fetch({
        partitions: [{ topic: name, partition: 0, offset: 0 }],
        maxBytes: 10,
      });
      expect(decodeRecordBatches(one!.records).batches).toHaveLength(1);
      expect(one!.nextOffset).toBe(1);
      const size = one!.records.length;
      const [three] = await h.log.fetch({
        partitions: [{ topic: name, partition: 0, offset: 1 }],
        maxBytes: size * 3,
      });
      expect(decodeRecordBatches(three!.records).batches).toHaveLength(3);
      expect(three!.nextOffset).toBe(4);
    });

    it('long-polls until records arrive', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      const waiting = h.log.fetch({
        partitions: [{ topic: name, partition: 0, offset: 0 }],
        maxWaitMs: 5000,
      });
      await new Promise((r) => setTimeout(r, 150));
      const [produced] = await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['late']) }]);
      const [fetched] = await waiting;
      expect((produced as ProducePartitionResult).baseOffset).toBe(0);
      expect(decodeRecordBatches(fetched!.records).batches[0]!.records[0]!.value?.toString()).toBe('late');
    });

    it('returns an empty answer after maxWaitMs when nothing arrives', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      const started = Date.now();
      const [fetched] = await h.log.fetch({
        partitions: [{ topic: name, partition: 0, offset: 0 }],
        maxWaitMs: 300,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(fetched).toMatchObject({ highWatermark: 0, nextOffset: 0 });
      expect(fetched!.records.length).toBe(0);
    });
  });

  describe('Method: listOffset', () => {
    it('finds earliest, latest and the first offset at or after a timestamp', async () => {
      const name = uniqueTopic();
      await h.log.createTopic({ name, partitionCount: 1 });
      // batchOf stamps records 1_764_288_000_000 + index
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['a', 'b', 'c']) }]);
      await h.log.produce([{ topic: name, partition: 0, batches: batchOf(['d', 'e', 'f', 'g', 'h']) }]);
      expect(await h.log.listOffset(name, 0, 'earliest')).toEqual({ offset: 0, timestamp: null });
      expect(await h.log.listOffset(name, 0, 'latest')).toEqual({ offset: 8, timestamp: null });
      expect(await h.log.listOffset(name, 0, { timestamp: 1_764_288_000_001 })).toEqual({
        offset: 1,
        timestamp: 1_764_288_000_001,
      });
      expect(await h.log.listOffset(name, 0, { timestamp: 1_764_288_000_003 })).toEqual({
        offset: 6,
        timestamp: 1_764_288_000_003,
      });
      expect(await h.log.listOffset(name, 0, { timestamp: 1_764_288_009_999 })).toEqual({
        offset: 8,
        timestamp: null,
      });
    });
  });
});
