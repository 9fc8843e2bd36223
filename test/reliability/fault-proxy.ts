/**
 * A fault-injecting HTTP proxy on loopback (a small node:http server of our own). It sits in front of
 * dynalite and s3rver (the AWS SDK of the stack talks to it as its one endpoint; DynamoDB requests are
 * told apart by their X-Amz-Target header), or in front of the local stack's API. A policy decides for
 * each request: pass it, answer an error without forwarding it (503 SlowDown, 500, DynamoDB
 * throttling), reset the connection before forwarding it, forward it and reset the connection instead
 * of answering (the request was applied, the response is lost), delay it, or cut the answer's body
 * short.
 */

import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | { readonly kind: 'pass' }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly body: string;
      readonly contentType: string;
      readonly name: string;
    }
  | { readonly kind: 'reset-before' }
  | { readonly kind: 'reset-after' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'truncate' };

export interface ProxiedRequest {
  readonly service: 'dynamodb' | 's3' | 'api';
  /** DynamoDB: UpdateItem, PutItem…; S3: PutObject, GetObject…; API: `POST /v1/produce`. */
  readonly operation: string;
  readonly method: string;
  readonly path: string;
}

export type FaultPolicy = (request: ProxiedRequest) => FaultAction;

const PASS: FaultAction = { kind: 'pass' };

/** Errors as the real services answer them. */
export const FAULTS = {
  dynamoThrottle: {
    kind: 'error',
    name: 'ddb-throttle',
    status: 400,
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    }),
  },
  dynamo500: {
    kind: 'error',
    name: 'ddb-500',
    status: 500,
    contentType: 'application/x-amz-json-1.0',
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error',
    }),
  },
  s3SlowDown: {
    kind: 'error',
    name: 's3-503',
    status: 503,
    contentType: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
  },
  s3Internal: {
    kind: 'error',
    name: 's3-500',
    status: 500,
    contentType: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
  },
  api503: {
    kind: 'error',
    name: 'api-503',
    status: 503,
    contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'STORAGE_UNAVAILABLE', message: 'injected by the fault proxy' } }),
  },
} as const satisfies Record<string, FaultAction>;

function s3Operation(method: string, path: string, query: string): string {
  const segments = path.split('/').filter(Boolean);
  const object = segments.length > 1;
  if (method === 'PUT') return object ? 'PutObject' : 'CreateBucket';
  if (method === 'GET')
    return object ? 'GetObject' : query.includes('list-type') ? 'ListObjectsV2' : 'ListObjects';
  if (method === 'HEAD') return object ? 'HeadObject' : 'HeadBucket';
  if (method === 'DELETE') return object ? 'DeleteObject' : 'DeleteBucket';
  if (method === 'POST' && query.includes('delete')) return 'DeleteObjects';
  return `${method} ${object ? 'object' : 'bucket'}`;
}

function describe(req: IncomingMessage, api: boolean): ProxiedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  const method = req.method ?? 'GET';
  if (api) return { service: 'api', operation: `${method} ${path}`, method, path };
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    return { service: 'dynamodb', operation: target.split('.').pop() ?? target, method, path };
  }
  return { service: 's3', operation: s3Operation(method, path, query), method, path };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultProxyTargets {
  /** Where DynamoDB requests go (with `s3`), or everything (an API proxy). */
  readonly dynamodb?: string;
  readonly s3?: string;
  readonly api?: string;
}

export class FaultProxy {
  /** The policy in force; undefined passes everything. */
  policy: FaultPolicy | undefined;
  /** Faults injected, by `kind operation`. */
  readonly injected = new Map<string, number>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  get total(): number {
    let n = 0;
    for (const v of this.injected.values()) n += v;
    return n;
  }

  static async start(targets: FaultProxyTargets): Promise<FaultProxy> {
    const api = targets.api !== undefined;
    let proxy: FaultProxy | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => res.destroy());
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        const info = describe(req, api);
        const target = new URL(
          api ? targets.api! : info.service === 'dynamodb' ? targets.dynamodb! : targets.s3!,
        );
        let action = PASS;
        try {
          action = proxy?.policy?.(info) ?? PASS;
        } catch {
          action = PASS;
        }
        if (action.kind !== 'pass') {
          const name = `${action.kind === 'error' ? action.name : action.kind} ${info.operation}`;
          proxy!.injected.set(name, (proxy!.injected.get(name) ?? 0) + 1);
        }
        if (action.kind === 'error') {
          res.writeHead(action.status, {
            'content-type': action.contentType,
            'content-length': String(Buffer.byteLength(action.body)),
            'x-amzn-requestid': 'fault-proxy',
          });
          res.end(action.body);
          return;
        }
        if (action.kind === 'reset-before') {
          req.socket.destroy();
          return;
        }
        if (action.kind === 'delay') await sleep(action.ms);
        const upstream = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('error', () => res.destroy());
            answer.on('end', () => {
              const bytes = Buffer.concat(parts);
              if (action.kind === 'reset-after') {
                // Applied upstream; the caller never hears of it.
                req.socket.destroy();
                return;
              }
              const headers = { ...answer.headers };
              if (action.kind === 'truncate' && bytes.length > 1) {
                headers['content-length'] = String(bytes.length);
                delete headers['transfer-encoding'];
                res.writeHead(answer.statusCode ?? 502, headers);
                res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.destroy());
                return;
              }
              delete headers['transfer-encoding'];
              headers['content-length'] = String(bytes.length);
              res.writeHead(answer.statusCode ?? 502, headers);
              res.end(bytes);
            });
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
