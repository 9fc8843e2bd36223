/**
 * The Lambda adapter, the only code that sees Lambda events. It turns a REST API proxy event (payload
 * v1) or a function URL event (payload v2) into an ApiRequest, dispatches it through the route table to
 * its operation, and turns the ApiResponse (or the error) back into a proxy result:
 * `export const handler = createLambdaHandler('produce')` is a whole function. The local gateway builds
 * the same events and calls the same handlers.
 *
 * Beside it, `createStreamingLambdaHandler` serves a function URL in RESPONSE_STREAM mode: the same
 * request and operation, the answer written to Lambda's response stream (status and headers first, then
 * the body's bytes as they are, no base64), which lifts the 6 MB limit of a buffered answer.
 */

import { randomUUID } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  LambdaFunctionURLEvent,
} from 'aws-lambda';
import { ERRORS, SluiceError } from '../errors';
import { type ApiRequest, type ApiResponse, isBinaryMediaType, json } from './http';
import { OPERATIONS, type Operation } from './operations';
import { matchRoute, routeForResource } from './router';
import type { FunctionName, Route } from './routes';
import { type Services, servicesFromEnv } from './services';

/** A REST API proxy event (API Gateway, payload v1) or a function URL event (payload v2). */
export type LambdaHttpEvent = APIGatewayProxyEvent | LambdaFunctionURLEvent;

export type ProxyHandler = (event: LambdaHttpEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/** Wraps Lambda's response stream with the status and headers (`awslambda.HttpResponseStream.from`). */
export type HttpResponseStreamFrom = (
  stream: Writable,
  prelude: { statusCode: number; headers: Record<string, string> },
) => Writable;

export type StreamingHandler = (
  event: LambdaFunctionURLEvent,
  responseStream: Writable,
  context?: Context,
) => Promise<void>;

export interface LambdaHandlerOptions {
  /** The services to call. @default servicesFromEnv(): built from the environment once per container */
  readonly services?: () => Services;
  /** @default a Powertools Logger, service "sluice" (POWERTOOLS_* variables apply) */
  readonly logger?: Logger;
  /** EMF metrics; null to emit none (the local stack). @default Powertools Metrics, namespace "Sluice" */
  readonly metrics?: Metrics | null;
  /** @default OPERATIONS */
  readonly operations?: Readonly<Record<string, Operation>>;
}

let defaultLogger: Logger | undefined;
let defaultMetrics: Metrics | undefined;

/** Errors as responses: a SluiceError keeps its status and code; anything else is a 500 that says nothing of its cause. */
export function errorResponse(err: unknown, requestId: string): ApiResponse {
  if (err instanceof SluiceError) return json(err.status, err.toJSON());
  return json(500, {
    error: { code: 'UNKNOWN_SERVER_ERROR', message: ERRORS.UNKNOWN_SERVER_ERROR.message, requestId },
  });
}

const isFunctionUrlEvent = (event: LambdaHttpEvent): event is LambdaFunctionURLEvent =>
  (event as LambdaFunctionURLEvent).version === '2.0';

/** What the adapter needs of either event. */
interface HttpEvent {
  readonly method: string;
  readonly path: string;
  readonly route:
    | { route: Route; params: Record<string, string> }
    | (() => { route: Route; params: Record<string, string> });
  readonly query: Record<string, string[]>;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly requestId: string | undefined;
}

function fromFunctionUrl(event: LambdaFunctionURLEvent): HttpEvent {
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const query: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(event.rawQueryString ?? '')) {
    const values = query[name] ?? [];
    values.push(value);
    query[name] = values;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return {
    method,
    path,
    route: () => matchRoute(method, path),
    query,
    headers,
    body:
      event.body == null
        ? Buffer.alloc(0)
        : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
  };
}

function fromRestApi(event: APIGatewayProxyEvent): HttpEvent {
  return {
    method: event.httpMethod,
    path: event.path,
    route: () => resolveRoute(event),
    query: queryOf(event),
    headers: lowerCaseHeaders(event),
    body:
      event.body == null
        ? Buffer.alloc(0)
        : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext?.requestId,
  };
}

function lowerCaseHeaders(event: APIGatewayProxyEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values !== undefined && values.length > 0) headers[name.toLowerCase()] = values.join(', ');
  }
  return headers;
}

function queryOf(event: APIGatewayProxyEvent): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  if (event.multiValueQueryStringParameters) {
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters)) {
      if (values !== undefined) query[name] = [...values];
    }
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query[name] = [value];
    }
  }
  return query;
}

function resolveRoute(event: APIGatewayProxyEvent): { route: Route; params: Record<string, string> } {
  const route = routeForResource(event.httpMethod, event.resource);
  if (route === undefined) return matchRoute(event.httpMethod, event.path);
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) params[name] = value;
  }
  return { route, params };
}

export function toProxyResult(res: ApiResponse): APIGatewayProxyResult {
  const headers: Record<string, string> = { ...res.headers };
  if (res.body === undefined) return { statusCode: res.status, headers, body: '' };
  if (typeof res.body === 'string') return { statusCode: res.status, headers, body: res.body };
  if (isBinaryMediaType(headers['content-type'])) {
    return { statusCode: res.status, headers, body: res.body.toString('base64'), isBase64Encoded: true };
  }
  return { statusCode: res.status, headers, body: res.body.toString('utf8') };
}

function recordMetrics(metrics: Metrics, route: Route, res: ApiResponse, latencyMs: number): void {
  let added = false;
  if (route.function === 'produce' || route.function === 'fetch') {
    const name = route.operation;
    metrics.addMetric(`${name}Latency`, MetricUnit.Milliseconds, latencyMs);
    if (res.status < 400) {
      metrics.addMetric(`${name}Records`, MetricUnit.Count, res.stats?.records ?? 0);
      metrics.addMetric(`${name}Bytes`, MetricUnit.Bytes, res.stats?.bytes ?? 0);
    }
    added = true;
  }
  if (res.status >= 400) {
    metrics.addMetric(res.status >= 500 ? 'ServerErrors' : 'ClientErrors', MetricUnit.Count, 1);
    added = true;
  }
  // One EMF line per invocation, and none for a request with nothing to count.
  if (added) metrics.publishStoredMetrics();
}

/** The core of both handlers: event → request → operation → response, logged and counted once. */
function createServer(fn: FunctionName, options: LambdaHandlerOptions) {
  const operations = options.operations ?? OPERATIONS;
  const services = options.services ?? servicesFromEnv;
  defaultLogger ??= new Logger({ serviceName: 'sluice' });
  const logger = options.logger ?? defaultLogger;
  if (options.metrics === undefined)
    defaultMetrics ??= new Metrics({ namespace: 'Sluice', serviceName: 'sluice' });
  const metrics = options.metrics === undefined ? defaultMetrics : options.metrics;

  return async (event: HttpEvent, context: Context | undefined): Promise<{ res: ApiResponse }> => {
    const started = performance.now();
    const requestId = event.requestId ?? context?.awsRequestId ?? randomUUID();
    if (context?.functionName) logger.addContext(context);
    let route: Route | undefined;
    let res: ApiResponse;
    try {
      const match = typeof event.route === 'function' ? event.route() : event.route;
      route = match.route;
      if (route.function !== fn) {
        throw new SluiceError(
          'NOT_FOUND',
          `${event.method} ${route.path} is served by the ${route.function} function, not ${fn}`,
        );
      }
      const operation = operations[route.operation];
      if (operation === undefined) throw new Error(`no operation ${route.operation}`);
      const req: ApiRequest = {
        method: event.method,
        route,
        params: match.params,
        query: event.query,
        headers: event.headers,
        body: event.body,
        requestId,
      };
      res = await operation(req, services());
    } catch (err) {
      res = errorResponse(err, requestId);
      if (res.status >= 500) logger.error('request failed', { requestId, error: err as Error });
    }
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    logger.info('request', {
      requestId,
      method: event.method,
      route: route?.path ?? event.path,
      operation: route?.operation,
      status: res.status,
      latencyMs,
      ...(res.stats ?? {}),
    });
    if (metrics && route) recordMetrics(metrics, route, res, latencyMs);
    return { res };
  };
}

/**
 * The Lambda handler of one function of the route table: it serves that function's routes and no others,
 * behind API Gateway (payload v1) or a function URL in BUFFERED mode (payload v2).
 */
export function createLambdaHandler(fn: FunctionName, options: LambdaHandlerOptions = {}): ProxyHandler {
  const serve = createServer(fn, options);
  return async (event, context) => {
    const { res } = await serve(
      isFunctionUrlEvent(event) ? fromFunctionUrl(event) : fromRestApi(event),
      context,
    );
    return toProxyResult(res);
  };
}

/** Bytes per write to the response stream. */
const STREAM_CHUNK_BYTES = 64 * 1024;

function chunksOf(body: ApiResponse['body']): Buffer[] {
  if (body === undefined) return [];
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += STREAM_CHUNK_BYTES) {
    chunks.push(bytes.subarray(at, at + STREAM_CHUNK_BYTES));
  }
  return chunks;
}

/**
 * The handler of a function URL in RESPONSE_STREAM mode (wrap it in `awslambda.streamifyResponse`): the
 * same routes and operations as `createLambdaHandler`, the answer's status and headers handed to
 * `HttpResponseStream.from`, then its body written as raw bytes. Lambda caps a buffered answer at 6 MB
 * (and API Gateway's base64 takes a third of that); a streamed one is not held to it.
 */
export function createStreamingLambdaHandler(
  fn: FunctionName,
  options: LambdaHandlerOptions & {
    /** @default awslambda.HttpResponseStream.from, the Node.js runtime's global */
    readonly httpResponseStream?: HttpResponseStreamFrom;
  } = {},
): StreamingHandler {
  const serve = createServer(fn, options);
  return async (event, responseStream, context) => {
    const { res } = await serve(fromFunctionUrl(event), context);
    const from =
      options.httpResponseStream ??
      (globalThis as { awslambda?: { HttpResponseStream: { from: HttpResponseStreamFrom } } }).awslambda
        ?.HttpResponseStream.from;
    if (from === undefined) {
      throw new Error(
        'a streaming handler runs in the Lambda Node.js runtime (awslambda.HttpResponseStream)',
      );
    }
    const stream = from(responseStream, { statusCode: res.status, headers: { ...res.headers } });
    await pipeline(Readable.from(chunksOf(res.body)), stream);
  };
}

/**
 * `awslambda.streamifyResponse(handler)` in Lambda's Node.js runtime, which marks the handler as
 * streaming; the handler itself elsewhere (tests, plain Node), where `awslambda` may exist without it.
 */
export function streamify(handler: StreamingHandler): unknown {
  const runtime = (globalThis as { awslambda?: { streamifyResponse?: (h: StreamingHandler) => unknown } })
    .awslambda;
  return typeof runtime?.streamifyResponse === 'function' ? runtime.streamifyResponse(handler) : handler;
}
