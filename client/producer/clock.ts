/**
 * Time as the producer sees it: the wall clock and its timers. A port, so that the batching can be run
 * on a virtual clock (test/client/producer-load.test.ts, bench/producer-model.ts) and counted exactly.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` after the current work and the promise callbacks it queued. */
  setImmediate(fn: () => void): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (fn) => {
    setImmediate(fn);
  },
};
