/**
 * Short versions of the storage and producer fault scenarios: the fault proxy between the local stack and
 * its emulators (F1–F4, F8) or in front of its API (F6, F7), with the history checked afterwards.
 */

import { describe, expect, it } from 'vitest';
import { expectCleanRun, SCENARIO_TIMEOUT_MS, seedFor } from './support';

describe('Reliability: storage and producer faults', () => {
  it(
    'F1–F4: S3 PUT and DynamoDB write errors, throttling, lost answers and delays lose and duplicate nothing',
    async () => {
      const result = await expectCleanRun('F1', seedFor(21));
      expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'F8: S3 GET errors and truncated bodies never reach a consumer as batches',
    async () => {
      const result = await expectCleanRun('F8', seedFor(22));
      expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'F6–F7: lost produce answers, pipelined producers and zombie epochs (regression: seed 1 acknowledged a lost batch)',
    async () => {
      // Seed 1 found the bug fixed in PartitionAppender.findOlderDuplicate: a pipelined batch whose request
      // never arrived was answered as a duplicate success once a later batch had been stored.
      const result = await expectCleanRun('F6', seedFor(1));
      expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
