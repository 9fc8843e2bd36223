/**
 * Bugs the reliability suite found, each kept as a deterministic reproduction at the log level (the
 * failing scenario seed itself runs in faults.test.ts).
 *
 * F6 seed 1 (fixed in PartitionAppender.findOlderDuplicate): a retry of an idempotent batch whose
 * sequence is older than the producer's last stored batch was answered as a duplicate success without
 * offsets even when the batch was not in the log — an acknowledged write that was lost. It happens
 * when a pipelined producer's batch n never reaches the server (its request is lost) while n+1 is
 * accepted (an unknown producer could start at any sequence), and when n's range was aborted after its
 * appender died while n+1 was stored. The retry is now refused with OUT_OF_ORDER_SEQUENCE, and an
 * unknown producer must start at sequence 0 (UNKNOWN_PRODUCER_ID otherwise), so n+1 waits for n.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { type CrashPoint, SimulatedCrash } from '../../shared/log/faults';
import { batchOf, createLogHarness, uniqueTopic } from '../support/log';
import { startTestStorage, type TestStorage } from '../support/storage';

describe('Reliability regressions: a retried older batch that is not in the log (F6 seed 1)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  const idem = (producerId: number, baseSequence: number, values: string[]) =>
    batchOf(values, { producerId, producerEpoch: 0, baseSequence });

  async function values(h: ReturnType<typeof createLogHarness>, topic: string): Promise<string[]> {
    const [r] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 0 }], maxWaitMs: 0 });
    return decodeRecordBatches(r!.records).batches.flatMap((b) => b.records.map((x) => x.value!.toString()));
  }

  it('makes batch n+1 of a new producer that overtook batch n wait for it, instead of acknowledging n unstored', async () => {
    // Prepare: n+1 overtook n (n's request was lost on the way; a pipelined producer sent n+1).
    const h = createLogHarness(storage);
    const topic = uniqueTopic('reg');
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    // Act
    const [early] = await h.log.produce([{ topic, partition: 0, batches: idem(31, 1, ['n+1']) }]);
    const [first] = await h.log.produce([{ topic, partition: 0, batches: idem(31, 0, ['n']) }]);
    const [again] = await h.log.produce([{ topic, partition: 0, batches: idem(31, 1, ['n+1']) }]);
    // Assess: before the fix n+1 was stored and n's retry answered "duplicate" while n was nowhere.
    expect(early!.error?.code).toBe('UNKNOWN_PRODUCER_ID');
    expect(first).toMatchObject({ baseOffset: 0, duplicate: false });
    expect(again).toMatchObject({ baseOffset: 1, duplicate: false });
    expect(await values(h, topic)).toEqual(['n', 'n+1']);
  });

  it('refuses a batch whose range was aborted once a later batch is stored, instead of acknowledging it', async () => {
    // Prepare: batch 1's appender dies after its claim (the producer state records it at its reserved
    // base; before issue 13 the reserve made that claim in the same write); batch 2 is stored after the
    // repair aborted batch 1's range.
    let armed = false;
    const h = createLogHarness(storage, {
      append: { repairAfterMs: 300 },
      faults: {
        crash: (point: CrashPoint) => {
          if (armed && point === 'after-claim') {
            armed = false;
            throw new SimulatedCrash(point);
          }
        },
      },
    });
    const topic = uniqueTopic('reg');
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    expect(
      (await h.log.produce([{ topic, partition: 0, batches: idem(32, 0, ['b0']) }]))[0]!.error,
    ).toBeUndefined();
    armed = true;
    await expect(
      h.log.produce([{ topic, partition: 0, batches: idem(32, 1, ['b1']) }]),
    ).rejects.toBeInstanceOf(SimulatedCrash);
    const [b2] = await h.log.produce([{ topic, partition: 0, batches: idem(32, 2, ['b2']) }]);
    expect(b2!.error).toBeUndefined();
    // Act: batch 1 retried.
    const [retry] = await h.log.produce([{ topic, partition: 0, batches: idem(32, 1, ['b1']) }]);
    // Assess
    expect(retry!.error?.code).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(await values(h, topic)).toEqual(['b0', 'b2']);
  });

  it('still answers a retried older batch that is stored with its first offsets', async () => {
    const h = createLogHarness(storage);
    const topic = uniqueTopic('reg');
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    await h.log.produce([{ topic, partition: 0, batches: idem(33, 0, ['a', 'b']) }]);
    await h.log.produce([{ topic, partition: 0, batches: idem(33, 2, ['c']) }]);
    const [old] = await h.log.produce([{ topic, partition: 0, batches: idem(33, 0, ['a', 'b']) }]);
    expect(old).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: true });
  });
});

/**
 * F5 SIGKILL seed 1980029279 (fixed in PartitionAppender.findOlderDuplicate): the stack was killed while
 * a pipelined producer's batches n and n+1 were committed but not yet below the high-water mark (an
 * earlier range was still open). After the restart, n's retry was answered with its offsets at once,
 * while polls kept seeing a lower high-water mark: acknowledged, not readable (invariant 1, I6).
 */
describe('Reliability regressions: a retried older batch committed above the high-water mark (F5 SIGKILL seed 1980029279)', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  it('answers the retry only once the high-water mark has passed the batch', async () => {
    // Prepare: a dead appender leaves [0, 1) open; producer 41's batches 0 and 1 commit above it and
    // their appenders die before answering.
    const crashes: CrashPoint[] = ['after-reserve', 'after-commit', 'after-commit'];
    const h = createLogHarness(storage, {
      append: { repairAfterMs: 500, maxAckWaitMs: 10_000 },
      faults: {
        crash: (point: CrashPoint) => {
          if (crashes[0] === point) throw new SimulatedCrash(crashes.shift()!);
        },
      },
    });
    const topic = uniqueTopic('reg');
    await h.log.createTopic({ name: topic, partitionCount: 1 });
    const idem = (baseSequence: number, values: string[]) =>
      batchOf(values, { producerId: 41, producerEpoch: 0, baseSequence });
    await expect(h.log.produce([{ topic, partition: 0, batches: batchOf(['dead']) }])).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    await expect(h.log.produce([{ topic, partition: 0, batches: idem(0, ['n']) }])).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    await expect(h.log.produce([{ topic, partition: 0, batches: idem(1, ['n+1']) }])).rejects.toBeInstanceOf(
      SimulatedCrash,
    );
    // Act: batch n retried, now older than the producer's last batch.
    const [retry] = await h.log.produce([{ topic, partition: 0, batches: idem(0, ['n']) }]);
    // Assess: acknowledged with its offset, and readable from that moment.
    expect(retry).toMatchObject({ baseOffset: 1, duplicate: true });
    const [read] = await h.log.fetch({ partitions: [{ topic, partition: 0, offset: 1 }], maxWaitMs: 0 });
    expect(read!.highWatermark).toBeGreaterThan(1);
    expect(decodeRecordBatches(read!.records).batches[0]!.records[0]!.value!.toString()).toBe('n');
  });
});
