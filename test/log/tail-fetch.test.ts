import { describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { LogService, type LogServiceOptions } from '../../shared/log/log-service';
import { createAwsClients } from '../../shared/store/aws-clients';
import { DynamoLogStore } from '../../shared/store/log-store';
import { S3SegmentStore } from '../../shared/store/segment-store';
import { DynamoTopicStore } from '../../shared/store/topic-store';
import { batchOf, createLogHarness, uniqueTopic } from '../support/log';
import type { TestStorage } from '../support/storage';
import { useTestStorage } from '../support/suite';

/** Wraps `target` so that every call of `method` is counted first (`count` sees its arguments). */
function counting<T extends object>(target: T, method: keyof T, count: (...args: unknown[]) => void): T {
  return new Proxy(target, {
    get(object, prop) {
      const value = Reflect.get(object, prop, object);
      if (typeof value !== 'function') return value;
      if (prop === method) {
        return (...args: unknown[]) => {
          count(...args);
          return value.apply(object, args);
        };
      }
      return value.bind(object);
    },
  });
}

/**
 * One process's LogService over the shared storage, counting the heads it reads (and the requests
 * that read them), its index queries and its S3 GETs.
 */
function processService(storage: TestStorage, options: LogServiceOptions = {}) {
  const counts = { heads: 0, headRequests: 0, queries: 0, gets: 0 };
  const clients = createAwsClients(storage.config);
  let logStore = new DynamoLogStore(clients.dynamo, storage.config.logTable);
  logStore = counting(logStore, 'getHead', () => {
    counts.heads++;
    counts.headRequests++;
  });
  logStore = counting(logStore, 'getHeads', (logIds) => {
    counts.heads += (logIds as string[]).length;
    if ((logIds as string[]).length > 0) counts.headRequests++;
  });
  logStore = counting(logStore, 'queryEntries', () => counts.queries++);
  const log = new LogService(
    new DynamoTopicStore(clients.dynamo, storage.config.topicsTable),
    logStore,
    counting(new S3SegmentStore(clients.s3, storage.config.bucket), 'getRange', () => counts.gets++),
    { topicCacheMs: 600_000, ...options },
  );
  const stop = () => {
    clients.dynamo.destroy();
    clients.s3.destroy();
  };
  return { log, counts, stop };
}

const values = (records: Buffer) =>
  decodeRecordBatches(records).batches.flatMap((b) => b.records.map((r) => r.value?.toString()));

/** Resolves once `condition` holds; checked on every turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

// Polls far apart: a fetch that answers before its deadline was woken, not polled.
const NEVER_POLL: LogServiceOptions = { fetch: { minPollMs: 60_000, maxPollMs: 60_000 } };

describe('Class: LogService', () => {
  const storage = useTestStorage();

  describe('Method: fetch (long poll)', () => {
    it('wakes a waiting fetch when this process commits, and serves it from what it appended: no polling, no more reads', async () => {
      // Prepare
      const p = processService(storage, NEVER_POLL);
      const topic = uniqueTopic();
      await p.log.createTopic({ name: topic, partitionCount: 2 });
      const fetching = p.log.fetch({
        partitions: [
          { topic, partition: 0, offset: 0 },
          { topic, partition: 1, offset: 0 },
        ],
        maxWaitMs: 20_000,
      });
      await until(() => p.counts.heads === 2 && p.log.highWatermarks.waiting === 2);
      // Act
      await p.log.produce([{ topic, partition: 1, batches: batchOf(['woken']) }]);
      const [first, second] = await fetching;
      // Assess
      expect(values(second!.records)).toEqual(['woken']);
      expect(first!.records.length).toBe(0);
      // Both heads in the first round, in one request; after the wake, the partition that advanced is
      // planned from the entry this process just committed: no head read, no index query.
      expect(p.counts.heads).toBe(2);
      expect(p.counts.headRequests).toBe(1);
      expect(p.counts.queries).toBe(0);
      expect(p.log.highWatermarks.stats).toEqual({ woken: 1, timedOut: 0 });
      p.stop();
    });

    it('wakes a waiting fetch as soon as its partition is acknowledged, before the rest of the request', async () => {
      // Prepare: a two-partition request whose second advance is held until the fetch has answered
      const h = createLogHarness(storage, { topicCacheMs: 600_000, ...NEVER_POLL });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 2 });
      const fetching = h.log.fetch({
        partitions: [
          { topic, partition: 0, offset: 0 },
          { topic, partition: 1, offset: 0 },
        ],
        maxWaitMs: 20_000,
      });
      await until(() => h.log.highWatermarks.waiting === 2);
      let fetched = false;
      const answered = fetching.then((result) => {
        fetched = true;
        return result;
      });
      let updates = 0;
      h.wire = async (command, send) => {
        // Two reserves, then two advances: the second advance waits for the fetch (at most 5 s).
        if (command === 'UpdateItemCommand' && ++updates === 4) {
          await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 5000))]);
        }
        return send();
      };
      // Act
      const producing = h.log.produce([
        { topic, partition: 0, batches: batchOf(['first']) },
        { topic, partition: 1, batches: batchOf(['second']) },
      ]);
      const result = await answered;
      const producedWhenFetched = await Promise.race([producing.then(() => true), Promise.resolve(false)]);
      await producing;
      // Assess: one partition's record, while the request was still waiting on the other's advance
      expect(fetched).toBe(true);
      expect(producedWhenFetched).toBe(false);
      expect(result.flatMap((r) => values(r.records))).toHaveLength(1);
    });

    it('keeps waiting through commits it does not wait for, and for minBytes', async () => {
      // Prepare
      const p = processService(storage, NEVER_POLL);
      const topic = uniqueTopic();
      await p.log.createTopic({ name: topic, partitionCount: 2 });
      const one = batchOf(['a']);
      const fetching = p.log.fetch({
        partitions: [{ topic, partition: 0, offset: 0 }],
        maxWaitMs: 20_000,
        minBytes: 2 * one.length,
      });
      await until(() => p.log.highWatermarks.waiting === 1);
      // Act: another partition (no wake-up), then one batch (woken, too few bytes), then a second
      await p.log.produce([{ topic, partition: 1, batches: batchOf(['elsewhere']) }]);
      await p.log.produce([{ topic, partition: 0, batches: one }]);
      await until(() => p.log.highWatermarks.stats.woken === 1 && p.log.highWatermarks.waiting === 1);
      await p.log.produce([{ topic, partition: 0, batches: batchOf(['b']) }]);
      const [result] = await fetching;
      // Assess
      expect(values(result!.records)).toEqual(['a', 'b']);
      // One head read before waiting; both wakes planned from this process's own appends.
      expect(p.counts.heads).toBe(1);
      expect(p.counts.queries).toBe(0);
      expect(p.log.highWatermarks.stats).toEqual({ woken: 2, timedOut: 0 });
      p.stop();
    });

    it('serves a fetch that comes after several appends of this process from those appends: one head read, no index query', async () => {
      // Prepare: a consumer a few requests behind its producer (as with several requests in flight)
      const p = processService(storage, NEVER_POLL);
      const topic = uniqueTopic();
      await p.log.createTopic({ name: topic, partitionCount: 1 });
      for (const value of ['one', 'two', 'three']) {
        await p.log.produce([{ topic, partition: 0, batches: batchOf([value]) }]);
      }
      // Act
      const [fromStart] = await p.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
      const [fromMiddle] = await p.log.fetch({ partitions: [{ topic, partition: 0, offset: 1 }] });
      // Assess
      expect(values(fromStart!.records)).toEqual(['one', 'two', 'three']);
      expect(values(fromMiddle!.records)).toEqual(['two', 'three']);
      expect(fromStart!.highWatermark).toBe(3);
      expect(p.counts.heads).toBe(2);
      expect(p.counts.queries).toBe(0);
      p.stop();
    });

    it('queries the index when the head shows more than this process appended', async () => {
      // Prepare: this process appends offset 0, another process offset 1
      const here = processService(storage, NEVER_POLL);
      const elsewhere = processService(storage);
      const topic = uniqueTopic();
      await here.log.createTopic({ name: topic, partitionCount: 1 });
      await here.log.produce([{ topic, partition: 0, batches: batchOf(['near']) }]);
      await elsewhere.log.produce([{ topic, partition: 0, batches: batchOf(['far']) }]);
      // Act
      const [result] = await here.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
      // Assess: what this process knows stops short of the mark, so the index was read for the rest
      expect(values(result!.records)).toEqual(['near', 'far']);
      expect(here.counts.queries).toBe(1);
      here.stop();
      elsewhere.stop();
    });

    it('falls back to the head and the index when a range committed elsewhere lies before its own', async () => {
      // Prepare: this process waits at offset 0; another process commits offset 0, then this one offset 1
      const here = processService(storage, NEVER_POLL);
      const elsewhere = processService(storage);
      const topic = uniqueTopic();
      await here.log.createTopic({ name: topic, partitionCount: 1 });
      const fetching = here.log.fetch({
        partitions: [{ topic, partition: 0, offset: 0 }],
        maxWaitMs: 20_000,
      });
      await until(() => here.log.highWatermarks.waiting === 1);
      // Act
      await elsewhere.log.produce([{ topic, partition: 0, batches: batchOf(['far']) }]);
      await here.log.produce([{ topic, partition: 0, batches: batchOf(['near']) }]);
      const [result] = await fetching;
      // Assess: offset 0 is not among this process's appends, so the head and the index were read
      expect(values(result!.records)).toEqual(['far', 'near']);
      expect(here.counts.heads).toBe(2);
      expect(here.counts.queries).toBeGreaterThanOrEqual(1);
      here.stop();
      elsewhere.stop();
    });

    it('still polls for commits made by another process', async () => {
      // Prepare
      const consumerSide = processService(storage, { fetch: { minPollMs: 20, maxPollMs: 40 } });
      const producerSide = processService(storage);
      const topic = uniqueTopic();
      await producerSide.log.createTopic({ name: topic, partitionCount: 1 });
      const fetching = consumerSide.log.fetch({
        partitions: [{ topic, partition: 0, offset: 0 }],
        maxWaitMs: 20_000,
      });
      await until(() => consumerSide.counts.heads >= 1);
      // Act
      await producerSide.log.produce([{ topic, partition: 0, batches: batchOf(['from afar']) }]);
      const [result] = await fetching;
      // Assess
      expect(values(result!.records)).toEqual(['from afar']);
      expect(consumerSide.log.highWatermarks.stats.woken).toBe(0);
      expect(consumerSide.log.highWatermarks.stats.timedOut).toBeGreaterThanOrEqual(1);
      consumerSide.stop();
      producerSide.stop();
    });
  });

  describe('Method: fetch (write-through cache)', () => {
    it('serves a tail fetch from the bytes this process wrote, with no S3 GET', async () => {
      // Prepare
      const writer = processService(storage);
      const reader = processService(storage);
      const topic = uniqueTopic();
      await writer.log.createTopic({ name: topic, partitionCount: 2 });
      const [produced] = await writer.log.produce([
        { topic, partition: 0, batches: batchOf(['x', 'y']) },
        { topic, partition: 1, batches: batchOf(['z']) },
      ]);
      expect(produced).toMatchObject({ baseOffset: 0 });
      const request = {
        partitions: [
          { topic, partition: 0, offset: 1 },
          { topic, partition: 1, offset: 0 },
        ],
      };
      // Act
      const mine = await writer.log.fetch(request);
      const theirs = await reader.log.fetch(request);
      const again = await reader.log.fetch(request);
      // Assess: the same bytes, stamped alike; the writer read none back, the reader once
      expect(mine.map((r) => values(r.records))).toEqual([['x', 'y'], ['z']]);
      expect(theirs.map((r) => r.records)).toEqual(mine.map((r) => r.records));
      expect(again.map((r) => r.records)).toEqual(mine.map((r) => r.records));
      expect(writer.counts.gets).toBe(0);
      expect(reader.counts.gets).toBe(1); // both ranges lie in one object: one coalesced GET
      writer.stop();
      reader.stop();
    });

    it('makes no GetObject call on the wire, and keeps nothing when cacheWrites is off', async () => {
      // Prepare
      const cached = createLogHarness(storage, { topicCacheMs: 600_000 });
      const uncached = createLogHarness(storage, { topicCacheMs: 600_000, fetch: { cacheWrites: false } });
      for (const h of [cached, uncached]) {
        const topic = uniqueTopic();
        await h.log.createTopic({ name: topic, partitionCount: 1 });
        await h.log.produce([{ topic, partition: 0, batches: batchOf(['kept?']) }]);
        h.calls.reset();
        // Act
        const [result] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
        expect(values(result!.records)).toEqual(['kept?']);
      }
      // Assess
      expect(cached.calls.get('GetObjectCommand')).toBe(0);
      expect(uncached.calls.get('GetObjectCommand')).toBe(1);
    });
  });
});
