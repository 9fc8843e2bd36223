import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, StickyPartitioner, toPositive } from '../../shared/codec/partitioner';
import { kafkajsMurmur2 } from './kafkajs';

describe('Function: murmur2', () => {
  it("gives the values of Kafka's Utils.murmur2 tests", () => {
    // Act / Assess
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it('agrees with kafkajs on any bytes and any string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (array) => {
        const bytes = Buffer.from(array);
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (key) => {
        expect(murmur2(Buffer.from(key, 'utf8'))).toBe(kafkajsMurmur2(key));
      }),
    );
  });
});

describe('Function: toPositive', () => {
  it('clears the sign bit, as Kafka does, rather than taking the absolute value', () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-(2 ** 31))).toBe(0);
    expect(toPositive(5)).toBe(5);
  });
});

describe('Function: partitionForKey', () => {
  it('places keys on the partitions Kafka places them on, with 12 partitions', () => {
    // Prepare
    const expected: Record<string, number> = {
      '21': 0,
      foobar: 6,
      abc: 3,
      'tenant/acme': 1,
      '': 9,
      'user-1': 8,
      'a-little-bit-longer-string': 11,
    };

    // Act
    const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, partitionForKey(key, 12)]));

    // Assess
    expect(actual).toEqual(expected);
  });

  it('hashes a string as its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 1024 }), (key, count) => {
        const partition = partitionForKey(key, count);
        expect(partition).toBe(partitionForKey(Buffer.from(key, 'utf8'), count));
        expect(partition).toBeGreaterThanOrEqual(0);
        expect(partition).toBeLessThan(count);
      }),
    );
  });

  it('refuses a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError);
  });
});

describe('Class: StickyPartitioner', () => {
  describe('Method: partition', () => {
    it('sticks to one partition per topic until a batch is sent', () => {
      // Prepare
      const partitioner = new StickyPartitioner();

      // Act
      const first = partitioner.partition('orders', 12);
      const again = Array.from({ length: 50 }, () => partitioner.partition('orders', 12));

      // Assess
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(12);
      expect(new Set(again)).toEqual(new Set([first]));
    });

    it('chooses again when the partition count changes', () => {
      // Prepare
      const partitioner = new StickyPartitioner(() => 0.99);
      expect(partitioner.partition('t', 12)).toBe(11);

      // Act
      const after = partitioner.partition('t', 4);

      // Assess
      expect(after).toBe(3);
    });
  });

  describe('Method: onNewBatch', () => {
    it('moves the topic to a different partition after a batch for its current one', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 64 }),
          fc.array(fc.double({ min: 0, max: 0.9999, noNaN: true })),
          (count, draws) => {
            // Prepare
            let i = 0;
            const partitioner = new StickyPartitioner(() => draws[i++ % Math.max(draws.length, 1)] ?? 0.5);
            let current = partitioner.partition('t', count);

            for (let n = 0; n < 20; n++) {
              // Act
              const next = partitioner.onNewBatch('t', count, current);

              // Assess
              expect(next).not.toBe(current);
              expect(next).toBeGreaterThanOrEqual(0);
              expect(next).toBeLessThan(count);
              expect(partitioner.partition('t', count)).toBe(next);
              current = next;
            }
          },
        ),
      );
    });

    it('ignores a batch for a partition the topic already left, and keeps topics apart', () => {
      // Prepare
      const partitioner = new StickyPartitioner();
      const a = partitioner.partition('a', 8);
      const b = partitioner.partition('b', 8);
      const moved = partitioner.onNewBatch('a', 8, a);

      // Act
      const stale = partitioner.onNewBatch('a', 8, a);

      // Assess
      expect(stale).toBe(moved);
      expect(partitioner.partition('b', 8)).toBe(b);
    });

    it('stays on partition 0 of a one-partition topic', () => {
      const partitioner = new StickyPartitioner();
      expect(partitioner.partition('t', 1)).toBe(0);
      expect(partitioner.onNewBatch('t', 1, 0)).toBe(0);
    });

    it('spreads the topic over every partition in time', () => {
      // Prepare
      const partitioner = new StickyPartitioner();
      const seen = new Set<number>();
      let current = partitioner.partition('t', 6);

      // Act
      for (let n = 0; n < 500; n++) {
        seen.add(current);
        current = partitioner.onNewBatch('t', 6, current);
      }

      // Assess
      expect(seen.size).toBe(6);
    });
  });
});
