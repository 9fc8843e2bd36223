/**
 * How `consume --follow` rides out a server that goes away (a restarted `sluice dev`, a network cut): its
 * consumer retries retriable errors without end, with capped backoff, and it says once per outage that
 * the server is unreachable and once that it answers again.
 *
 * The consumer reports no failed request, so the outage is seen where it happens: a connection that
 * could not be made, through the HTTP agent the client is given. The next fetch answered ends it.
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { RetryOptions } from '../../client';

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

/** Says on stderr when the server became unreachable and when it answered again, once each per outage. */
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

  /** A connection to the server could not be made. */
  unreachable(error: NodeJS.ErrnoException): void {
    if (!this.watching || this.down) return;
    this.down = true;
    this.stderr.write(`server unreachable at ${this.endpoint} (${error.code ?? error.message}), retrying…\n`);
  }

  /** A request was answered. */
  answered(): void {
    if (!this.down) return;
    this.down = false;
    this.stderr.write(`reconnected to ${this.endpoint}\n`);
  }
}

/**
 * A keep-alive agent with the settings of the client's own (client/transport.ts) that reports each
 * connection that fails before it is made: refused, unreachable host, DNS failure.
 */
export function connectionWatchingAgent(
  endpoint: string,
  onConnectFailed: (error: NodeJS.ErrnoException) => void,
): HttpAgent {
  const settings = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets: 64, timeout: 4_000 };
  const agent = new URL(endpoint).protocol === 'https:' ? new HttpsAgent(settings) : new HttpAgent(settings);
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = createConnection(options, callback);
    let connected = false;
    socket?.once('connect', () => {
      connected = true;
    });
    // The request has its own listener; this one only watches.
    socket?.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) onConnectFailed(error);
    });
    return socket;
  };
  return agent;
}
