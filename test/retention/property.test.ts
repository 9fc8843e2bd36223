import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { isSluiceError } from '../../shared/errors';
import { type CleanupSummary, runCleanup } from '../../shared/retention';
import { emptySummary } from '../../shared/retention/context';
import { MINUTE, SECOND, TestClock } from '../support/clock';
import { createLogHarness, type LogHarness, uniqueTopic } from '../support/log';
import { useTestStorage } from '../support/suite';
import { auditStorage, batchAt, cleanupDeps, fastCleanup, listObjects, ok, readPartition } from './support';

/** Windows of seconds and tiny size targets, so a few steps exercise every part of the cleanup. */
const OPTIONS = fastCleanup({
  merge: { minAgeMs: 30 * SECOND, smallEntryBytes: 400, maxEntryBytes: 700, objectBytes: 1500 },
});

type Command =
  | { kind: 'append'; partitions: readonly number[]; records: number; size: number }
  | { kind: 'advance'; seconds: number }
  | { kind: 'cleanup' }
  | { kind: 'race'; partitions: readonly number[] };

const partitions = fc.constantFrom([0], [1], [0, 1]);
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      partitions,
      records: fc.integer({ min: 1, max: 3 }),
      size: fc.integer({ min: 1, max: 120 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      seconds: fc.integer({ min: 1, max: 150 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cleanup' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('race' as const), partitions }) },
);

describe('Property: cleanup, merges, appends and fetches in any order', () => {
  const storage = useTestStorage();

  it('never deletes a referenced object, and a fetch from logStartOffset always returns exactly the acknowledged records', async () => {
    let unique = 0;
    // What the passes did over all runs: the property is only worth something if they did it all.
    const totals = emptySummary();
    const add = (summary: CleanupSummary) => {
      for (const key of Object.keys(totals) as (keyof CleanupSummary)[]) {
        const value = summary[key];
        if (typeof value === 'number') (totals[key] as number) += value;
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 8, maxLength: 24 }), async (commands) => {
        const clock = new TestClock();
        const h = createLogHarness(storage, { now: clock.now });
        const topic = uniqueTopic('prop');
        // Time and size retention both apply; the shared objects make the partitions' lives entwined.
        await h.log.createTopic({
          name: topic,
          partitionCount: 2,
          retentionMs: 4 * MINUTE,
          retentionBytes: 700,
        });
        const acked = [new Map<number, string>(), new Map<number, string>()];
        const starts = [0, 0];
        const deps = cleanupDeps(storage, clock);

        const append = async (parts: readonly number[], records = 1, size = 20) => {
          const requests = parts.map((partition) => {
            const values = Array.from(
              { length: records },
              () => `${partition}:${unique++}:${'v'.repeat(size)}`,
            );
            return { partition, values, batches: batchAt(values, clock.now()) };
          });
          const results = await h.log.produce(
            requests.map((r) => ({ topic, partition: r.partition, batches: r.batches })),
          );
          results.forEach((result, i) => {
            const { baseOffset } = ok(result);
            requests[i]!.values.forEach((v, j) => {
              acked[requests[i]!.partition]!.set(baseOffset + j, v);
            });
          });
        };

        /** A read racing the cleanup: it may find logStartOffset moved, never a gap or a wrong record. */
        const racingRead = async (reader: LogHarness, partition: number) => {
          const seen: { offset: number; value: string }[] = [];
          let offset = starts[partition]!;
          for (let i = 0; i < 50; i++) {
            const [r] = await reader.log.fetch({ partitions: [{ topic, partition, offset }] });
            if (isSluiceError(r!.error, 'OFFSET_OUT_OF_RANGE')) return seen;
            expect(r!.error).toBeUndefined();
            for (const batch of decodeRecordBatches(r!.records).batches) {
              for (const record of batch.records) {
                if (record.offset < offset) continue;
                expect(record.offset, 'dense and in order').toBe(
                  seen.at(-1) ? seen.at(-1)!.offset + 1 : offset,
                );
                seen.push({ offset: record.offset, value: record.value!.toString() });
              }
            }
            if (r!.nextOffset === offset) return seen;
            offset = r!.nextOffset;
          }
          return seen;
        };

        const check = async () => {
          const objects = await listObjects(storage);
          for (const partition of [0, 1]) {
            const read = await readPartition(h, topic, partition);
            // Every entry still in the index (below logStartOffset too) points at an existing object.
            for (const e of read.entries.filter((x) => x.state === 'committed')) {
              expect(objects.has(e.objectKey!), `object of entry ${e.base} in partition ${partition}`).toBe(
                true,
              );
            }
            const lso = read.head.logStartOffset;
            expect(lso).toBeGreaterThanOrEqual(starts[partition]!);
            starts[partition] = lso;
            expect(read.head.highWatermark).toBe(acked[partition]!.size);
            const expected = [...acked[partition]!.entries()]
              .filter(([offset]) => offset >= lso)
              .sort((a, b) => a[0] - b[0])
              .map(([offset, value]) => ({ offset, value }));
            expect(read.records).toEqual(expected);
            await auditStorage(storage, read);
          }
        };

        for (const cmd of commands) {
          if (cmd.kind === 'append') await append(cmd.partitions, cmd.records, cmd.size);
          else if (cmd.kind === 'advance') clock.advance(cmd.seconds * SECOND);
          else if (cmd.kind === 'cleanup') add(await runCleanup(deps, OPTIONS));
          else {
            const reader = createLogHarness(storage);
            const [summary, , reads] = await Promise.all([
              runCleanup(deps, OPTIONS),
              append(cmd.partitions),
              Promise.all([0, 1].map((p) => racingRead(reader, p))),
            ]);
            add(summary);
            reads.forEach((records, p) => {
              for (const r of records) expect(r.value).toBe(acked[p]!.get(r.offset));
            });
          }
          await check();
        }
        // Then time passes with passes in between: the data goes step by step, and what is left is
        // still exactly what was acknowledged.
        for (let i = 0; i < 4; i++) {
          clock.advance(70 * SECOND);
          add(await runCleanup(deps, OPTIONS));
          await check();
        }
      }),
      { numRuns: 10, endOnFailure: true },
    );
    expect(totals.overlapsFound).toBe(0);
    for (const key of [
      'logStartOffsetsAdvanced',
      'entriesDeleted',
      'runsMerged',
      'objectsMarked',
      'objectsDeleted',
    ] as const) {
      expect(totals[key], key).toBeGreaterThan(0);
    }
  }, 240_000);
});
