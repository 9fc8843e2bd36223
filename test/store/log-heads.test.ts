import { describe, expect, it } from 'vitest';
import { DynamoLogStore } from '../../shared/store/log-store';
import { useTestStorage } from '../support/suite';

describe('Class: DynamoLogStore', () => {
  const storage = useTestStorage();

  describe('Method: getHeads', () => {
    it('reads many heads in the order asked: missing ones undefined, repeated ones repeated, past 100 keys', async () => {
      // Prepare: 120 heads, each moved to a high-water mark of its own
      const store = new DynamoLogStore(storage.clients.dynamo, storage.config.logTable);
      const run = Date.now().toString(36);
      const logIds = Array.from({ length: 120 }, (_, i) => `heads-${run}#${i}`);
      for (const logId of logIds) await store.createHead(logId);
      await Promise.all(
        logIds.map(async (logId, i) => {
          await store.reserve(logId, { count: i + 1, reservationId: 'r', now: 0 });
          await store.advance(logId, 0, i + 1, ['r'], 0);
        }),
      );
      const asked = [logIds[5]!, `heads-${run}#missing`, logIds[5]!, ...logIds];
      // Act
      const heads = await store.getHeads(asked);
      // Assess
      expect(heads).toHaveLength(asked.length);
      expect(heads[0]?.highWatermark).toBe(6);
      expect(heads[1]).toBeUndefined();
      expect(heads[2]?.highWatermark).toBe(6);
      expect(heads.slice(3).map((h) => h?.highWatermark)).toEqual(logIds.map((_, i) => i + 1));
      expect(await store.getHeads([])).toEqual([]);
    });
  });
});
