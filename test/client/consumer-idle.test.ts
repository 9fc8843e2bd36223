import { describe, expect, it } from 'vitest';
import { runConsumerModel } from '../../bench/consumer-model';
import { CONSUMER_PROFILES, Consumer, type ConsumerProfile } from '../../client';
import type { Transport } from '../../client/transport';
import { DEFAULT_FETCH_TUNING } from '../../shared/log/fetch';

/**
 * The consumer on an idle topic, run for real on a virtual clock against a counting transport
 * (bench/consumer-model.ts, which the cost model prices): what it sends per minute, and how long the
 * first record after an idle spell waits. Counts and virtual time only, never the wall clock.
 */
const perMinute = (perSec: number) => Math.round(perSec * 60);

describe('Consumer: idle backoff and heartbeats (virtual clock)', () => {
  it('by default (balanced) sends 12 short fetches, no long poll and 6 heartbeats a minute on an idle topic', async () => {
    const r = await runConsumerModel({ options: {}, partitions: 4, seconds: 900 });
    expect(perMinute(r.longPollsPerSec)).toBe(0);
    expect(perMinute(r.shortFetchesPerSec)).toBe(60_000 / CONSUMER_PROFILES.balanced.idleFetchIntervalMs);
    expect(perMinute(r.heartbeatsPerSec)).toBe(6);
    // One head read per partition per short fetch, none held: the fetch function is not kept waiting.
    expect(perMinute(r.headReadsPerSec)).toBe(4 * 12);
    expect(r.fetchBusy).toBe(0);
    // It got there after idleAfterMs of empty long polls: 3 of maxWaitMs 5000.
    const longPolls = r.fetches.filter((f) => f.maxWaitMs > 0);
    expect(longPolls.map((f) => f.maxWaitMs)).toEqual([5000, 5000, 5000]);
  });

  it('profile latency long-polls all the time and heartbeats every 3.3 s (the behaviour before profiles)', async () => {
    const r = await runConsumerModel({ options: { profile: 'latency' }, partitions: 4, seconds: 600 });
    expect(perMinute(r.longPollsPerSec)).toBe(12);
    expect(r.shortFetchesPerSec).toBe(0);
    expect(perMinute(r.heartbeatsPerSec)).toBe(18);
    expect(r.fetchBusy).toBeGreaterThan(0.99);
  });

  it('profile cost fetches every 15 s and heartbeats every 20 s when idle', async () => {
    const r = await runConsumerModel({ options: { profile: 'cost' }, partitions: 4, seconds: 900 });
    expect(perMinute(r.shortFetchesPerSec)).toBe(4);
    expect(perMinute(r.heartbeatsPerSec)).toBe(3);
  });

  it('heartbeats at the settling interval after joining, then at a third of the session timeout', async () => {
    const r = await runConsumerModel({ options: {}, partitions: 4, seconds: 120 });
    const gaps = r.heartbeats.slice(0, 6).map((t, i) => t - (i === 0 ? 0 : r.heartbeats[i - 1]!));
    expect(gaps).toEqual([3000, 3000, 3000, 10_000, 10_000, 10_000]);
  });

  for (const profile of ['latency', 'balanced', 'cost'] as ConsumerProfile[]) {
    const p = CONSUMER_PROFILES[profile];
    // Continuous long polls notice a record at the server's next head read; idle ones at the next fetch.
    const bound = p.idleAfterMs > 0 ? p.idleFetchIntervalMs : DEFAULT_FETCH_TUNING.maxPollMs;
    it(`profile ${profile}: a record after an idle spell is handed over within ${bound} virtual ms, then long polls resume at once`, async () => {
      for (const offset of [1, 1234, Math.max(2, bound - 1)]) {
        const produceAtMs = 600_000 + offset;
        const r = await runConsumerModel({ options: { profile }, partitions: 4, seconds: 660, produceAtMs });
        expect(r.deliveryMs).toBeDefined();
        expect(r.deliveryMs!).toBeLessThanOrEqual(bound);
        // After the record: idleAfterMs of long polls of maxWaitMs before backing off again.
        const after = r.fetches.slice(r.fetches.findIndex((f) => f.records) + 1);
        const polls = Math.max(1, Math.ceil(p.idleAfterMs / 5000));
        expect(after.slice(0, polls).every((f) => f.maxWaitMs === 5000)).toBe(true);
        if (p.idleAfterMs > 0) expect(after[polls]?.maxWaitMs).toBe(0);
      }
    });
  }

  it('refuses an unknown profile and out-of-range idle settings', () => {
    const transport = {} as Transport;
    expect(() => new Consumer(transport, { profile: 'fast' as ConsumerProfile })).toThrow(
      /profile must be latency, balanced or cost, but fast was provided/,
    );
    expect(() => new Consumer(transport, { idleFetchIntervalMs: -1 })).toThrow(/idleFetchIntervalMs must be/);
    expect(() => new Consumer(transport, { idleAfterMs: 1.5 })).toThrow(/idleAfterMs must be/);
  });

  it('goes idle after idleAfterMs of empty long polls, not after a count: a short maxWaitMs long-polls on', async () => {
    const r = await runConsumerModel({ options: { maxWaitMs: 100 }, partitions: 4, seconds: 120 });
    const firstShort = r.fetches.find((f) => f.maxWaitMs === 0)!;
    expect(firstShort.at).toBeGreaterThanOrEqual(CONSUMER_PROFILES.balanced.idleAfterMs);
    expect(r.fetches.filter((f) => f.maxWaitMs === 100).length).toBeGreaterThanOrEqual(150);
  });
});
