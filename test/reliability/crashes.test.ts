/**
 * Short versions of the crash scenarios: appenders dying at the named crash points of the append path
 * with lost SDK answers (F5, F4), the whole local stack killed with SIGKILL mid-load and started
 * again on its data folder, and cleanup passes racing appenders that die or stall (F13).
 */

import { describe } from 'vitest';
import { itRunsClean } from './support';

describe('Reliability: crashes', () => {
  itRunsClean(
    'F5: appenders dying after the object PUT, the reservation, the commit or the advance leave orphans only',
    'F5 crash',
    31,
    { faulted: true },
  );

  // Seed 1980029279 found an idempotent retry acknowledged above the high-water mark after a restart
  // (fixed in PartitionAppender.findOlderDuplicate; reproduced deterministically in regressions.test.ts).
  itRunsClean(
    'F5: SIGKILL of the whole local stack mid-load loses no acknowledged record (regression: seed 1980029279)',
    'F5 SIGKILL',
    1980029279,
    { faulted: true },
  );

  itRunsClean(
    'F13: cleanup passes (repair, merge, retention, collection) racing appenders lose and overlap nothing',
    'F13',
    33,
  );
});
