import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { type CrashPoint, SimulatedCrash } from '../../shared/log/faults';
import { logIdOf } from '../../shared/log/log-service';
import type { PartitionError, ProducePartitionResult } from '../../shared/log/types';
import type { IndexEntry } from '../../shared/store/log-store';
import { TestClock } from '../support/clock';
import { CrashOnce } from '../support/faults';
import {
  batchOf,
  createLogHarness,
  type LogHarness,
  lostResponse,
  MemorySegmentStore,
  uniqueTopic,
} from '../support/log';
import { useTestStorage } from '../support/suite';

const REPAIR_AFTER_MS = 400;

/** Reads a whole partition: every record with its offset, and the index entries (I8's audit). */
async function readAll(h: LogHarness, topic: string, partition = 0) {
  const values = new Map<number, string>();
  let offset = 0;
  for (;;) {
    const [r] = await h.log.fetch({ partitions: [{ topic, partition, offset }] });
    if (r!.error) throw r!.error;
    for (const batch of decodeRecordBatches(r!.records).batches) {
      for (const record of batch.records) {
        if (record.offset < offset) continue;
        expect(values.has(record.offset), `offset ${record.offset} returned twice`).toBe(false);
        values.set(record.offset, record.value!.toString());
      }
    }
    if (r!.nextOffset === offset) break;
    offset = r!.nextOffset;
  }
  const t = await h.log.requireTopic(topic, true);
  const head = (await h.log.log.getHead(logIdOf(t, partition)))!;
  const entries = await h.log.log.queryEntries(logIdOf(t, partition), 0, head.logEndOffset + 1, 10_000);
  return { values, head, entries };
}

/** I8: entries tile [logStartOffset, HW) without overlap or gap; aborted ones hold no records. */
function expectTiling(entries: IndexEntry[], from: number, to: number) {
  let at = from;
  for (const e of entries.filter((x) => x.base < to)) {
    expect(e.base, 'entries must tile without gap or overlap').toBe(at);
    at = e.base + e.count;
  }
  expect(at).toBe(to);
}

const ok = (r: ProducePartitionResult | PartitionError | undefined) => {
  if (!r || r.error) throw r?.error ?? new Error('no result');
  return r;
};

describe('Append protocol (design §4)', () => {
  const storage = useTestStorage();

  describe('Request budget', () => {
    it('costs 1 S3 PUT and 3 DynamoDB calls per partition for an uncontended append', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 4 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]); // topic metadata now cached
      for (const k of [1, 4]) {
        h.calls.reset();
        await h.log.produce(
          Array.from({ length: k }, (_, p) => ({ topic, partition: p, batches: batchOf([`k${k}`]) })),
        );
        expect(h.calls.get('PutObjectCommand')).toBe(1);
        expect(h.calls.total('s3')).toBe(1);
        expect(h.calls.total('dynamo')).toBe(3 * k);
      }
    });

    it('costs 4 DynamoDB calls per partition for an uncontended idempotent append (the claim on its own item)', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 4 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]);
      for (const [k, seq] of [
        [1, 0],
        [4, 1],
      ] as const) {
        h.calls.reset();
        const results = await h.log.produce(
          Array.from({ length: k }, (_, p) => ({
            topic,
            partition: p,
            batches: batchOf([`k${k}`], { producerId: 5, producerEpoch: 0, baseSequence: p === 0 ? seq : 0 }),
          })),
        );
        for (const r of results) ok(r);
        expect(h.calls.total('s3')).toBe(1);
        // reserve (head), claim (producer item), commit (entry), advance (head); no read first.
        expect(h.calls.get('UpdateItemCommand')).toBe(3 * k);
        expect(h.calls.get('PutItemCommand')).toBe(k);
        expect(h.calls.total('dynamo')).toBe(4 * k);
      }
    });

    it('costs one head request, one index query per partition and one GET per object for a fetch at the tail', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 2 });
      await h.log.produce([
        { topic, partition: 0, batches: batchOf(['old']) },
        { topic, partition: 1, batches: batchOf(['old']) },
      ]);
      await h.log.produce([
        { topic, partition: 0, batches: batchOf(['new']) },
        { topic, partition: 1, batches: batchOf(['new']) },
      ]);
      // Read by another process: the writer keeps what it wrote and would GET nothing back.
      const reader = createLogHarness(storage);
      await reader.log.requireTopic(topic);
      reader.calls.reset();
      const results = await reader.log.fetch({
        partitions: [
          { topic, partition: 0, offset: 1 },
          { topic, partition: 1, offset: 1 },
        ],
      });
      expect(results.map((r) => r.records.length > 0)).toEqual([true, true]);
      // Both heads in one BatchGetItem.
      expect(reader.calls.get('BatchGetItemCommand')).toBe(1);
      expect(reader.calls.get('GetItemCommand')).toBe(0);
      expect(reader.calls.get('QueryCommand')).toBe(2);
      expect(reader.calls.get('GetObjectCommand')).toBe(1); // both partitions' batches sit in one object
    });
  });

  describe('Invariants 1–3 under concurrency', () => {
    it('keeps 16 concurrent appenders on one partition dense, unique and readable at their acknowledged offsets', {
      timeout: 240_000,
    }, async () => {
      // Objects in memory: the contention is all in DynamoDB, and s3rver's disk writes only add time.
      // The appenders contend as separate processes would (one process orders its own appends).
      const h = createLogHarness(storage, { segments: new MemorySegmentStore(), appendInOrder: false });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]);
      h.calls.reset();
      const acked = new Map<number, string>();
      const appenders = 16;
      const perAppender = 40; // 640 batches, as the design notes' prototype
      await Promise.all(
        Array.from({ length: appenders }, async (_, a) => {
          for (let i = 0; i < perAppender; i++) {
            const values = [`a${a}-b${i}-r0`, `a${a}-b${i}-r1`];
            const r = ok((await h.log.produce([{ topic, partition: 0, batches: batchOf(values) }]))[0]);
            values.forEach((v, j) => {
              expect(acked.has(r.baseOffset + j), `offset ${r.baseOffset + j} acknowledged twice`).toBe(
                false,
              );
              acked.set(r.baseOffset + j, v);
            });
          }
        }),
      );
      const commits = appenders * perAppender;
      const { values, head, entries } = await readAll(h, topic);
      expect(head.highWatermark).toBe(head.logEndOffset);
      expect(values.size).toBe(1 + commits * 2);
      for (const [offset, value] of acked) expect(values.get(offset)).toBe(value);
      expectTiling(entries, 0, head.highWatermark);
      expect(entries.every((e) => e.state === 'committed')).toBe(true);
      // The budget under contention (issue 13): at most 4 DynamoDB calls per commit on average (counted
      // as sent, SDK retries included). Each appender moves the mark over its own range: no chain
      // queries, no advances lost to the range's own appender.
      const dynamoPerCommit = h.calls.total('dynamo') / commits;
      expect(dynamoPerCommit).toBeLessThanOrEqual(4);
      expect(h.calls.get('QueryCommand') / commits).toBeLessThan(0.1);
    });

    it('pipelines the appends of one process to a partition: arrival order, at most 3 calls each, no failed advance', async () => {
      // Prepare
      const h = createLogHarness(storage, { segments: new MemorySegmentStore() });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]);
      h.calls.reset();
      let inFlight = 0;
      let mostInFlight = 0;
      h.wire = async (_command, send) => {
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await send();
        } finally {
          inFlight--;
        }
      };
      // Act: 32 requests at once, as a producer with many requests in flight sends them
      const appends = 32;
      const results = await Promise.all(
        Array.from({ length: appends }, (_, i) =>
          h.log.produce([{ topic, partition: 0, batches: batchOf([`v${i}`]) }]),
        ),
      );
      // Assess: offsets in arrival order; each append made its reserve and commit and at most its own
      // advance (none found the mark short, no head was polled), while the next one's reserve and
      // commit overlapped them (run one wholly after another, at most one call would be in flight)
      expect(results.map((r) => ok(r[0]).baseOffset)).toEqual(
        Array.from({ length: appends }, (_, i) => i + 1),
      );
      expect(h.calls.get('PutItemCommand')).toBe(appends);
      expect(h.calls.get('UpdateItemCommand')).toBeLessThanOrEqual(2 * appends);
      expect(h.calls.get('GetItemCommand') + h.calls.get('QueryCommand')).toBe(0);
      expect(mostInFlight).toBeGreaterThanOrEqual(2);
      const { values, head, entries } = await readAll(h, topic);
      expect(head.highWatermark).toBe(appends + 1);
      expect(head.reservations).toEqual([]);
      for (let i = 0; i < appends; i++) expect(values.get(i + 1)).toBe(`v${i}`);
      expectTiling(entries, 0, head.highWatermark);
    });

    for (const loseAnswer of [false, true]) {
      it(`carries the mark over the later appends of the process committed by the time of its advance (one advance for all)${loseAnswer ? ', its answer lost' : ''}`, async () => {
        // Prepare: the first append's commit is held on the wire until all the others have committed
        const h = createLogHarness(storage, { segments: new MemorySegmentStore() });
        const topic = uniqueTopic();
        await h.log.createTopic({ name: topic, partitionCount: 1 });
        const appends = 8;
        let commits = 0;
        let othersAnswered = 0;
        let advances = 0;
        let othersCommitted!: () => void;
        const committed = new Promise<void>((resolve) => {
          othersCommitted = resolve;
        });
        h.wire = async (command, send, input) => {
          if (command === 'UpdateItemCommand' && String(input.ConditionExpression).includes(':from')) {
            // The SDK's retry of a lost answer fails its condition: the mark is already past.
            const answer = await send();
            if (++advances === 1 && loseAnswer) throw lostResponse();
            return answer;
          }
          if (command !== 'PutItemCommand') return send();
          if (++commits === 1) {
            await committed;
            return send();
          }
          const answer = await send();
          if (++othersAnswered === appends - 1) othersCommitted();
          return answer;
        };
        // Act
        const results = await Promise.all(
          Array.from({ length: appends }, (_, i) =>
            h.log.produce([{ topic, partition: 0, batches: batchOf([`g${i}`]) }]),
          ),
        );
        // Assess: one advance moved the mark over all eight (a lost answer costs the SDK's retry, which
        // fails its condition, and one more try before the head shows the mark past); each append was
        // answered at its own offsets, only once the mark was past them (invariant 1)
        expect(advances).toBe(loseAnswer ? 3 : 1);
        expect(h.calls.get('UpdateItemCommand')).toBe(appends + (loseAnswer ? 2 : 1)); // retries not counted
        expect(results.map((r) => ok(r[0]).baseOffset)).toEqual(Array.from({ length: appends }, (_, i) => i));
        const { values, head, entries } = await readAll(h, topic);
        expect(head.highWatermark).toBe(appends);
        expect(head.reservations).toEqual([]);
        expect([...values.values()]).toEqual(Array.from({ length: appends }, (_, i) => `g${i}`));
        expectTiling(entries, 0, appends);
      });
    }

    it('carries the mark over a later range committed while an earlier one was open (the bounded help)', async () => {
      // Prepare: two processes on one partition. A reserves [0, 1) and its commit is held on the wire;
      // B reserves [1, 2), commits, and its advance finds the mark short of its base.
      const segments = new MemorySegmentStore();
      const a = createLogHarness(storage, { segments });
      const b = createLogHarness(storage, { segments });
      const topic = uniqueTopic();
      await a.log.createTopic({ name: topic, partitionCount: 1 });
      const signal = () => {
        let fire!: () => void;
        const fired = new Promise<void>((resolve) => {
          fire = resolve;
        });
        return { fire, fired };
      };
      const aHolds = signal();
      const aReleased = signal();
      let hold = true;
      a.wire = async (command, send) => {
        if (command === 'PutItemCommand' && hold) {
          hold = false;
          aHolds.fire();
          await aReleased.fired;
        }
        return send();
      };
      const bWaits = signal();
      let bUpdates = 0;
      b.wire = async (command, send) => {
        const answer = await send();
        // Its second update is its advance, which finds the mark still at 0.
        if (command === 'UpdateItemCommand' && ++bUpdates === 2) bWaits.fire();
        return answer;
      };
      const first = a.log.produce([{ topic, partition: 0, batches: batchOf(['a']) }]);
      await aHolds.fired;
      const second = b.log.produce([{ topic, partition: 0, batches: batchOf(['b']) }]);
      await bWaits.fired;
      // B's range is now older than three of A's round trips, even slow ones; A's range, with no entry
      // yet, is far from being aborted (repairAfterMs: 10 s).
      await new Promise((resolve) => setTimeout(resolve, 700));
      a.calls.reset();

      // Act
      aReleased.fire();
      const [fromA] = await first;

      // Assess: A's advance went on over B's committed entry (one Query, one more advance), so B's
      // record was readable when A was answered, whoever of the two then moved the mark
      expect(ok(fromA).baseOffset).toBe(0);
      expect(a.calls.get('QueryCommand')).toBe(1);
      expect(a.calls.get('UpdateItemCommand')).toBe(2);
      const t = await a.log.requireTopic(topic);
      expect((await a.log.log.getHead(logIdOf(t, 0)))!.highWatermark).toBe(2);
      expect(ok((await second)[0]).baseOffset).toBe(1);
      const { values, head, entries } = await readAll(a, topic);
      expect([...values]).toEqual([
        [0, 'a'],
        [1, 'b'],
      ]);
      expect(head.reservations).toEqual([]);
      expectTiling(entries, 0, 2);
    });
  });

  describe('Invariant 4 and crashes at each step', () => {
    for (const point of [
      'after-object-put',
      'after-reserve',
      'after-commit',
      'after-advance',
    ] as CrashPoint[]) {
      it(`keeps every invariant when an appender dies ${point}`, async () => {
        const h = createLogHarness(storage, {
          faults: new CrashOnce(point),
          append: { repairAfterMs: REPAIR_AFTER_MS },
        });
        const topic = uniqueTopic();
        await h.log.createTopic({ name: topic, partitionCount: 1 });
        await expect(
          h.log.produce([{ topic, partition: 0, batches: batchOf(['dies', 'dies']) }]),
        ).rejects.toBeInstanceOf(SimulatedCrash);
        // Appends after the crash are acknowledged (after the repair, if the dead range blocks them).
        const after = ok((await h.log.produce([{ topic, partition: 0, batches: batchOf(['next']) }]))[0]);
        const { values, head, entries } = await readAll(h, topic);
        expect(head.highWatermark).toBe(head.logEndOffset);
        expect(values.get(after.baseOffset)).toBe('next');
        expectTiling(entries, 0, head.highWatermark);
        const committedDead = [...values.values()].filter((v) => v === 'dies').length;
        if (point === 'after-object-put') {
          expect(head.logEndOffset).toBe(1); // nothing reserved: only an orphan object
        } else if (point === 'after-reserve') {
          expect(committedDead).toBe(0);
          expect(entries[0]).toMatchObject({ base: 0, count: 2, state: 'aborted' });
          expect(after.baseOffset).toBe(2);
        } else {
          expect(committedDead).toBe(2); // committed, so visible: the next appender chained over it
          expect(after.baseOffset).toBe(2);
        }
      });
    }

    it('acknowledges the appends pipelined behind one that dies after its reserve, once the repair aborts its range', async () => {
      // Prepare
      const h = createLogHarness(storage, {
        segments: new MemorySegmentStore(),
        faults: new CrashOnce('after-reserve'),
        append: { repairAfterMs: REPAIR_AFTER_MS },
      });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      // Act: three requests at once; the first dies holding [0, 1) open
      const [dead, second, third] = await Promise.allSettled(
        ['dies', 'next', 'last'].map((v) => h.log.produce([{ topic, partition: 0, batches: batchOf([v]) }])),
      );
      // Assess
      expect(dead).toMatchObject({ status: 'rejected', reason: expect.any(SimulatedCrash) });
      if (second?.status !== 'fulfilled' || third?.status !== 'fulfilled')
        throw new Error('not acknowledged');
      expect(ok(second.value[0]).baseOffset).toBe(1);
      expect(ok(third.value[0]).baseOffset).toBe(2);
      const { values, head, entries } = await readAll(h, topic);
      expect([...values]).toEqual([
        [1, 'next'],
        [2, 'last'],
      ]);
      expect(entries[0]).toMatchObject({ base: 0, count: 1, state: 'aborted' });
      expect(head.highWatermark).toBe(3);
      expect(head.reservations).toEqual([]);
      expectTiling(entries, 0, 3);
    });

    it('moves the high-water mark to the log end within the repair time once appends stop', async () => {
      let crashes = 3;
      const faults = {
        crash: (p: CrashPoint) => {
          if (p === 'after-reserve' && crashes-- > 0) throw new SimulatedCrash(p);
        },
      };
      const clock = new TestClock();
      const h = createLogHarness(storage, {
        now: clock.now,
        faults,
        append: { repairAfterMs: REPAIR_AFTER_MS },
      });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      for (let i = 0; i < 3; i++) {
        await expect(
          h.log.produce([{ topic, partition: 0, batches: batchOf(['x']) }]),
        ).rejects.toBeInstanceOf(SimulatedCrash);
      }
      clock.advance(REPAIR_AFTER_MS + 50);
      const [r] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxWaitMs: 5000 });
      const t = await h.log.requireTopic(topic);
      const head = (await h.log.log.getHead(logIdOf(t, 0)))!;
      expect(head.highWatermark).toBe(3);
      expect(head.logEndOffset).toBe(3);
      expect(r!.nextOffset).toBe(3); // the consumer skips the aborted ranges
    });

    it('makes a late appender whose range was aborted acknowledge nothing', async () => {
      // The appender stalls (it does not die) between its reserve and its commit, for longer than the
      // repair time: its commit put is held on the wire until the repair has run.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let stalled: () => void = () => {};
      const reserved = new Promise<void>((resolve) => {
        stalled = resolve;
      });
      const h = createLogHarness(storage, { append: { repairAfterMs: REPAIR_AFTER_MS } });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      let stall = true;
      h.wire = async (command, send) => {
        if (command === 'PutItemCommand' && stall) {
          stall = false;
          stalled();
          await held;
        }
        return send();
      };
      const late = h.log.produce([{ topic, partition: 0, batches: batchOf(['late']) }]);
      await reserved; // its commit put comes after the reserve
      const clock = new TestClock();
      clock.advance(REPAIR_AFTER_MS + 50);
      const repairer = createLogHarness(storage, {
        now: clock.now,
        append: { repairAfterMs: REPAIR_AFTER_MS },
      });
      await repairer.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] });
      release();
      const [result] = await late;
      expect(result!.error?.code).toBe('APPEND_ABORTED');
      const { values, entries } = await readAll(repairer, topic);
      expect(values.size).toBe(0);
      expect(entries).toEqual([expect.objectContaining({ base: 0, count: 1, state: 'aborted' })]);
    });
  });

  describe('Idempotent producer', () => {
    const idem = (producerId: number, epoch: number, baseSequence: number, values: string[]) =>
      batchOf(values, { producerId, producerEpoch: epoch, baseSequence });

    it('answers a retried batch with its first offsets and stores it once', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      const first = ok(
        (await h.log.produce([{ topic, partition: 0, batches: idem(7, 0, 0, ['a', 'b']) }]))[0],
      );
      const retry = ok(
        (await h.log.produce([{ topic, partition: 0, batches: idem(7, 0, 0, ['a', 'b']) }]))[0],
      );
      expect(retry).toMatchObject({
        baseOffset: first.baseOffset,
        lastOffset: first.lastOffset,
        duplicate: true,
      });
      const next = ok((await h.log.produce([{ topic, partition: 0, batches: idem(7, 0, 2, ['c']) }]))[0]);
      expect(next.baseOffset).toBe(2);
      // An older batch, retried late: still recognised, and answered with its offsets.
      const old = ok((await h.log.produce([{ topic, partition: 0, batches: idem(7, 0, 0, ['a', 'b']) }]))[0]);
      expect(old).toMatchObject({ baseOffset: 0, duplicate: true });
      const { values } = await readAll(h, topic);
      expect([...values.values()]).toEqual(['a', 'b', 'c']);
    });

    it('takes the pipelined batches of one producer in sequence order, 4 calls each once its state is known', async () => {
      // Prepare
      const h = createLogHarness(storage, { segments: new MemorySegmentStore() });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(11, 0, 0, ['s0']) }]))[0]);
      h.calls.reset();
      // Act: sequences 1..10 sent at once, in order
      const batches = 10;
      const results = await Promise.all(
        Array.from({ length: batches }, (_, i) =>
          h.log.produce([{ topic, partition: 0, batches: idem(11, 0, i + 1, [`s${i + 1}`]) }]),
        ),
      );
      // Assess: none refused as out of order, none taken as a duplicate, offsets follow the sequences
      expect(results.map((r) => ok(r[0]))).toEqual(
        Array.from({ length: batches }, (_, i) =>
          expect.objectContaining({ baseOffset: i + 1, duplicate: false }),
        ),
      );
      expect(h.calls.total('dynamo')).toBe(4 * batches);
      const { values } = await readAll(h, topic);
      expect([...values.values()]).toEqual(Array.from({ length: batches + 1 }, (_, i) => `s${i}`));
    });

    it('refuses a gap with OUT_OF_ORDER_SEQUENCE and an older epoch as fenced', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(9, 1, 0, ['a']) }]))[0]);
      const [gap] = await h.log.produce([{ topic, partition: 0, batches: idem(9, 1, 5, ['x']) }]);
      expect(gap!.error).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expectedSequence: 1 } });
      const [zombie] = await h.log.produce([{ topic, partition: 0, batches: idem(9, 0, 1, ['z']) }]);
      expect(zombie!.error?.code).toBe('INVALID_PRODUCER_EPOCH');
      const bumped = ok(
        (await h.log.produce([{ topic, partition: 0, batches: idem(9, 2, 0, ['new epoch']) }]))[0],
      );
      expect(bumped.baseOffset).toBe(1);
      const [fenced] = await h.log.produce([{ topic, partition: 0, batches: idem(9, 1, 1, ['old epoch']) }]);
      expect(fenced!.error?.code).toBe('INVALID_PRODUCER_EPOCH');
      const { values } = await readAll(h, topic);
      expect([...values.values()]).toEqual(['a', 'new epoch']);
    });

    it('refuses a first batch of an unknown producer that does not start at sequence 0', async () => {
      // Batch 0 lost on the way, batch 1 overtakes it: accepting 1 would leave no place for 0.
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      const [overtaking] = await h.log.produce([
        { topic, partition: 0, batches: idem(31, 0, 1, ['second']) },
      ]);
      expect(overtaking!.error?.code).toBe('UNKNOWN_PRODUCER_ID');
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(31, 0, 0, ['first']) }]))[0]);
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(31, 0, 1, ['second']) }]))[0]);
      const { values } = await readAll(h, topic);
      expect([...values.values()]).toEqual(['first', 'second']);
    });

    for (const point of ['after-claim', 'after-commit', 'after-advance'] as CrashPoint[]) {
      it(`lets a retry after a crash ${point} get the first attempt's offsets, stored once`, async () => {
        const dies = new CrashOnce(point, false);
        const h = createLogHarness(storage, { faults: dies, append: { repairAfterMs: 60_000 } });
        const topic = uniqueTopic();
        await h.log.createTopic({ name: topic, partitionCount: 1 });
        ok((await h.log.produce([{ topic, partition: 0, batches: idem(11, 0, 0, ['before']) }]))[0]);
        dies.armed = true;
        await expect(
          h.log.produce([{ topic, partition: 0, batches: idem(11, 0, 1, ['once']) }]),
        ).rejects.toBeInstanceOf(SimulatedCrash);
        // No repair possible within the test (60 s): the retry itself must complete the commit, from a
        // warm instance (which remembers the claim) and from a cold one (which reads the state).
        for (const retrier of [h, createLogHarness(storage, { append: { repairAfterMs: 60_000 } })]) {
          const retry = ok(
            (await retrier.log.produce([{ topic, partition: 0, batches: idem(11, 0, 1, ['once']) }]))[0],
          );
          expect(retry).toMatchObject({ baseOffset: 1, duplicate: point !== 'after-claim' || retrier !== h });
        }
        const { values, head, entries } = await readAll(h, topic);
        expect([...values.values()]).toEqual(['before', 'once']);
        expect(head.highWatermark).toBe(2);
        expectTiling(entries, 0, 2);
      });
    }

    it('lets a retry after a crash between the reserve and the claim store the batch once, after the repair', async () => {
      // The dead range holds no claim: it is aborted after repairAfterMs; the retry is a new batch to the state.
      const dies = new CrashOnce('after-reserve', false);
      const h = createLogHarness(storage, { faults: dies, append: { repairAfterMs: REPAIR_AFTER_MS } });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      ok((await h.log.produce([{ topic, partition: 0, batches: idem(13, 0, 0, ['before']) }]))[0]);
      dies.armed = true;
      await expect(
        h.log.produce([{ topic, partition: 0, batches: idem(13, 0, 1, ['once']) }]),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      const retry = ok(
        (await h.log.produce([{ topic, partition: 0, batches: idem(13, 0, 1, ['once']) }]))[0],
      );
      expect(retry).toMatchObject({ baseOffset: 2, duplicate: false });
      const again = ok(
        (await h.log.produce([{ topic, partition: 0, batches: idem(13, 0, 1, ['once']) }]))[0],
      );
      expect(again).toMatchObject({ baseOffset: 2, duplicate: true });
      const { values, head, entries } = await readAll(h, topic);
      expect([...values.values()]).toEqual(['before', 'once']);
      expect(head.highWatermark).toBe(3);
      expect(entries[1]).toMatchObject({ base: 1, count: 1, state: 'aborted' });
      expectTiling(entries, 0, 3);
    });

    it('lets a retry of a batch whose range was aborted reserve again, once', async () => {
      const clock = new TestClock();
      const h = createLogHarness(storage, {
        now: clock.now,
        faults: new CrashOnce('after-reserve'),
        append: { repairAfterMs: REPAIR_AFTER_MS },
      });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      await expect(
        h.log.produce([{ topic, partition: 0, batches: idem(12, 0, 0, ['x', 'y']) }]),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      clock.advance(REPAIR_AFTER_MS + 100);
      await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] }); // the fetch repairs the range
      const retries = await Promise.all(
        [0, 1, 2].map(() => h.log.produce([{ topic, partition: 0, batches: idem(12, 0, 0, ['x', 'y']) }])),
      );
      const bases = retries.map((r) => ok(r[0]).baseOffset);
      expect(new Set(bases)).toEqual(new Set([2]));
      const { values, entries } = await readAll(h, topic);
      expect([...values.entries()]).toEqual([
        [2, 'x'],
        [3, 'y'],
      ]);
      expect(entries[0]).toMatchObject({ base: 0, count: 2, state: 'aborted' });
    });

    it('recognises its own successful write when the response to a conditional write is lost (F4)', async () => {
      // A lost non-idempotent reserve is retried by the SDK and leaves a range nobody commits: repaired.
      const h = createLogHarness(storage, { append: { repairAfterMs: REPAIR_AFTER_MS } });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      for (const command of ['UpdateItemCommand', 'PutItemCommand']) {
        let lose = 2; // the reserve's (or commit's) response, and then the advance's
        h.wire = async (name, send) => {
          const result = await send();
          if (name === command && lose-- > 0) throw lostResponse();
          return result;
        };
        for (const producerId of [-1, 21]) {
          const seq = command === 'UpdateItemCommand' ? 0 : 1;
          const batches =
            producerId < 0
              ? batchOf([`${command}`])
              : idem(producerId + (command === 'PutItemCommand' ? 1 : 0), 0, 0, [`${command}-idem`]);
          void seq;
          lose = 2;
          const r = ok((await h.log.produce([{ topic, partition: 0, batches }]))[0]);
          expect(r.error).toBeUndefined();
        }
      }
      h.wire = undefined;
      const { values, head, entries } = await readAll(
        createLogHarness(storage, { append: { repairAfterMs: REPAIR_AFTER_MS } }),
        topic,
      );
      // Every acknowledged record once; a non-idempotent reserve retried by the SDK leaves an aborted range at most.
      expect([...values.values()].sort()).toEqual(
        ['PutItemCommand', 'PutItemCommand-idem', 'UpdateItemCommand', 'UpdateItemCommand-idem'].sort(),
      );
      expect(head.highWatermark).toBeLessThanOrEqual(head.logEndOffset);
      expectTiling(entries, 0, head.highWatermark);
    });
  });

  describe('Storage faults', () => {
    it('surfaces S3 and DynamoDB errors as retriable and acknowledges nothing without a stored object (F1, F2)', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      const fail = (command: string, error: () => Error) => {
        h.wire = async (name, send) => {
          if (name === command) throw error();
          return send();
        };
      };
      const serverError = () =>
        Object.assign(new Error('SlowDown'), {
          name: 'SlowDown',
          $metadata: { httpStatusCode: 503 },
          $fault: 'server',
        });
      const throttle = () =>
        Object.assign(new Error('throttled'), {
          name: 'ProvisionedThroughputExceededException',
          $metadata: { httpStatusCode: 400 },
        });
      fail('PutObjectCommand', serverError);
      await expect(h.log.produce([{ topic, partition: 0, batches: batchOf(['s3']) }])).rejects.toMatchObject({
        retriable: true,
      });
      fail('UpdateItemCommand', throttle);
      const [throttled] = await h.log.produce([{ topic, partition: 0, batches: batchOf(['ddb']) }]);
      expect(throttled!.error).toMatchObject({ code: 'THROTTLED', retriable: true });
      h.wire = undefined;
      const t = await h.log.requireTopic(topic);
      expect(await h.log.log.getHead(logIdOf(t, 0))).toMatchObject({ highWatermark: 0, logEndOffset: 0 });
    });

    it('never returns a truncated S3 body as batches (F8)', async () => {
      const h = createLogHarness(storage);
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['whole'.repeat(100)]) }]);
      const reader = createLogHarness(storage);
      reader.wire = async (name, send) => {
        // A body cut short on the wire, as a reset mid-transfer leaves it.
        const result = (await send()) as { response: { body: AsyncIterable<Buffer> } };
        if (name === 'GetObjectCommand') {
          const chunks: Buffer[] = [];
          for await (const chunk of result.response.body) chunks.push(chunk);
          const bytes = Buffer.concat(chunks);
          result.response.body = Readable.from([bytes.subarray(0, bytes.length - 7)]);
        }
        return result;
      };
      await expect(
        reader.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }] }),
      ).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        retriable: true,
      });
    });
  });
});
