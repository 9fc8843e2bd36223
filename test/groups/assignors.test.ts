import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AssignorInput,
  assign,
  rangeAssign,
  roundRobinAssign,
  stickyAssign,
} from '../../shared/groups/assignors';
import { ASSIGNORS } from '../../shared/groups/types';

const TOPICS = ['t0', 't1', 't2'];

const inputArb: fc.Arbitrary<AssignorInput> = fc
  .record({
    counts: fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.nat({ max: 9 })),
    members: fc.uniqueArray(
      fc.record({
        memberId: fc.string({ minLength: 1, maxLength: 6 }),
        topics: fc.subarray(TOPICS, { minLength: 1 }),
      }),
      { minLength: 1, maxLength: 6, selector: (m) => m.memberId },
    ),
  })
  .map(({ counts, members }) => ({
    partitionCounts: new Map(TOPICS.map((t, i) => [t, counts[i]!])),
    members: members.map((m) => ({ ...m, current: [] })),
  }));

function expected(input: AssignorInput): string[] {
  const subscribed = new Set(input.members.flatMap((m) => m.topics));
  return [...subscribed]
    .flatMap((t) => Array.from({ length: input.partitionCounts.get(t) ?? 0 }, (_, p) => `${t}#${p}`))
    .sort();
}

describe('Module: assignors', () => {
  describe('Method: assign', () => {
    it('assigns every partition of a subscribed topic exactly once, to a subscriber', () => {
      fc.assert(
        fc.property(inputArb, fc.constantFrom(...ASSIGNORS), (input, assignor) => {
          // Act
          const target = assign(assignor, input);

          // Assess
          const all = [...target.values()].flat();
          expect([...all].sort()).toEqual(expected(input));
          for (const m of input.members) {
            for (const key of target.get(m.memberId)!) expect(m.topics).toContain(key.split('#')[0]);
          }
        }),
      );
    });
  });

  describe('Method: rangeAssign', () => {
    it("follows Kafka's RangeAssignor example", () => {
      // Prepare (RangeAssignor javadoc: C0, C1 subscribe to t0, t1 with 3 partitions each)
      const input = {
        partitionCounts: new Map([
          ['t0', 3],
          ['t1', 3],
        ]),
        members: ['C0', 'C1'].map((memberId) => ({ memberId, topics: ['t0', 't1'], current: [] })),
      };

      // Act
      const target = rangeAssign(input);

      // Assess
      expect(target.get('C0')).toEqual(['t0#0', 't0#1', 't1#0', 't1#1']);
      expect(target.get('C1')).toEqual(['t0#2', 't1#2']);
    });
  });

  describe('Method: roundRobinAssign', () => {
    it("follows Kafka's RoundRobinAssignor example", () => {
      // Prepare (RoundRobinAssignor javadoc)
      const input = {
        partitionCounts: new Map([
          ['t0', 3],
          ['t1', 3],
        ]),
        members: ['C0', 'C1'].map((memberId) => ({ memberId, topics: ['t0', 't1'], current: [] })),
      };

      // Act
      const target = roundRobinAssign(input);

      // Assess
      expect(target.get('C0')).toEqual(['t0#0', 't0#2', 't1#1']);
      expect(target.get('C1')).toEqual(['t0#1', 't1#0', 't1#2']);
    });
  });

  describe('Method: stickyAssign', () => {
    it('balances members with equal subscriptions to within one partition', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 8 }), fc.nat({ max: 40 }), (members, partitions) => {
          // Act
          const target = stickyAssign({
            partitionCounts: new Map([['t0', partitions]]),
            members: Array.from({ length: members }, (_, i) => ({
              memberId: `m${i}`,
              topics: ['t0'],
              current: [],
            })),
          });

          // Assess
          const loads = [...target.values()].map((k) => k.length);
          expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
        }),
      );
    });

    it('moves partitions only to a new member when one joins, and only the leaver’s when one leaves', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), fc.nat({ max: 30 }), (members, partitions) => {
          // Prepare: a balanced group
          const counts = new Map([['t0', partitions]]);
          const ids = Array.from({ length: members }, (_, i) => `m${i}`);
          const before = stickyAssign({
            partitionCounts: counts,
            members: ids.map((memberId) => ({ memberId, topics: ['t0'], current: [] })),
          });

          // Act: one joins
          const joined = stickyAssign({
            partitionCounts: counts,
            members: [...ids, 'new'].map((memberId) => ({
              memberId,
              topics: ['t0'],
              current: before.get(memberId) ?? [],
            })),
          });
          // and, from the balanced state, m0 leaves
          const left = stickyAssign({
            partitionCounts: counts,
            members: ids
              .slice(1)
              .map((memberId) => ({ memberId, topics: ['t0'], current: before.get(memberId)! })),
          });

          // Assess
          for (const id of ids) {
            expect(before.get(id)).toEqual(expect.arrayContaining(joined.get(id)!));
          }
          for (const id of ids.slice(1)) {
            expect(left.get(id)).toEqual(expect.arrayContaining(before.get(id)!));
          }
        }),
      );
    });
  });
});
