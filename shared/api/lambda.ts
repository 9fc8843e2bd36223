/**
 * The Lambda adapter, the only code that sees API Gateway events. It turns a REST API proxy event
 * (payload v1) into an ApiRequest, dispatches it through the route table to its operation, and turns
 * the ApiResponse (or the error) back into a proxy result: `export const handler = createLambdaHandler('produce')`
 * is a whole function. The local gateway builds the same events and calls the same handlers.
 */

import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ERRORS, SluiceError } from '../errors';
import { type ApiRequest, type ApiResponse, isBinaryMediaType, json } from './http';
import { OPERATIONS, type Operation } from './operations';
import { matchRoute, routeForResource } from './router';
import type { FunctionName, Route } from './routes';
import { type Services, servicesFromEnv } from './services';

export type ProxyHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

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

/** The Lambda handler of one function of the route table: it serves that function's routes and no others. */
export function createLambdaHandler(fn: FunctionName, options: LambdaHandlerOptions = {}): ProxyHandler {
  const operations = options.operations ?? OPERATIONS;
  const services = options.services ?? servicesFromEnv;
  defaultLogger ??= new Logger({ serviceName: 'sluice' });
  const logger = options.logger ?? defaultLogger;
  if (options.metrics === undefined)
    defaultMetrics ??= new Metrics({ namespace: 'Sluice', serviceName: 'sluice' });
  const metrics = options.metrics === undefined ? defaultMetrics : options.metrics;

  return async (event, context) => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? randomUUID();
    if (context?.functionName) logger.addContext(context);
    let route: Route | undefined;
    let res: ApiResponse;
    try {
      const match = resolveRoute(event);
      route = match.route;
      if (route.function !== fn) {
        throw new SluiceError(
          'NOT_FOUND',
          `${event.httpMethod} ${route.path} is served by the ${route.function} function, not ${fn}`,
        );
      }
      const operation = operations[route.operation];
      if (operation === undefined) throw new Error(`no operation ${route.operation}`);
      const req: ApiRequest = {
        method: event.httpMethod,
        route,
        params: match.params,
        query: queryOf(event),
        headers: lowerCaseHeaders(event),
        body:
          event.body == null
            ? Buffer.alloc(0)
            : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
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
      method: event.httpMethod,
      route: route?.path ?? event.path,
      operation: route?.operation,
      status: res.status,
      latencyMs,
      ...(res.stats ?? {}),
    });
    if (metrics && route) recordMetrics(metrics, route, res, latencyMs);
    return toProxyResult(res);
  };
}
