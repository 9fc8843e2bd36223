import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../shared/errors';
import type { PartitionError, ProducePartitionResult } from '../../shared/log/types';
import { batchOf, createLogHarness, MemorySegmentStore, uniqueTopic } from '../support/log';
import { useTestStorage } from '../support/suite';

function ok(result: ProducePartitionResult | PartitionError | undefined): ProducePartitionResult {
  if (!result || isSluiceError(result.error)) throw result?.error ?? new Error('no result');
  return result as ProducePartitionResult;
}

describe('Class: LogService', () => {
  const storage = useTestStorage();

  describe('Method: produce (concurrent requests of one process)', () => {
    it('appends them to a partition one after another: the calls of lone appends, no contention', async () => {
      // Prepare: the calls of one uncontended append, whatever the protocol's count is
      const h = createLogHarness(storage, { segments: new MemorySegmentStore(), topicCacheMs: 600_000 });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 2 });
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['warm']) }]);
      h.calls.reset();
      await h.log.produce([{ topic, partition: 0, batches: batchOf(['alone']) }]);
      const lone = h.calls.total('dynamo');
      h.calls.reset();
      // Act: eight requests at once, each writing both partitions
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          h.log.produce([
            { topic, partition: 0, batches: batchOf([`p0-${i}`]) },
            { topic, partition: 1, batches: batchOf([`p1-${i}`, `p1-${i}b`]) },
          ]),
        ),
      );
      // Assess: dense, unique offsets, and exactly the calls of 16 lone appends
      const p0 = results.map((r) => ok(r[0]).baseOffset).sort((a, b) => a - b);
      const p1 = results.map((r) => ok(r[1]).baseOffset).sort((a, b) => a - b);
      expect(p0).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      expect(p1).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
      expect(h.calls.total('dynamo')).toBe(16 * lone);
    });

    it('lets an append that fails leave the partition free for the next', async () => {
      // Prepare: the first request's reserve is refused (a non-retriable answer)
      const h = createLogHarness(storage, { segments: new MemorySegmentStore(), topicCacheMs: 600_000 });
      const topic = uniqueTopic();
      await h.log.createTopic({ name: topic, partitionCount: 1 });
      let refusals = 1;
      h.wire = (name, send) => {
        if (name === 'UpdateItemCommand' && refusals-- > 0) {
          throw Object.assign(new Error('refused'), { name: 'ValidationException', $fault: 'client' });
        }
        return send();
      };
      // Act
      const first = h.log.produce([{ topic, partition: 0, batches: batchOf(['refused']) }]);
      const second = h.log.produce([{ topic, partition: 0, batches: batchOf(['next']) }]);
      const firstOutcome = await first.then(
        (r) => r[0]?.error,
        (err: unknown) => err,
      );
      // Assess: the first fails, the second is appended at the first free offset
      expect(firstOutcome).toBeInstanceOf(Error);
      expect(ok((await second)[0]).baseOffset).toBe(0);
    });
  });
});
