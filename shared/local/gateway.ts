/**
 * A local stand-in for API Gateway (REST, Lambda proxy integration): it matches each request against
 * the route table, builds the proxy event API Gateway would send, invokes the same Lambda handler code
 * and writes back its proxy result. It also copies API Gateway's binary rules, so that a client that
 * works here works on AWS: a request body is base64-encoded for the handler only when its Content-Type
 * is one of BINARY_MEDIA_TYPES, and a base64 answer is decoded only when the request's first Accept type
 * is one of them.
 */

import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isBinaryMediaType } from '../api/http';
import { errorResponse, type ProxyHandler, toProxyResult } from '../api/lambda';
import { API_LIMITS } from '../api/limits';
import { matchRoute } from '../api/router';
import { type FunctionName, ROUTES, type Route } from '../api/routes';
import { SluiceError } from '../errors';

export interface GatewayOptions {
  /** The Lambda handler of each function in the route table. */
  readonly handlers: Readonly<Record<FunctionName, ProxyHandler>>;
  /** When set, requests must carry `Authorization: Bearer <token>`; others get 401 before any handler runs. */
  readonly token?: string;
  /** One line per request. @default none */
  readonly log?: (line: string) => void;
  /** @default API_LIMITS.maxGatewayBodyBytes (API Gateway's 10 MB) */
  readonly maxBodyBytes?: number;
  /**
   * Runs one cleanup pass for `POST /local/cleanup` (what `sluice admin cleanup` calls against a local
   * stack, whose emulators it cannot reach itself). @default none: the route answers NOT_FOUND
   */
  readonly cleanup?: (options: { maxDurationMs?: number; maxPartitions?: number }) => Promise<unknown>;
}

/**
 * Routes of the local gateway only, outside the route table (API Gateway has none of them): `GET /`
 * says what this is, `GET /health` answers while the server is up (no token needed for either: they
 * tell nothing), and `POST /local/cleanup` runs a cleanup pass on the embedded storage.
 */
export const LOCAL_ROUTES = ['GET /', 'GET /health', 'POST /local/cleanup'] as const;

function jsonResult(statusCode: number, value: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function cleanupOptions(body: Buffer): { maxDurationMs?: number; maxPartitions?: number } {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SluiceError('INVALID_REQUEST', 'the body must be JSON: {"maxDurationMs"?, "maxPartitions"?}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SluiceError(
      'INVALID_REQUEST',
      'the body must be a JSON object: {"maxDurationMs"?, "maxPartitions"?}',
    );
  }
  const options: { maxDurationMs?: number; maxPartitions?: number } = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name !== 'maxDurationMs' && name !== 'maxPartitions') {
      throw new SluiceError(
        'INVALID_REQUEST',
        `unknown field ${JSON.stringify(name)}: expected maxDurationMs or maxPartitions`,
      );
    }
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new SluiceError(
        'INVALID_REQUEST',
        `${name} must be an integer ≥ 1, but ${JSON.stringify(value)} was provided`,
      );
    }
    options[name] = value as number;
  }
  return options;
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

/** Why a request was refused: a missing header, a header that is not a bearer token, or the wrong token. */
function unauthorizedMessage(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    return 'this server requires Authorization: Bearer <token> (the SLUICE_TOKEN it was started with); the request has no Authorization header';
  }
  if (!/^Bearer\s+\S/i.test(header.trim())) {
    return 'the Authorization header must be "Bearer <token>" (the SLUICE_TOKEN this server was started with)';
  }
  return 'the bearer token is wrong: it does not match the SLUICE_TOKEN this server was started with';
}

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Query pairs as API Gateway passes them: percent-decoded, `+` kept as `+` (no form decoding). */
function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq === -1
        ? [decodeLenient(pair), '']
        : [decodeLenient(pair.slice(0, eq)), decodeLenient(pair.slice(eq + 1))];
    });
}

/** The proxy event API Gateway builds for a request that matched `route`. */
export function buildProxyEvent(
  req: {
    method: string;
    rawPath: string;
    rawQuery: string;
    headers: IncomingMessage['headersDistinct'];
    body: Buffer;
  },
  route: Route,
  params: Record<string, string>,
  requestId: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headers)) {
    if (values === undefined) continue;
    headers[name] = values.at(-1)!;
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of parseQuery(req.rawQuery)) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const hasQuery = Object.keys(query).length > 0;
  const binary = isBinaryMediaType(headers['content-type']);
  const body =
    req.body.length === 0 ? null : binary ? req.body.toString('base64') : req.body.toString('utf8');
  return {
    resource: route.path,
    path: req.rawPath,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(params).length > 0 ? params : null,
    stageVariables: null,
    body,
    isBase64Encoded: body !== null && binary,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: undefined,
      httpMethod: req.method,
      identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      path: req.rawPath,
      protocol: 'HTTP/1.1',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
      stage: 'local',
    },
  };
}

function send(
  res: ServerResponse,
  result: APIGatewayProxyResult,
  accept: string | undefined,
  requestId: string,
): number {
  const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  // API Gateway decodes a base64 answer only for a client whose first Accept type is binary.
  const body =
    result.isBase64Encoded && isBinaryMediaType(accept)
      ? Buffer.from(result.body, 'base64')
      : Buffer.from(result.body, 'utf8');
  if (result.statusCode !== 204 && result.statusCode !== 304) headers['content-length'] = String(body.length);
  res.writeHead(result.statusCode, headers);
  res.end(result.statusCode === 204 ? undefined : body);
  return body.length;
}

/** The answer of a local-only route, or undefined for a request the route table serves. */
async function localRoute(
  method: string,
  rawPath: string,
  req: IncomingMessage,
  options: GatewayOptions,
  maxBody: number,
): Promise<APIGatewayProxyResult | undefined> {
  if (method === 'GET' && rawPath === '/') {
    return jsonResult(200, {
      service: 'sluice',
      description: 'A serverless, Kafka-style event log: this is the local stack (sluice dev)',
      api: '/v1 (see docs/openapi.yaml)',
      routes: ROUTES.map((r) => `${r.method} ${r.path}`),
      localRoutes: LOCAL_ROUTES,
    });
  }
  if (method === 'GET' && rawPath === '/health') return jsonResult(200, { status: 'ok' });
  if (options.token !== undefined && !authorized(req.headers.authorization, options.token)) {
    throw new SluiceError('UNAUTHORIZED', unauthorizedMessage(req.headers.authorization));
  }
  if (rawPath !== '/local/cleanup' || options.cleanup === undefined) return undefined;
  if (method !== 'POST') {
    throw new SluiceError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${rawPath} (allowed: POST)`, {
      details: { allowed: ['POST'] },
    });
  }
  return jsonResult(200, await options.cleanup(cleanupOptions(await readBody(req, maxBody))));
}

/** An http.Server serving the route table through the given Lambda handlers. */
export function createGateway(options: GatewayOptions): Server {
  const maxBody = options.maxBodyBytes ?? API_LIMITS.maxGatewayBodyBytes;
  return createServer(async (req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    let status = 500;
    let bytes = 0;
    try {
      let result: APIGatewayProxyResult;
      try {
        const local = await localRoute(method, rawPath, req, options, maxBody);
        if (local !== undefined) result = local;
        else {
          const { route, params } = matchRoute(method, rawPath);
          const body = await readBody(req, maxBody);
          const event = buildProxyEvent(
            { method, rawPath, rawQuery, headers: req.headersDistinct, body },
            route,
            params,
            requestId,
          );
          result = await options.handlers[route.function](event);
        }
      } catch (caught) {
        let err = caught;
        if (err instanceof BodyTooLargeError) {
          res.setHeader('connection', 'close');
          err = new SluiceError('MESSAGE_TOO_LARGE', `the request body must be ≤ ${maxBody} bytes`, {
            details: { limit: maxBody },
          });
        }
        result = toProxyResult(errorResponse(err, requestId));
        if (err instanceof SluiceError && err.code === 'UNAUTHORIZED') {
          result.headers = { ...result.headers, 'www-authenticate': 'Bearer' };
        }
      }
      status = result.statusCode;
      bytes = send(res, result, req.headers.accept, requestId);
    } catch (err) {
      res.destroy(err as Error);
    }
    options.log?.(
      `${new Date().toISOString()} ${method} ${rawPath}${rawQuery ? `?${rawQuery}` : ''} ${status} ${bytes}B ${Math.round(performance.now() - started)}ms`,
    );
  });
}
