/**
 * How the workloads reach Sluice: over HTTP (the local stack's real path: the binary framing of
 * `POST /v1/produce` and `POST /v1/fetch`, JSON for topics and groups), or in process (a LogService with
 * crash points, for faults that no HTTP request can reach). Every answer is classified the way the
 * history needs it: `ok`, `fail` (a clear rejection: a 4xx, nothing was written) or `info` (a timeout,
 * a 5xx or 429, a reset: the outcome is unknown).
 */

import { Agent, request as httpRequest } from 'node:http';
import {
  decodeFetchResponse,
  decodeProduceResponse,
  encodeFetchRequest,
  encodeProduceRequest,
  FRAME_CONTENT_TYPE,
} from '../../shared/api/framing';
import { ERRORS, isErrorCode, isSluiceError } from '../../shared/errors';
import type { LogService } from '../../shared/log/log-service';
import type {
  FetchPartitionResult,
  FetchRequest,
  PartitionError,
  ProducePartitionRequest,
  ProducePartitionResult,
} from '../../shared/log/types';

export type Outcome<T> =
  | { readonly type: 'ok'; readonly value: T }
  | {
      readonly type: 'fail' | 'info';
      readonly error: string;
      readonly status?: number;
      readonly details?: Record<string, unknown>;
    };

export type ProduceAnswer = (ProducePartitionResult | PartitionError)[];

export interface PartitionBounds {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
}

export interface LogTransport {
  produce(parts: readonly ProducePartitionRequest[]): Promise<Outcome<ProduceAnswer>>;
  fetch(request: FetchRequest): Promise<Outcome<FetchPartitionResult[]>>;
  describe(topic: string): Promise<Outcome<PartitionBounds[]>>;
  createTopic(topic: string, partitions: number): Promise<Outcome<unknown>>;
  close(): void;
}

/** fail for a clear rejection (4xx but 408 and 429), info for everything whose outcome is unknown. */
export function classifyStatus(status: number): 'fail' | 'info' {
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'fail' : 'info';
}

export function classifyCode(code: string): 'fail' | 'info' {
  return isErrorCode(code) ? classifyStatus(ERRORS[code].status) : 'info';
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface HttpClientOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Per request, ms. @default 30000 */
  readonly timeoutMs?: number;
}

/** The headers of a body in the binary framing of `POST /v1/produce` and `/v1/fetch`, asking for it back. */
export const FRAMED: Readonly<Record<string, string>> = {
  'content-type': FRAME_CONTENT_TYPE,
  accept: FRAME_CONTENT_TYPE,
};

/** A small HTTP client of its own (keep-alive, a timeout per request, raw paths and bodies). */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  readonly url: URL;

  constructor(
    base: string,
    private readonly options: HttpClientOptions = {},
  ) {
    this.url = new URL(base);
  }

  request(
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
    timeoutMs = this.options.timeoutMs ?? 30_000,
  ): Promise<HttpAnswer> {
    const all: Record<string, string> = { ...headers };
    if (this.options.token !== undefined && all.authorization === undefined) {
      all.authorization = `Bearer ${this.options.token}`;
    }
    const bytes = body === undefined ? undefined : Buffer.from(body);
    if (bytes) all['content-length'] = String(bytes.length);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: this.url.hostname, port: this.url.port, method, path, headers: all, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const got = Buffer.concat(chunks);
            const declared = Number(res.headers['content-length']);
            if (Number.isFinite(declared) && declared !== got.length) {
              reject(new Error(`truncated answer: ${got.length} of ${declared} bytes`));
              return;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: got });
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('answer aborted')));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(bytes);
    });
  }

  /** A JSON request, classified. */
  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<Outcome<T>> {
    let res: HttpAnswer;
    try {
      res = await this.request(
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
        body === undefined ? {} : { 'content-type': 'application/json' },
      );
    } catch (err) {
      return { type: 'info', error: (err as Error).message };
    }
    if (res.status < 300) {
      return {
        type: 'ok',
        value: (res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined) as T,
      };
    }
    return errorOutcome(res);
  }

  close(): void {
    this.agent.destroy();
  }
}

function errorOutcome(res: HttpAnswer): Outcome<never> {
  let code = `HTTP ${res.status}`;
  let details: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: Record<string, unknown> };
    if (parsed.error && typeof parsed.error.code === 'string') {
      code = parsed.error.code;
      details = parsed.error;
    }
  } catch {
    // not JSON: keep the status
  }
  return {
    type: classifyStatus(res.status),
    error: code,
    status: res.status,
    ...(details ? { details } : {}),
  };
}

/** The HTTP API of a local stack. */
export class HttpTransport implements LogTransport {
  readonly http: HttpClient;

  constructor(base: string, options: HttpClientOptions = {}) {
    this.http = new HttpClient(base, options);
  }

  async produce(parts: readonly ProducePartitionRequest[]): Promise<Outcome<ProduceAnswer>> {
    let res: HttpAnswer;
    try {
      res = await this.http.request('POST', '/v1/produce', encodeProduceRequest(parts), FRAMED);
    } catch (err) {
      return { type: 'info', error: (err as Error).message };
    }
    if (res.status !== 200) return errorOutcome(res);
    try {
      return { type: 'ok', value: decodeProduceResponse(res.body) };
    } catch (err) {
      return { type: 'info', error: `undecodable produce answer: ${(err as Error).message}` };
    }
  }

  async fetch(request: FetchRequest): Promise<Outcome<FetchPartitionResult[]>> {
    let res: HttpAnswer;
    try {
      res = await this.http.request(
        'POST',
        '/v1/fetch',
        encodeFetchRequest(request),
        FRAMED,
        (request.maxWaitMs ?? 0) + 30_000,
      );
    } catch (err) {
      return { type: 'info', error: (err as Error).message };
    }
    if (res.status !== 200) return errorOutcome(res);
    try {
      return { type: 'ok', value: decodeFetchResponse(res.body) };
    } catch (err) {
      return { type: 'info', error: `undecodable fetch answer: ${(err as Error).message}` };
    }
  }

  async describe(topic: string): Promise<Outcome<PartitionBounds[]>> {
    const out = await this.http.json<{ partitions: PartitionBounds[] }>('GET', `/v1/topics/${topic}`);
    return out.type === 'ok' ? { type: 'ok', value: out.value.partitions } : out;
  }

  createTopic(topic: string, partitions: number): Promise<Outcome<unknown>> {
    return this.http.json('POST', '/v1/topics', { name: topic, partitions });
  }

  close(): void {
    this.http.close();
  }
}

/** Errors thrown in process, classified as the HTTP layer would answer them. */
function thrownOutcome(err: unknown): Outcome<never> {
  if (isSluiceError(err)) {
    return { type: classifyStatus(err.status), error: err.code, status: err.status, details: err.details };
  }
  // A simulated crash, or an unknown failure: the HTTP layer answers 500.
  return { type: 'info', error: (err as Error)?.name ?? String(err) };
}

/** A LogService called directly: for crash points and SDK middleware, which only exist in process. */
export class InProcessTransport implements LogTransport {
  constructor(readonly log: LogService) {}

  async produce(parts: readonly ProducePartitionRequest[]): Promise<Outcome<ProduceAnswer>> {
    try {
      return { type: 'ok', value: await this.log.produce(parts) };
    } catch (err) {
      return thrownOutcome(err);
    }
  }

  async fetch(request: FetchRequest): Promise<Outcome<FetchPartitionResult[]>> {
    try {
      return { type: 'ok', value: await this.log.fetch(request) };
    } catch (err) {
      return thrownOutcome(err);
    }
  }

  async describe(topic: string): Promise<Outcome<PartitionBounds[]>> {
    try {
      return { type: 'ok', value: (await this.log.describeTopic(topic)).partitions.map((p) => ({ ...p })) };
    } catch (err) {
      return thrownOutcome(err);
    }
  }

  async createTopic(topic: string, partitions: number): Promise<Outcome<unknown>> {
    try {
      return { type: 'ok', value: await this.log.createTopic({ name: topic, partitionCount: partitions }) };
    } catch (err) {
      return thrownOutcome(err);
    }
  }

  close(): void {}
}
