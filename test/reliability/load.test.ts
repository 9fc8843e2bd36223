/**
 * Short versions of L1–L3 through the local stack's HTTP API: a seeded load, a fresh read of every
 * partition, an audit of storage, and the history checked for I1–I8 (reliability.md).
 */

import { describe, it } from 'vitest';
import { expectCleanRun, SCENARIO_TIMEOUT_MS, seedFor } from './support';

describe('Reliability: load (L1–L3)', () => {
  it(
    'L1: 8–12 concurrent idempotent producers on one partition keep every invariant',
    async () => {
      await expectCleanRun('L1', seedFor(11));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'L2: keyed records over many partitions keep every invariant per partition',
    async () => {
      await expectCleanRun('L2', seedFor(12));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'L3: long polls return once the high-water mark passes their offset, nothing beyond it',
    async () => {
      await expectCleanRun('L3', seedFor(13));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
