/**
 * Short versions of L1–L3 through the local stack's HTTP API: a seeded load, a fresh read of every
 * partition, an audit of storage, and the history checked for I1–I8 (reliability.md).
 */

import { describe } from 'vitest';
import { itRunsClean } from './support';

describe('Reliability: load (L1–L3)', () => {
  itRunsClean('L1: 8–12 concurrent idempotent producers on one partition keep every invariant', 'L1', 11);
  itRunsClean('L2: keyed records over many partitions keep every invariant per partition', 'L2', 12);
  itRunsClean(
    'L3: long polls return once the high-water mark passes their offset, nothing beyond it',
    'L3',
    13,
  );
});
