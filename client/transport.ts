/**
 * HTTP transport of the SDK: one keep-alive connection pool per client, deadlines, retries of retriable
 * errors, and authentication — SigV4 (the AWS SDK's own signer and default credential chain; service
 * `execute-api` for API Gateway, `lambda` for the function URLs of produce and fetch), a bearer token
 * for a local stack started with SLUICE_TOKEN, or nothing for the local stack on loopback.
 *
 * With `functionUrls`, a request whose route (shared/api/routes.ts) belongs to the produce or fetch
 * function goes to that function's URL instead of the API: no API Gateway fee, and a streamed fetch
 * answer is not held to Lambda's 6 MB.
 *
 * Every failure surfaces as a SluiceError with a code from the shared table (shared/errors.ts), so
 * `err.code` and `err.retriable` mean the same thing as on the server. Failures without a server answer
 * (refused or reset connections, deadlines) become REQUEST_TIMED_OUT ("its outcome is unknown") with
 * `details.network` naming the cause.
 */

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { matchRoute } from '../shared/api/router';
import type { FunctionName } from '../shared/api/routes';
import { SluiceError } from '../shared/errors';
import {
  isRetriable,
  nextBackoff,
  type ResolvedRetry,
  type RetryOptions,
  resolveRetry,
  sleep,
} from './retry';
import { createSigner, type Signer, type SigningService } from './signer';
import { abortError, errorFromResponse, headerRecord, networkError } from './transport-errors';

export { errorFromResponse } from './transport-errors';

/** AWS credentials, as the AWS SDK takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/**
 * Lambda function URLs of the data path (a deployment with `dataPath: 'functionUrls'`: the stack's
 * `ProduceUrl` and `FetchUrl` outputs), e.g. `https://abc….lambda-url.eu-west-1.on.aws/`.
 */
export interface FunctionUrls {
  readonly produce?: string;
  readonly fetch?: string;
}

export interface TransportOptions {
  /**
   * Base URL of the API: `http://127.0.0.1:8092` for `npm start`, or the deployed API with its stage,
   * e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod/`.
   */
  readonly endpoint: string;
  /** Region for SigV4. @default parsed from an execute-api host, else AWS_REGION / AWS_DEFAULT_REGION */
  readonly region?: string;
  /** Credentials for SigV4. @default the AWS SDK's default provider chain (env, SSO, profile, IMDS, …) */
  readonly credentials?: AwsCredentials | AwsCredentialsProvider;
  /** Sign requests with SigV4. @default true unless the endpoint is on loopback or a token is set */
  readonly sign?: boolean;
  /** Bearer token (`Authorization: Bearer …`) for a local stack started with SLUICE_TOKEN. @default none */
  readonly token?: string;
  /** Deadline of one HTTP attempt, in ms (a long-poll fetch adds its wait). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Retries of retriable errors. */
  readonly retry?: RetryOptions;
  /** Connection pool settings, or your own agent. @default keep-alive, 64 sockets */
  readonly agent?: HttpAgent | { readonly maxSockets?: number; readonly keepAliveMsecs?: number };
  /** Send requests with this `fetch` (e.g. undici's, or a test double) instead of node:http. @default node:http */
  readonly fetch?: typeof globalThis.fetch;
  /** Produce and fetch through these function URLs (SigV4 service `lambda`), the rest through `endpoint`. @default none */
  readonly functionUrls?: FunctionUrls;
  /** Called before each retry of a request, e.g. to say that the server is unavailable. @default none */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** A request about to be retried: the error its last attempt ended with, and the wait before the next. */
export interface RetryEvent {
  readonly method: HttpMethod;
  readonly path: string;
  readonly error: SluiceError;
  /** Retries of this request so far, this one included (1 for the first). */
  readonly retry: number;
  readonly delayMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface TransportRequest {
  readonly method: HttpMethod;
  /** Path below the endpoint, e.g. `/v1/topics/orders`; each segment already percent-encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: Buffer;
  readonly contentType?: string;
  /** API Gateway answers binary bodies only when Accept names the binary type. @default application/json */
  readonly accept?: string;
  /** @default the transport's requestTimeoutMs */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Repeating the request is harmless, so it may be retried when its outcome is unknown (a deadline
   * passed or the connection broke after it was sent). Answers that say "retry" are retried either way.
   * @default true for GET
   */
  readonly idempotent?: boolean;
  /** Retry settings of this request, or false for a single attempt. @default the transport's */
  readonly retry?: RetryOptions | false;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export const JSON_TYPE = 'application/json';
export const USER_AGENT = 'sluice-client/0.1';

/** True for a host on the loopback interface: the local stack, which is never signed. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
}

/**
 * The region of an API Gateway or function URL host: `abc.execute-api.eu-west-1.amazonaws.com` or
 * `abc.lambda-url.eu-west-1.on.aws` → `eu-west-1`.
 */
export function regionOfHost(hostname: string): string | undefined {
  return (
    /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1] ??
    /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(hostname)?.[1]
  );
}

/** Where a request goes: a base URL, and how it is signed there. */
interface Target {
  readonly base: URL;
  readonly service: SigningService;
  readonly region: string | undefined;
  readonly signs: boolean;
}

function parseBase(name: string, url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new RangeError(`${name} must be an http(s) URL, but "${url}" was provided`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new RangeError(`${name} must be an http(s) URL, but "${url}" was provided`);
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

class AttemptError extends Error {
  constructor(
    readonly error: SluiceError,
    /** The request may have reached the server: repeating it is safe only if it is idempotent. */
    readonly ambiguous: boolean,
    /** A keep-alive socket the server had closed: repeat at once, nothing was processed. */
    readonly staleSocket: boolean,
  ) {
    super(error.message);
  }
}

/**
 * Sends requests to one Sluice endpoint.
 *
 * @example
 * ```ts
 * const transport = new Transport({ endpoint: 'http://127.0.0.1:8092' });
 * const topics = await transport.json('GET', '/v1/topics');
 * ```
 */
export class Transport {
  readonly endpoint: string;
  readonly region: string | undefined;
  readonly signs: boolean;
  private readonly base: URL;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly retry: ResolvedRetry;
  private readonly onRetry: TransportOptions['onRetry'];
  private readonly agent: HttpAgent;
  private readonly ownsAgent: boolean;
  private readonly fetchImpl: typeof globalThis.fetch | undefined;
  private readonly signers = new Map<string, Promise<Signer>>();
  private readonly credentials: TransportOptions['credentials'];
  private readonly api: Target;
  private readonly functionTargets: Partial<Record<FunctionName, Target>> = {};

  constructor(options: TransportOptions) {
    const base = parseBase('endpoint', options.endpoint);
    this.base = base;
    this.endpoint = base.href.replace(/\/$/, '');
    this.token = options.token || undefined;
    this.signs = options.sign ?? (this.token === undefined && !isLoopback(base.hostname));
    if (this.signs && this.token !== undefined) {
      throw new RangeError(
        'sign and token exclude each other: SigV4 and a bearer token both use Authorization',
      );
    }
    this.region =
      options.region ??
      regionOfHost(base.hostname) ??
      (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
    if (this.signs && !this.region) {
      throw new RangeError(
        `region is required to sign requests to ${base.host}: pass { region } or set AWS_REGION`,
      );
    }
    this.credentials = options.credentials;
    this.api = { base, service: 'execute-api', region: this.region, signs: this.signs };
    for (const fn of ['produce', 'fetch'] as const) {
      const url = options.functionUrls?.[fn];
      if (url === undefined) continue;
      const fnBase = parseBase(`functionUrls.${fn}`, url);
      // A function URL with AWS_IAM auth is always signed (service lambda), unless signing is turned off.
      const signs = options.sign ?? !isLoopback(fnBase.hostname);
      const region = options.region ?? regionOfHost(fnBase.hostname) ?? this.region;
      if (signs && !region) {
        throw new RangeError(
          `region is required to sign requests to ${fnBase.host}: pass { region } or set AWS_REGION`,
        );
      }
      if (signs && this.token !== undefined) {
        throw new RangeError('functionUrls are signed with SigV4, which excludes a bearer token');
      }
      this.functionTargets[fn] = { base: fnBase, service: 'lambda', region, signs };
    }
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0)) {
      throw new RangeError(`requestTimeoutMs must be > 0, but ${options.requestTimeoutMs} was provided`);
    }
    this.retry = resolveRetry(options.retry);
    this.onRetry = options.onRetry;
    this.fetchImpl = options.fetch;
    if (options.agent instanceof HttpAgent) {
      this.agent = options.agent;
      this.ownsAgent = false;
    } else {
      const settings = {
        keepAlive: true,
        keepAliveMsecs: options.agent?.keepAliveMsecs ?? 1_000,
        maxSockets: options.agent?.maxSockets ?? 64,
        // Idle sockets are closed before a typical server's keep-alive timeout (Node's: 5 s), so a
        // request rarely lands on a socket the server is closing.
        timeout: 4_000,
      };
      this.agent = base.protocol === 'https:' ? new HttpsAgent(settings) : new HttpAgent(settings);
      this.ownsAgent = true;
    }
  }

  /** Sends a request, retrying per its settings; resolves with a 2xx answer, else throws a SluiceError. */
  async request(req: TransportRequest): Promise<TransportResponse> {
    const retry =
      req.retry === false
        ? undefined
        : req.retry
          ? resolveRetry({ ...this.retry, ...req.retry })
          : this.retry;
    const idempotent = req.idempotent ?? req.method === 'GET';
    const startedAt = Date.now();
    let staleRetries = 0;
    for (let attempt = 0; ; ) {
      try {
        return await this.attempt(req);
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        if (req.signal?.aborted) throw abortError(req.signal);
        if (err.staleSocket && staleRetries++ < 2) continue;
        if (retry === undefined || !isRetriable(err.error) || (err.ambiguous && !idempotent)) throw err.error;
        const delay = nextBackoff(retry, attempt, startedAt);
        if (delay === undefined) throw err.error;
        attempt++;
        this.report({ method: req.method, path: req.path, error: err.error, retry: attempt, delayMs: delay });
        await sleep(delay, req.signal);
        if (req.signal?.aborted) throw abortError(req.signal);
      }
    }
  }

  private report(event: RetryEvent): void {
    try {
      this.onRetry?.(event);
    } catch {
      // An observer's failure is not the request's.
    }
  }

  /**
   * A JSON request: `body` is serialised, the answer parsed (undefined for 204).
   *
   * @example
   * ```ts
   * const topic = await transport.json('POST', '/v1/topics', { name: 'orders', partitions: 3 });
   * ```
   */
  async json<T>(
    method: HttpMethod,
    path: string,
    body?: unknown,
    options: Partial<Omit<TransportRequest, 'method' | 'path' | 'body'>> = {},
  ): Promise<T> {
    const res = await this.request({
      method,
      path,
      ...options,
      ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)), contentType: JSON_TYPE }),
    });
    if (res.status === 204 || res.body.length === 0) return undefined as T;
    try {
      return JSON.parse(res.body.toString('utf8')) as T;
    } catch (err) {
      throw new SluiceError('UNKNOWN_SERVER_ERROR', `${method} ${path} answered invalid JSON`, {
        cause: err,
      });
    }
  }

  /** Closes idle connections. Requests may still be sent afterwards; they open new ones. */
  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  /** The function URL of the request's route when one is configured, else the API. */
  private target(req: TransportRequest): Target {
    if (this.functionTargets.produce === undefined && this.functionTargets.fetch === undefined)
      return this.api;
    let fn: FunctionName;
    try {
      fn = matchRoute(req.method, req.path.split('?')[0]!).route.function;
    } catch {
      return this.api;
    }
    return this.functionTargets[fn] ?? this.api;
  }

  private url(target: Target, path: string, query: TransportRequest['query']): URL {
    const url = new URL(path.replace(/^\//, ''), target.base);
    if (query)
      for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async headers(req: TransportRequest, url: URL, target: Target): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      accept: req.accept ?? JSON_TYPE,
      'user-agent': USER_AGENT,
    };
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(req.body.length);
    }
    if (this.token !== undefined && target === this.api) headers.authorization = `Bearer ${this.token}`;
    if (target.signs) {
      const key = `${target.service}/${target.region}`;
      let signer = this.signers.get(key);
      if (signer === undefined) {
        signer = createSigner(target.service, target.region!, this.credentials);
        this.signers.set(key, signer);
      }
      return (await signer).sign({ method: req.method, url, headers, body: req.body });
    }
    return headers;
  }

  private async attempt(req: TransportRequest): Promise<TransportResponse> {
    const target = this.target(req);
    const url = this.url(target, req.path, req.query);
    let headers: Record<string, string>;
    try {
      headers = await this.headers(req, url, target);
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('UNAUTHORIZED', `cannot sign the request: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const res = this.fetchImpl
      ? await this.viaFetch(req, url, headers, timeoutMs)
      : await this.viaHttp(req, url, headers, timeoutMs);
    if (res.status >= 200 && res.status < 300) return res;
    const error = errorFromResponse(req.method, req.path, res.status, res.body, res.headers);
    throw new AttemptError(error, false, false);
  }

  private viaHttp(
    req: TransportRequest,
    url: URL,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<TransportResponse> {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) return reject(abortError(req.signal));
      let sent = false;
      let answered = false;
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        req.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const r = send(url, { method: req.method, headers, agent: this.agent }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              headers: headerRecord(res.headers),
              body: Buffer.concat(chunks),
            }),
          ),
        );
        res.on('error', (err) => fail(err));
        res.on('aborted', () =>
          fail(Object.assign(new Error('the answer was cut short'), { code: 'ECONNRESET' })),
        );
      });
      const fail = (err: NodeJS.ErrnoException) =>
        finish(() => {
          if (req.signal?.aborted) return reject(abortError(req.signal));
          const stale = r.reusedSocket && !answered && err.code === 'ECONNRESET';
          reject(new AttemptError(networkError(this.endpoint, err, sent), sent && !stale, stale));
        });
      const deadline = setTimeout(() => {
        const err = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' });
        fail(err);
        r.destroy(err);
      }, timeoutMs);
      const onAbort = () => r.destroy(abortError(req.signal!) as Error);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => fail(err));
      r.on('finish', () => {
        sent = true;
      });
      r.end(req.body);
    });
  }

  private async viaFetch(
    req: TransportRequest,
    url: URL,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<TransportResponse> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const { 'content-length': _length, ...rest } = headers;
    try {
      const res = await this.fetchImpl!(url, {
        method: req.method,
        headers: rest,
        ...(req.body ? { body: req.body } : {}),
        signal,
      });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, headers: headerRecord(res.headers), body };
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal);
      const e = (
        timeout.aborted
          ? Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })
          : ((err as Error & { cause?: Error }).cause ?? err)
      ) as NodeJS.ErrnoException;
      throw new AttemptError(networkError(this.endpoint, e, true), true, false);
    }
  }
}

/** Percent-encodes one path segment (topic, group, member id). */
export const seg = (s: string | number) => encodeURIComponent(String(s));
