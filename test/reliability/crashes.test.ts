/**
 * Short versions of the crash scenarios: appenders dying at the named crash points of the append path
 * with lost SDK answers (F5, F4), the whole local stack killed with SIGKILL mid-load and started
 * again on its data folder, and cleanup passes racing appenders that die or stall (F13).
 */

import { describe, expect, it } from 'vitest';
import { expectCleanRun, SCENARIO_TIMEOUT_MS, seedFor } from './support';

describe('Reliability: crashes', () => {
  it(
    'F5: appenders dying after the object PUT, the reservation, the commit or the advance leave orphans only',
    async () => {
      const result = await expectCleanRun('F5 crash', seedFor(31));
      expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'F5: SIGKILL of the whole local stack mid-load loses no acknowledged record (regression: seed 1980029279)',
    async () => {
      // Seed 1980029279 found an idempotent retry acknowledged above the high-water mark after a restart
      // (fixed in PartitionAppender.findOlderDuplicate; reproduced deterministically in regressions.test.ts).
      const result = await expectCleanRun('F5 SIGKILL', seedFor(1980029279));
      expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'F13: cleanup passes (repair, merge, retention, collection) racing appenders lose and overlap nothing',
    async () => {
      await expectCleanRun('F13', seedFor(33));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
