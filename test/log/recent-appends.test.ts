import { describe, expect, it } from 'vitest';
import type { IndexEntry } from '../../shared/log/ports';
import { RecentAppends } from '../../shared/log/recent-appends';

const entry = (base: number, count: number, size = 100, appendedAt = 1000): IndexEntry => ({
  base,
  count,
  state: 'committed',
  objectKey: `o${base}`,
  position: 0,
  size,
  appendedAt,
});

const tuning = { perPartition: 4, partitions: 2, maxAgeMs: 500 };

describe('Class: RecentAppends', () => {
  it('plans contiguous entries from the one holding the offset, to the end of the run', () => {
    // Prepare
    const recent = new RecentAppends(tuning, () => 1000);
    recent.committed('t#0', entry(0, 2));
    recent.committed('t#0', entry(2, 3));
    recent.committed('t#0', entry(5, 1));
    // Act
    const plan = recent.plan('t#0', 3, 1_000_000);
    // Assess
    expect(plan?.entries.map((e) => e.base)).toEqual([2, 5]);
    expect(plan).toMatchObject({ bytes: 200, nextOffset: 6, highWatermark: 6 });
  });

  it('stops at a gap: a range it did not append is not known here', () => {
    // Prepare
    const recent = new RecentAppends(tuning, () => 1000);
    recent.committed('t#0', entry(0, 2));
    recent.committed('t#0', entry(4, 1)); // offsets 2..3 were committed by another process
    // Act
    const before = recent.plan('t#0', 0, 1_000_000);
    const inGap = recent.plan('t#0', 2, 1_000_000);
    // Assess
    expect(before).toMatchObject({ nextOffset: 2, highWatermark: 2 });
    expect(before?.entries).toHaveLength(1);
    expect(inGap).toBeUndefined();
  });

  it('keeps within maxBytes but always returns the first entry', () => {
    // Prepare
    const recent = new RecentAppends(tuning, () => 1000);
    recent.committed('t#0', entry(0, 1, 300));
    recent.committed('t#0', entry(1, 1, 300));
    // Act
    const plan = recent.plan('t#0', 0, 100);
    // Assess: the run still ends at 2 (the high-water mark it saw), the read at 1
    expect(plan).toMatchObject({ bytes: 300, nextOffset: 1, highWatermark: 2 });
  });

  it('ignores aborted entries, old entries, and forgets beyond its bounds', () => {
    // Prepare
    let now = 1000;
    const recent = new RecentAppends(tuning, () => now);
    recent.committed('t#0', { base: 0, count: 1, state: 'aborted', appendedAt: 1000 });
    for (let base = 1; base <= 5; base++) recent.committed('t#0', entry(base, 1));
    recent.committed('t#1', entry(0, 1));
    recent.committed('t#2', entry(0, 1)); // a third partition: the least recent one (t#0) goes
    // Act + Assess
    expect(recent.plan('t#0', 0, 1000)).toBeUndefined();
    expect(recent.plan('t#1', 0, 1000)?.nextOffset).toBe(1);
    now = 1000 + 501;
    expect(recent.plan('t#2', 0, 1000)).toBeUndefined();
  });

  it('keeps at most perPartition entries, the newest', () => {
    // Prepare
    const recent = new RecentAppends(tuning, () => 1000);
    for (let base = 0; base < 6; base++) recent.committed('t#0', entry(base, 1));
    // Act + Assess
    expect(recent.plan('t#0', 1, 1000)).toBeUndefined();
    expect(recent.plan('t#0', 2, 1000)).toMatchObject({ nextOffset: 6, highWatermark: 6 });
  });
});
