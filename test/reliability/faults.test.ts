/**
 * Short versions of the storage and producer fault scenarios: the fault proxy between the local stack and
 * its emulators (F1–F4, F8) or in front of its API (F6, F7), with the history checked afterwards.
 */

import { describe } from 'vitest';
import { itRunsClean } from './support';

describe('Reliability: storage and producer faults', () => {
  itRunsClean(
    'F1–F4: S3 PUT and DynamoDB write errors, throttling, lost answers and delays lose and duplicate nothing',
    'F1',
    21,
    { faulted: true },
  );

  itRunsClean('F8: S3 GET errors and truncated bodies never reach a consumer as batches', 'F8', 22, {
    faulted: true,
  });

  // Seed 1 found the bug fixed in PartitionAppender.findOlderDuplicate: a pipelined batch whose request
  // never arrived was answered as a duplicate success once a later batch had been stored.
  itRunsClean(
    'F6–F7: lost produce answers, pipelined producers and zombie epochs (regression: seed 1 acknowledged a lost batch)',
    'F6',
    1,
    { faulted: true },
  );
});
