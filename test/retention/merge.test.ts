import { describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { SimulatedCrash } from '../../shared/log/faults';
import { logIdOf } from '../../shared/log/log-service';
import { type CleanupStep, runCleanup } from '../../shared/retention';
import { MINUTE, SECOND, TestClock } from '../support/clock';
import { CrashOnce } from '../support/faults';
import { batchOf, createLogHarness, type LogHarness, uniqueTopic } from '../support/log';
import { useTestStorage } from '../support/suite';
import { auditStorage, batchAt, cleanupDeps, fastCleanup, listObjects, ok, readPartition } from './support';

const OPTIONS = fastCleanup({ merge: { minAgeMs: MINUTE }, collectObjects: false });

/** Batches of assorted shapes: 1–3 records, LZ4 or none, keys, headers. */
function assorted(i: number, timestamp: number): Buffer {
  const values = Array.from({ length: 1 + (i % 3) }, (_, j) => `v${i}.${j}-${'x'.repeat(i * 7)}`);
  return batchAt(values, timestamp + i, { compression: i % 2 === 0 ? 'lz4' : 'none' });
}

describe('Merging small segments', () => {
  const storage = useTestStorage();

  async function producePlenty(
    h: LogHarness,
    topic: string,
    count: number,
    clock: TestClock,
    shareEvery = 0,
  ) {
    for (let i = 0; i < count; i++) {
      const parts = [{ topic, partition: 0, batches: assorted(i, clock.now()) }];
      if (shareEvery > 0 && i % shareEvery === 0) {
        parts.push({ topic, partition: 1, batches: batchAt([`p1-${i}`], clock.now()) });
      }
      for (const r of await h.log.produce(parts)) ok(r);
    }
  }

  describe('Function: runCleanup (merge)', () => {
    it('rewrites small entries into one object, every batch byte for byte, and a catch-up costs one GET', async () => {
      // Prepare
      const clock = new TestClock();
      const h = createLogHarness(storage, { now: clock.now });
      const topic = uniqueTopic('merge');
      await h.log.createTopic({ name: topic, partitionCount: 2, retentionMs: null });
      await producePlenty(h, topic, 40, clock, 5);
      const before = await readPartition(h, topic);
      const coldBefore = createLogHarness(storage);
      await readPartition(coldBefore, topic);
      const getsBefore = coldBefore.calls.get('GetObjectCommand');

      // Act
      clock.advance(2 * MINUTE);
      const summary = await runCleanup(cleanupDeps(storage, clock), OPTIONS);

      // Assess
      expect(summary).toMatchObject({ complete: true, mergeObjectsWritten: 2, runsMerged: 2 }); // one per partition
      const after = await readPartition(h, topic);
      expect(after.bytes.equals(before.bytes)).toBe(true);
      expect(after.records).toEqual(before.records);
      expect(after.entries).toEqual([
        expect.objectContaining({ base: 0, count: before.records.length, state: 'committed' }),
      ]);
      expect(after.entries[0]!.maxTimestamp).toBe(Math.max(...before.entries.map((e) => e.maxTimestamp!)));
      await auditStorage(storage, after);
      const p1 = await readPartition(h, topic, 1);
      expect(p1.records.map((r) => r.value)).toEqual([0, 5, 10, 15, 20, 25, 30, 35].map((i) => `p1-${i}`));
      expect(p1.entries).toHaveLength(1);
      const coldAfter = createLogHarness(storage);
      await readPartition(coldAfter, topic);
      expect(getsBefore).toBe(40);
      expect(coldAfter.calls.get('GetObjectCommand')).toBe(1);
    });

    it('bounds a merged entry by maxEntryBytes and an object by objectBytes', async () => {
      const clock = new TestClock();
      const h = createLogHarness(storage, { now: clock.now });
      const topic = uniqueTopic('bounds');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
      await producePlenty(h, topic, 30, clock);
      const before = await readPartition(h, topic);
      const maxEntryBytes = 1500;
      clock.advance(2 * MINUTE);

      const summary = await runCleanup(cleanupDeps(storage, clock), {
        ...OPTIONS,
        merge: { minAgeMs: MINUTE, maxEntryBytes, objectBytes: 4000, maxRunEntries: 6 },
      });

      const after = await readPartition(h, topic);
      expect(after.records).toEqual(before.records);
      expect(after.bytes.equals(before.bytes)).toBe(true);
      expect(summary.runsMerged).toBeGreaterThan(1);
      expect(after.entries.length).toBeLessThan(before.entries.length);
      for (const e of after.entries) expect(e.size!).toBeLessThanOrEqual(Math.max(maxEntryBytes, 700));
      expect(summary.mergeObjectsWritten).toBeGreaterThan(1);
      expect(new Set(after.entries.map((e) => e.objectKey)).size).toBeLessThan(after.entries.length);
      await auditStorage(storage, after);
    });

    it('leaves young entries and aborted ranges alone, merges a producer’s last batch, and a retry of it still gets its offsets', async () => {
      // Prepare: [0..2] [3 aborted] [4..6] [7 idempotent, last] [8..9] | clock +2 min | [10..11] young
      const clock = new TestClock();
      const dies = new CrashOnce('after-reserve', false);
      const h = createLogHarness(storage, { now: clock.now, faults: dies, append: { repairAfterMs: 300 } });
      const topic = uniqueTopic('skip');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
      const plain = async (v: string) =>
        ok((await h.log.produce([{ topic, partition: 0, batches: batchOf([v]) }]))[0]);
      for (const v of ['a', 'b', 'c']) await plain(v);
      dies.armed = true;
      await expect(
        h.log.produce([{ topic, partition: 0, batches: batchOf(['dies']) }]),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      for (const v of ['d', 'e', 'f']) await plain(v); // the first waits for the repair of offset 3
      const idem = batchOf(['once'], { producerId: 77, producerEpoch: 0, baseSequence: 0 });
      expect(ok((await h.log.produce([{ topic, partition: 0, batches: idem }]))[0]).baseOffset).toBe(7);
      for (const v of ['g', 'h']) await plain(v);
      clock.advance(2 * MINUTE);
      for (const v of ['young-1', 'young-2']) await plain(v);
      const before = await readPartition(h, topic);

      // Act
      await runCleanup(cleanupDeps(storage, clock), OPTIONS);

      // Assess
      const after = await readPartition(h, topic);
      // The idempotent batch at 7 is merged with its neighbours: its producer's state (an item of its
      // own now, not in the head) still records base 7, and the merged entry covers it.
      expect(after.entries.map((e) => [e.base, e.count, e.state])).toEqual([
        [0, 3, 'committed'],
        [3, 1, 'aborted'],
        [4, 6, 'committed'],
        [10, 1, 'committed'],
        [11, 1, 'committed'],
      ]);
      expect(after.records).toEqual(before.records);
      expect(after.bytes.equals(before.bytes)).toBe(true);
      await auditStorage(storage, after);
      const retry = ok((await h.log.produce([{ topic, partition: 0, batches: idem }]))[0]);
      expect(retry).toMatchObject({ baseOffset: 7, lastOffset: 7, duplicate: true });
      // From an instance that never saw the producer too (it reads the state, then the merged entry).
      const cold = createLogHarness(storage, { now: clock.now });
      const coldRetry = ok((await cold.log.produce([{ topic, partition: 0, batches: idem }]))[0]);
      expect(coldRetry).toMatchObject({ baseOffset: 7, duplicate: true });
      expect((await readPartition(h, topic)).records).toEqual(before.records);
      // The young entries merge once old enough; the checkpoint made the scan start near them.
      clock.advance(2 * MINUTE);
      await runCleanup(cleanupDeps(storage, clock), OPTIONS);
      const later = await readPartition(h, topic);
      expect(later.entries.map((e) => [e.base, e.count])).toEqual([
        [0, 3],
        [3, 1],
        [4, 8],
        [12, 1], // the cold retry's own range, aborted: it reserved before its claim was refused
      ]);
      expect(later.records).toEqual(before.records);
      expect(later.entries.at(-1)?.state).toBe('aborted');
    });
  });

  describe('Readers racing a merge', () => {
    it('see neither a gap, an overlap nor a duplicate from any offset between any two steps', async () => {
      // Prepare
      const clock = new TestClock();
      const h = createLogHarness(storage, { now: clock.now });
      const topic = uniqueTopic('race');
      await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
      await producePlenty(h, topic, 8, clock);
      const expected = (await readPartition(h, topic)).records;
      const hw = expected.length;
      const reader = createLogHarness(storage);
      const steps: CleanupStep[] = [];
      const check = async () => {
        expect((await readPartition(reader, topic)).records).toEqual(expected);
        for (let offset = 0; offset < hw; offset++) {
          for (const maxBytes of [1, 4 * 1024 * 1024]) {
            const [r] = await reader.log.fetch({ partitions: [{ topic, partition: 0, offset }], maxBytes });
            expect(r!.error).toBeUndefined();
            const records = decodeRecordBatches(r!.records).batches.flatMap((b) => b.records);
            expect(records[0]!.offset, `fetch from ${offset} starts at or before it`).toBeLessThanOrEqual(
              offset,
            );
            const from = records.filter((x) => x.offset >= offset);
            expect(from.map((x) => [x.offset, x.value!.toString()])).toEqual(
              expected.slice(offset, r!.nextOffset).map((x) => [x.offset, x.value]),
            );
            expect(r!.nextOffset).toBeGreaterThan(offset);
          }
        }
      };
      const logId = logIdOf(await h.log.requireTopic(topic), 0);
      const hooks = {
        step: async (step: CleanupStep, at: string) => {
          if (!step.startsWith('merge-') || at !== logId) return;
          steps.push(step);
          await check();
        },
      };

      // Act
      clock.advance(2 * MINUTE);
      await runCleanup(cleanupDeps(storage, clock, hooks), OPTIONS);

      // Assess
      expect(steps).toEqual([
        'merge-object-written',
        'merge-entry-replaced',
        ...Array.from({ length: 7 }, () => 'merge-entry-deleted'),
      ]);
      await check();
    });
  });

  describe('A pass dying mid-merge', () => {
    /** Where the pass dies, and how many old entries the next pass finds left inside the merged one. */
    const cases: [CleanupStep, number, number][] = [
      ['merge-object-written', 1, 0],
      ['merge-entry-replaced', 1, 7],
      ['merge-entry-deleted', 3, 4],
    ];
    for (const [dieAt, nth, leftovers] of cases) {
      it(`leaves a consistent log when it dies after ${dieAt}${nth > 1 ? ` #${nth}` : ''}`, async () => {
        // Prepare
        const clock = new TestClock();
        const h = createLogHarness(storage, { now: clock.now });
        const topic = uniqueTopic('crash');
        await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
        await producePlenty(h, topic, 8, clock);
        const before = await readPartition(h, topic);
        const logId = logIdOf(await h.log.requireTopic(topic), 0);
        let seen = 0;
        const hooks = {
          step: (step: CleanupStep, at: string) => {
            if (step === dieAt && at === logId && ++seen === nth) throw new Error(`pass died after ${step}`);
          },
        };
        const dying = cleanupDeps(storage, clock, hooks);
        const written: string[] = [];
        const put = dying.segments.put.bind(dying.segments);
        dying.segments.put = async (key, body) => {
          written.push(key);
          return put(key, body);
        };

        // Act
        clock.advance(2 * MINUTE);
        await expect(runCleanup(dying, OPTIONS)).rejects.toThrow('pass died');

        // Assess: the same records, read from every state the crash can leave.
        const crashed = await readPartition(h, topic);
        expect(crashed.records).toEqual(before.records);
        expect(crashed.bytes.equals(before.bytes)).toBe(true);
        const next = await runCleanup(cleanupDeps(storage, clock), OPTIONS);
        expect(next.mergeLeftoversDeleted).toBe(leftovers);
        const repaired = await readPartition(h, topic);
        expect(repaired.records).toEqual(before.records);
        expect(repaired.bytes.equals(before.bytes)).toBe(true);
        expect(repaired.entries).toHaveLength(1);
        await auditStorage(storage, repaired);

        // The old objects, and the orphan of a merge that died before its replace, are collected.
        const collect = { ...OPTIONS, collectObjects: true };
        clock.advance(2 * MINUTE);
        await runCleanup(cleanupDeps(storage, clock), collect);
        clock.advance(MINUTE + SECOND);
        await runCleanup(cleanupDeps(storage, clock), collect);
        const objects = await listObjects(storage);
        for (const e of before.entries) expect(objects.has(e.objectKey!)).toBe(false);
        expect(objects.has(repaired.entries[0]!.objectKey!)).toBe(true);
        if (dieAt === 'merge-object-written') expect(objects.has(written[0]!)).toBe(false);
        await auditStorage(storage, await readPartition(h, topic));
      });
    }
  });
});
