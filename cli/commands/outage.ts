/**
 * How `consume --follow` rides out a server that goes away or cannot serve (a restarted `sluice dev`, a
 * network cut, a 503 from a gateway): its consumer retries retriable errors without end, with capped
 * backoff, and it says once per outage what the server did and once that it answers again.
 *
 * The consumer reports no failed request (its transport retries them), so the outage is seen where the
 * retry happens: the client's `onRetry`. The next fetch answered ends it.
 */

import type { RetryEvent, RetryOptions } from '../../client';

export interface ReconnectBackoff {
  /** The first backoff's upper bound, in ms; it doubles after each failure in a row. */
  readonly initialMs: number;
  /** The bound of any one backoff, in ms. */
  readonly maxMs: number;
}

export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = { initialMs: 250, maxMs: 5_000 };

/** The consumer's retry settings for following: every retriable error is retried, never given up on. */
export function followRetry(backoff: ReconnectBackoff): RetryOptions {
  return {
    retries: Number.MAX_SAFE_INTEGER,
    initialRetryTimeMs: backoff.initialMs,
    maxRetryTimeMs: Math.max(backoff.initialMs, backoff.maxMs),
  };
}

/** Says on stderr when the server became unreachable or unavailable and when it answered again, once each per outage. */
export class OutageReporter {
  private down = false;
  private watching = false;

  constructor(
    private readonly endpoint: string,
    private readonly stderr: { write(chunk: string): unknown },
  ) {}

  /** From now on failures are outages to ride out; before, they fail the command (the server never answered). */
  start(): void {
    this.watching = true;
  }

  /**
   * A request is about to be retried: the server could not be reached (the error's `network` code, e.g.
   * ECONNREFUSED), or answered with a retriable error (its status and code, e.g. 503 STORAGE_UNAVAILABLE).
   */
  retrying({ error }: Pick<RetryEvent, 'error'>): void {
    if (!this.watching || this.down) return;
    this.down = true;
    const network = error.details.network;
    this.stderr.write(
      network === undefined
        ? `server at ${this.endpoint} answers ${error.details.status ?? error.status} ${error.code}, retrying…\n`
        : `server unreachable at ${this.endpoint} (${String(network)}), retrying…\n`,
    );
  }

  /** A request was answered. */
  answered(): void {
    if (!this.down) return;
    this.down = false;
    this.stderr.write(`reconnected to ${this.endpoint}\n`);
  }
}
