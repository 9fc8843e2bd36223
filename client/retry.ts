/**
 * Retries with exponential backoff and full jitter, bounded by a count and by time — as KafkaJS's
 * `retry/` module, reading `retriable` from the shared error table.
 *
 *   delay(attempt) = random(0, min(maxRetryTimeMs, initialRetryTimeMs × 2^attempt))   ("full jitter")
 *
 * Full jitter spreads the retries of many clients that failed together (a throttled table, a cold
 * function) instead of sending them back in lock-step.
 */

import { isSluiceError } from '../shared/errors';

export interface RetryOptions {
  /** First backoff's upper bound, in ms. @default 100 */
  readonly initialRetryTimeMs?: number;
  /** Upper bound of any one backoff, in ms. @default 5000 */
  readonly maxRetryTimeMs?: number;
  /** Most retries after the first attempt. @default 10 */
  readonly retries?: number;
  /** No retry starts once this long has passed since the first attempt, in ms. @default 60000 */
  readonly maxElapsedMs?: number;
}

export interface ResolvedRetry {
  readonly initialRetryTimeMs: number;
  readonly maxRetryTimeMs: number;
  readonly retries: number;
  readonly maxElapsedMs: number;
}

export const DEFAULT_RETRY: ResolvedRetry = {
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 5_000,
  retries: 10,
  maxElapsedMs: 60_000,
};

export function resolveRetry(options: RetryOptions | undefined): ResolvedRetry {
  const r = {
    initialRetryTimeMs: options?.initialRetryTimeMs ?? DEFAULT_RETRY.initialRetryTimeMs,
    maxRetryTimeMs: options?.maxRetryTimeMs ?? DEFAULT_RETRY.maxRetryTimeMs,
    retries: options?.retries ?? DEFAULT_RETRY.retries,
    maxElapsedMs: options?.maxElapsedMs ?? DEFAULT_RETRY.maxElapsedMs,
  };
  for (const [name, value] of Object.entries(r)) {
    if (!(value >= 0) || (name !== 'retries' && !Number.isFinite(value))) {
      throw new RangeError(`retry.${name} must be a non-negative number, but ${value} was provided`);
    }
  }
  return r;
}

/** The backoff before retry number `attempt` (0 for the first retry), with full jitter. */
export function backoffMs(retry: ResolvedRetry, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxRetryTimeMs, retry.initialRetryTimeMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Whether an error may be retried: a SluiceError whose code the table marks retriable. */
export function isRetriable(err: unknown): boolean {
  return isSluiceError(err) && err.retriable;
}

/**
 * Whether another retry may start: within the count, and its backoff ends before the time bound.
 * Returns the backoff to wait, or undefined when retries are exhausted.
 */
export function nextBackoff(retry: ResolvedRetry, attempt: number, startedAt: number, now = Date.now()) {
  if (attempt >= retry.retries) return undefined;
  const delay = backoffMs(retry, attempt);
  if (now + delay - startedAt > retry.maxElapsedMs) return undefined;
  return delay;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, retrying errors that `shouldRetry` accepts (retriable SluiceErrors by
 * default) with jittered backoff; the last error is thrown when the count or time bound is reached.
 *
 * @example
 * ```ts
 * const topics = await withRetry(() => admin.listTopics(), { retries: 3 });
 * ```
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options?: RetryOptions,
  shouldRetry: (err: unknown) => boolean = isRetriable,
  signal?: AbortSignal,
): Promise<T> {
  const retry = resolveRetry(options);
  const startedAt = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted || !shouldRetry(err)) throw err;
      const delay = nextBackoff(retry, attempt, startedAt);
      if (delay === undefined) throw err;
      await sleep(delay, signal);
    }
  }
}
