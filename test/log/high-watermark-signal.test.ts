import { describe, expect, it } from 'vitest';
import { HighWatermarkSignal } from '../../shared/log/high-watermark-signal';
import { RangeCache } from '../../shared/log/range-cache';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Class: HighWatermarkSignal', () => {
  describe('Method: advanced', () => {
    it('wakes the waiters of the partition past the mark they read, after the current turn', async () => {
      // Prepare
      const signal = new HighWatermarkSignal();
      const woken: string[] = [];
      const a = signal.wait(new Map([['t#0', 5]]), 60_000).then((w) => woken.push(`a:${w}`));
      const b = signal.wait(new Map([['t#1', 5]]), 60_000).then((w) => woken.push(`b:${w}`));
      const c = signal
        .wait(
          new Map([
            ['t#0', 7],
            ['t#1', 0],
          ]),
          60_000,
        )
        .then((w) => woken.push(`c:${w}`));
      // Act
      signal.advanced('t#0', 6);
      await Promise.resolve();
      const synchronously = [...woken];
      await turn();
      await turn();
      // Assess: deferred (not on the caller's path), only the waiter on t#0 below 6
      expect(synchronously).toEqual([]);
      expect(woken).toEqual(['a:t#0']);
      expect(signal.waiting).toBe(2);
      signal.advanced('t#1', 9);
      signal.advanced('t#0', 8);
      await Promise.all([a, b, c]);
      // c learns that both of its partitions advanced
      expect(woken.sort()).toEqual(['a:t#0', 'b:t#1', 'c:t#1,t#0']);
      expect(signal.stats).toEqual({ woken: 3, timedOut: 0 });
      expect(signal.waiting).toBe(0);
    });

    it('answers at once a wait that starts after an advance it has not read', async () => {
      const signal = new HighWatermarkSignal();
      signal.advanced('t#0', 3);
      expect(await signal.wait(new Map([['t#0', 2]]), 60_000)).toEqual(['t#0']);
      expect(await signal.wait(new Map([['t#0', 3]]), 1)).toEqual([]);
      expect(signal.stats).toEqual({ woken: 1, timedOut: 1 });
      expect(signal.waiting).toBe(0);
    });
  });
});

describe('Class: RangeCache', () => {
  it('serves ranges of an object written whole, and evicts the least recently used', () => {
    // Prepare
    const cache = new RangeCache(400);
    const one = Buffer.alloc(100, 1);
    const two = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    cache.setObject('segments/a', one);
    cache.setObject('segments/b', two);
    // Act, Assess
    expect(cache.getRange('segments/b', 10, 13)).toEqual(Buffer.from([10, 11, 12]));
    expect(cache.getRange('segments/b', 90, 101)).toBeUndefined(); // past the object's end
    cache.setRange('segments/c', 0, 100, Buffer.alloc(100, 3));
    cache.getRange('segments/a', 0, 1); // a is now more recent than b
    cache.setObject('segments/d', Buffer.alloc(100, 4));
    cache.setObject('segments/e', Buffer.alloc(100, 5));
    expect(cache.size).toBe(400);
    expect(cache.getRange('segments/b', 0, 1)).toBeUndefined();
    expect(cache.getRange('segments/a', 0, 1)).toEqual(Buffer.from([1]));
    expect(cache.getRange('segments/c', 0, 100)).toEqual(Buffer.alloc(100, 3));
    cache.setObject('segments/huge', Buffer.alloc(101)); // over a quarter of the budget: not kept
    expect(cache.getRange('segments/huge', 0, 1)).toBeUndefined();
  });
});
