import { describe, expect, it } from 'vitest';
import { type CrashPoint, SimulatedCrash } from '../../shared/log/faults';
import { logIdOf } from '../../shared/log/log-service';
import { type CleanupOptions, runCleanup } from '../../shared/retention';
import type { DynamoLogStore } from '../../shared/store/log-store';
import { HOUR, MINUTE, SECOND, TestClock } from '../support/clock';
import { storageEnvironment } from '../support/environment';
import { CrashOnce } from '../support/faults';
import { batchOf, createLogHarness, type LogHarness, uniqueTopic } from '../support/log';
import { useTestStorage } from '../support/suite';
import { auditStorage, batchAt, cleanupDeps, fastCleanup, listObjects, ok, readPartition } from './support';

const FAST = fastCleanup({ merge: false });

describe('Function: runCleanup', () => {
  const storage = useTestStorage();

  const setup = () => {
    const clock = new TestClock();
    const h = createLogHarness(storage, { now: clock.now });
    const pass = (options: CleanupOptions = {}) =>
      runCleanup(cleanupDeps(storage, clock), { ...FAST, ...options });
    const store = h.log.log as DynamoLogStore;
    return { clock, h, pass, store };
  };

  const findLogId = async (h: LogHarness, topic: string, partition = 0) =>
    logIdOf(await h.log.requireTopic(topic, true), partition);

  describe('Retention by time', () => {
    it('advances logStartOffset, deletes the index entries after the grace period, then the unshared objects', async () => {
      // Prepare
      const { clock, h, pass } = setup();
      const topic = uniqueTopic('time');
      await h.log.createTopic({ name: topic, partitionCount: 2, retentionMs: HOUR });
      const old = clock.now() - 2 * HOUR;
      for (const v of ['old-0', 'old-1']) {
        ok((await h.log.produce([{ topic, partition: 0, batches: batchAt([v], old) }]))[0]);
      }
      // An object shared by both partitions: its partition-0 batch expires, its partition-1 batch stays.
      const shared = await h.log.produce([
        { topic, partition: 0, batches: batchAt(['old-2'], old) },
        { topic, partition: 1, batches: batchAt(['fresh-p1'], clock.now()) },
      ]);
      ok(shared[0]);
      for (const v of ['fresh-3', 'fresh-4']) {
        ok((await h.log.produce([{ topic, partition: 0, batches: batchAt([v], clock.now()) }]))[0]);
      }
      const before = await readPartition(h, topic);
      const keys = before.entries.map((e) => e.objectKey!);
      const sharedKey = keys[2]!;

      // Act
      const first = await pass();

      // Assess: the start moved to the first fresh entry; the old entries wait out the grace period.
      expect(first).toMatchObject({ complete: true, logStartOffsetsAdvanced: 1, entriesDeleted: 0 });
      const [below] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
      expect(below!.error).toMatchObject({
        code: 'OFFSET_OUT_OF_RANGE',
        details: { logStartOffset: 3, highWatermark: 5 },
      });
      const afterFirst = await readPartition(h, topic);
      expect(afterFirst.records.map((r) => r.value)).toEqual(['fresh-3', 'fresh-4']);
      expect(afterFirst.entries).toHaveLength(5);
      expect(afterFirst.head.pendingDeletion).toMatchObject({ below: 3 });

      clock.advance(30 * SECOND);
      expect((await pass()).entriesDeleted).toBe(0);
      clock.advance(31 * SECOND);
      expect((await pass()).entriesDeleted).toBe(3);
      const afterGrace = await readPartition(h, topic);
      expect(afterGrace.entries.map((e) => e.base)).toEqual([3, 4]);
      expect(afterGrace.head.pendingDeletion).toBeUndefined();
      await auditStorage(storage, afterGrace);
      // Unreferenced now, but not yet past the orphan window: still there.
      expect([...(await listObjects(storage))]).toEqual(expect.arrayContaining(keys));

      clock.advance(2 * MINUTE);
      expect((await pass()).objectsMarked).toBeGreaterThanOrEqual(2);
      expect([...(await listObjects(storage))]).toEqual(expect.arrayContaining(keys));
      clock.advance(MINUTE + SECOND);
      expect((await pass()).objectsDeleted).toBeGreaterThanOrEqual(2);

      const objects = await listObjects(storage);
      expect(objects.has(keys[0]!)).toBe(false);
      expect(objects.has(keys[1]!)).toBe(false);
      expect(objects.has(sharedKey)).toBe(true); // partition 1 still references it
      expect(objects.has(keys[3]!) && objects.has(keys[4]!)).toBe(true);
      const p1 = await readPartition(h, topic, 1);
      expect(p1.records.map((r) => r.value)).toEqual(['fresh-p1']);
      await auditStorage(storage, p1);
      expect((await readPartition(h, topic)).records.map((r) => r.value)).toEqual(['fresh-3', 'fresh-4']);
    });

    it('never splits an entry and never passes the high-water mark, repairing a stalled range first', async () => {
      // Prepare: one entry whose first record is old and last is fresh; then a range left open by a
      // dead appender, so HW < LEO.
      const clock = new TestClock();
      const dies = new CrashOnce('after-reserve', false);
      const h = createLogHarness(storage, { now: clock.now, faults: dies });
      const topic = uniqueTopic('split');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: HOUR });
      const old = clock.now() - 2 * HOUR;
      ok((await h.log.produce([{ topic, partition: 0, batches: batchAt(['a', 'b'], old) }]))[0]);
      const mixed = Buffer.concat([batchAt(['c'], old), batchAt(['d'], clock.now())]);
      ok((await h.log.produce([{ topic, partition: 0, batches: mixed }]))[0]);
      dies.armed = true;
      await expect(
        h.log.produce([{ topic, partition: 0, batches: batchAt(['dies'], old) }]),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      const logId = await findLogId(h, topic);
      expect(await h.log.log.getHead(logId)).toMatchObject({ highWatermark: 4, logEndOffset: 5 });

      // Act
      clock.advance(20 * SECOND); // past repairAfterMs
      const summary = await runCleanup(cleanupDeps(storage, clock), { ...FAST, repairAfterMs: 5 * SECOND });

      // Assess
      expect(summary.rangesRepaired).toBe(1);
      const read = await readPartition(h, topic);
      expect(read.head).toMatchObject({ logStartOffset: 2, highWatermark: 5, logEndOffset: 5 });
      expect(read.records.map((r) => r.value)).toEqual(['c', 'd']);
      await auditStorage(storage, read);

      // Everything expired: the start reaches HW (aborted range included), and not beyond.
      clock.advance(2 * HOUR);
      await runCleanup(cleanupDeps(storage, clock), FAST);
      const empty = await readPartition(h, topic);
      expect(empty.head).toMatchObject({ logStartOffset: 5, highWatermark: 5 });
      expect(empty.records).toEqual([]);
    });
  });

  describe('Retention by size', () => {
    it('keeps the newest entries that reach retentionBytes, as Kafka does', async () => {
      const { clock, h, pass } = setup();
      const topic = uniqueTopic('size');
      const sizes: number[] = [];
      const batches = ['s0', 's1', 's2', 's3', 's4'].map((v) =>
        batchAt([v], clock.now(), { compression: 'none' }),
      );
      for (const b of batches) sizes.push(b.length);
      await h.log.createTopic({
        name: topic,
        partitionCount: 1,
        retentionMs: null,
        retentionBytes: sizes[0]! * 2,
      });
      for (const batch of batches) {
        ok((await h.log.produce([{ topic, partition: 0, batches: batch }]))[0]);
      }

      const summary = await pass();

      expect(summary.logStartOffsetsAdvanced).toBe(1);
      const read = await readPartition(h, topic);
      expect(read.head.logStartOffset).toBe(3);
      expect(read.records.map((r) => r.value)).toEqual(['s3', 's4']);
      await auditStorage(storage, read);
    });
  });

  describe('Deleted topics', () => {
    it("deletes a deleted topic's entries and heads after the grace period, then its tombstone and objects", async () => {
      const { clock, h, pass, store } = setup();
      const topic = uniqueTopic('gone');
      await h.log.createTopic({ name: topic, partitionCount: 2 });
      await h.log.produce([
        { topic, partition: 0, batches: batchOf(['a']) },
        { topic, partition: 1, batches: batchOf(['b']) },
      ]);
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['c']) }]);
      const t = await h.log.requireTopic(topic, true);
      const logIds = [logIdOf(t, 0), logIdOf(t, 1)];
      const keys = (await h.log.log.queryEntries(logIds[0]!, 0, 10, 10)).map((e) => e.objectKey!);
      await h.log.deleteTopic(topic);

      const first = await pass();
      expect(first.headsDeleted).toBe(0);
      expect(await store.getHeadForCleanup(logIds[0]!)).toMatchObject({
        deleted: true,
        deletedAt: expect.any(Number),
      });
      expect(await h.log.log.queryEntries(logIds[0]!, 0, 10, 10)).toHaveLength(2);

      clock.advance(MINUTE + SECOND);
      const second = await pass();
      // Counts cover every topic of the table; other tests' topics may add to them.
      expect(second.headsDeleted).toBeGreaterThanOrEqual(2);
      expect(second.topicsFinished).toBeGreaterThanOrEqual(1);
      expect(second.entriesDeleted).toBeGreaterThanOrEqual(3);
      for (const logId of logIds) {
        expect(await h.log.log.getHead(logId)).toBeUndefined();
        expect(await h.log.log.queryEntries(logId, 0, 10, 10)).toEqual([]);
      }
      expect((await h.log.topics.listTombstones()).map((x) => x.topicId)).not.toContain(t.topicId);

      clock.advance(2 * MINUTE);
      await pass();
      clock.advance(MINUTE + SECOND);
      await pass();
      const objects = await listObjects(storage);
      for (const key of keys) expect(objects.has(key)).toBe(false);
    });
  });

  describe('Orphan objects', () => {
    it('collects an object no append committed only after the orphan window and the grace period', async () => {
      const clock = new TestClock();
      let orphan = '';
      const faults = {
        crash: (point: CrashPoint, at: string) => {
          if (point === 'after-object-put' && orphan === '') {
            orphan = at; // the object's key
            throw new SimulatedCrash(point);
          }
        },
      };
      const h = createLogHarness(storage, { now: clock.now, faults });
      const topic = uniqueTopic('orphan');
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      await expect(
        h.log.produce([{ topic, partition: 0, batches: batchOf(['lost']) }]),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      const pass = () => runCleanup(cleanupDeps(storage, clock), FAST);

      clock.advance(2 * MINUTE - 10 * SECOND);
      await pass();
      expect((await listObjects(storage)).has(orphan)).toBe(true);

      clock.advance(20 * SECOND);
      const marked = await pass();
      expect(marked.objectsMarked).toBeGreaterThanOrEqual(1);
      expect((await listObjects(storage)).has(orphan)).toBe(true);

      clock.advance(MINUTE - 10 * SECOND);
      await pass();
      expect((await listObjects(storage)).has(orphan)).toBe(true);

      clock.advance(20 * SECOND);
      const swept = await pass();
      expect(swept.objectsDeleted).toBeGreaterThanOrEqual(1);
      expect((await listObjects(storage)).has(orphan)).toBe(false);
    });
  });

  describe('Idle producers', () => {
    it('removes idempotent-producer state idle longer than producerIdleMs, and keeps the active', async () => {
      const { clock, h, pass, store } = setup();
      const topic = uniqueTopic('idle');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
      const idem = (producerId: number, v: string) =>
        batchOf([v], { producerId, producerEpoch: 0, baseSequence: 0 });
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(41, 'idle') }]))[0]);
      clock.advance(8 * 24 * HOUR);
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(42, 'active') }]))[0]);

      const summary = await pass();

      expect(summary.producersExpired).toBe(1);
      const logId = await findLogId(h, topic);
      expect(await store.getProducer(logId, 41)).toBeUndefined();
      expect(await store.getProducer(logId, 42)).toMatchObject({ producerId: 42, nextSequence: 1 });
      // The expired producer starts afresh, as Kafka's does after producer.id.expiration.ms.
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(41, 'again') }]))[0]);
    });

    it('keeps the state of a producer that wrote between the scan and the delete (the delete is conditional)', async () => {
      const { clock, h, store } = setup();
      const topic = uniqueTopic('idle');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
      const idem = (baseSequence: number, v: string) =>
        batchOf([v], { producerId: 43, producerEpoch: 0, baseSequence });
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(0, 'old') }]))[0]);
      const logId = await findLogId(h, topic);
      const { producers } = await store.scanForCollection();
      const seen = producers.find((p) => p.logId === logId && p.producerId === 43)!;
      clock.advance(8 * 24 * HOUR);
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(1, 'new') }]))[0]);
      // A pass that scanned before the write and deletes after it: refused, the state stays.
      expect(await store.deleteIdleProducer(logId, 43, seen.updatedAt)).toBe(false);
      expect(await store.getProducer(logId, 43)).toMatchObject({ nextSequence: 2 });
      // Deleting twice (a pass dying after its delete, the next one retrying) is harmless.
      const fresh = (await store.getProducer(logId, 43))!;
      expect(await store.deleteIdleProducer(logId, 43, fresh.updatedAt)).toBe(true);
      expect(await store.deleteIdleProducer(logId, 43, fresh.updatedAt)).toBe(false);
      expect(await store.getProducer(logId, 43)).toBeUndefined();
    });
  });

  describe('Passes', () => {
    it('are idempotent: a second pass at the same time changes nothing', async () => {
      const { clock, h, pass } = setup();
      const topic = uniqueTopic('idem');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: HOUR });
      for (const v of ['x', 'y', 'z']) {
        ok(
          (await h.log.produce([{ topic, partition: 0, batches: batchAt([v], clock.now() - 2 * HOUR) }]))[0],
        );
      }
      for (const v of ['w1', 'w2', 'w3']) {
        ok((await h.log.produce([{ topic, partition: 0, batches: batchAt([v], clock.now()) }]))[0]);
      }
      clock.advance(10 * MINUTE);
      await pass({ merge: { minAgeMs: MINUTE } });
      const before = await readPartition(h, topic);
      // x, y, z below logStartOffset (their deletion pending); w1–w3 merged into one entry.
      expect(before.head.logStartOffset).toBe(3);
      expect(before.entries.map((e) => [e.base, e.count])).toEqual([
        [0, 1],
        [1, 1],
        [2, 1],
        [3, 3],
      ]);
      const objects = await listObjects(storage);

      const again = await pass({ merge: { minAgeMs: MINUTE } });

      expect(again).toMatchObject({
        complete: true,
        logStartOffsetsAdvanced: 0,
        entriesDeleted: 0,
        runsMerged: 0,
        objectsDeleted: 0,
        mergeObjectsWritten: 0,
      });
      const after = await readPartition(h, topic);
      expect(after.entries).toEqual(before.entries);
      expect(after.head).toEqual(before.head);
      expect(await listObjects(storage)).toEqual(objects);
    });

    it('stop at maxPartitions and resume with the next partition', async () => {
      const { clock, h, pass } = setup();
      const prefix = uniqueTopic('bound');
      const names = ['a', 'b', 'c'].map((x) => `${prefix}-${x}`);
      for (const name of names) {
        await h.log.createTopic({ name, partitionCount: 1, retentionMs: HOUR });
        ok(
          (
            await h.log.produce([
              { topic: name, partition: 0, batches: batchAt(['old'], clock.now() - 2 * HOUR) },
            ])
          )[0],
        );
        ok((await h.log.produce([{ topic: name, partition: 0, batches: batchAt(['new'], clock.now()) }]))[0]);
      }
      // Other tests' topics are visited too: count only ours.
      const starts = async () =>
        Promise.all(names.map(async (name) => (await readPartition(h, name)).head.logStartOffset));
      const seen: number[][] = [];
      for (let i = 0; i < 20 && (await starts()).some((s) => s === 0); i++) {
        const summary = await pass({ maxPartitions: 1, collectObjects: false });
        expect(summary).toMatchObject({ partitionsVisited: 1, complete: false });
        seen.push(await starts());
      }
      // Each pass moved at most one of them, and in order.
      expect(await starts()).toEqual([1, 1, 1]);
      const moves = seen.map((s) => s.join(''));
      expect(moves.filter((m, i) => m !== (seen[i - 1] ?? [0, 0, 0]).join(''))).toEqual([
        '100',
        '110',
        '111',
      ]);
    });

    it('stop at maxDeletes and resume until the work is done', async () => {
      const { clock, h, pass } = setup();
      const topic = uniqueTopic('deletes');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: HOUR });
      for (let i = 0; i < 12; i++) {
        ok(
          (
            await h.log.produce([
              { topic, partition: 0, batches: batchAt([`o${i}`], clock.now() - 2 * HOUR) },
            ])
          )[0],
        );
      }
      ok((await h.log.produce([{ topic, partition: 0, batches: batchAt(['new'], clock.now()) }]))[0]);
      await pass({ collectObjects: false });
      clock.advance(MINUTE + SECOND);
      // Deletions of other tests' leftovers may share the budget: loop until ours are gone.
      const remaining = async () => (await readPartition(h, topic)).entries.length;
      const deleted: number[] = [];
      for (let i = 0; i < 20 && (await remaining()) > 1; i++) {
        const summary = await pass({ maxDeletes: 5, collectObjects: false });
        expect(summary.entriesDeleted).toBeLessThanOrEqual(5);
        deleted.push(summary.entriesDeleted);
        if ((await remaining()) > 1) expect(summary.complete).toBe(false);
      }
      expect(await remaining()).toBe(1);
      expect(deleted.length).toBeGreaterThanOrEqual(3);
      await auditStorage(storage, await readPartition(h, topic));
    });

    it('run one at a time: a pass finding the lease held does nothing', async () => {
      const { clock, store, pass } = setup();
      expect(await store.acquireCleanupLease('someone-else', clock.now(), clock.now() + HOUR)).toBeDefined();
      expect(await pass()).toMatchObject({ skipped: 'locked', complete: false, partitionsVisited: 0 });
      // A lease whose holder died expires.
      clock.advance(HOUR + SECOND);
      expect((await pass()).skipped).toBeUndefined();
    });
  });

  describe('Function: handler', () => {
    it('runs one pass against the storage its environment names and returns the summary', async () => {
      const env = { ...storageEnvironment(storage.config), POWERTOOLS_LOG_LEVEL: 'SILENT' };
      Object.assign(process.env, env);
      const { handler } = await import('../../functions/cleanup');
      const summary = await handler(undefined, { getRemainingTimeInMillis: () => 30_000 } as never);
      expect(summary.skipped).toBeUndefined();
      expect(summary.partitionsVisited).toBeGreaterThan(0);
      for (const name of Object.keys(env)) delete process.env[name];
    });
  });
});
