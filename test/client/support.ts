import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sluice, type SluiceConfig } from '../../client';
import { startTestStack, type TestStack, testStackForAll, uniqueName } from '../api/support';
import { startedForAll } from '../support/lifecycle';

export { startTestStack, type TestStack, uniqueName };

export interface Seen {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly body: Buffer;
  readonly status: number;
}

/** What the proxy does with a request: pass it on, answer it itself, or pass it on and lose the answer. */
export type Fault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'answer'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'lose-answer' }
  | { readonly kind: 'delay'; readonly ms: number };

export interface LoopbackProxy {
  readonly url: string;
  readonly seen: Seen[];
  /** Decides each request's fate; default: pass. */
  fault: (req: { method: string; path: string; index: number }) => Fault;
  requests(method: string, pathPrefix: string): Seen[];
  close(): Promise<void>;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * A loopback HTTP proxy in front of the local stack: it records every request (bytes on the wire as the
 * client sent them) and can inject faults, including the worst one for a producer: the request is
 * applied by the server but its answer never reaches the client.
 */
export async function startProxy(target: string): Promise<LoopbackProxy> {
  const to = new URL(target);
  const seen: Seen[] = [];
  let index = 0;
  const proxy: LoopbackProxy = {
    url: '',
    seen,
    fault: () => ({ kind: 'pass' }),
    requests: (method, prefix) => seen.filter((s) => s.method === method && s.path.startsWith(prefix)),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const body = await readAll(req);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const fault = proxy.fault({ method, path, index: index++ });
    const record = (status: number) =>
      seen.push({
        method,
        path,
        contentType: req.headers['content-type'],
        accept: req.headers.accept,
        body,
        status,
      });
    if (fault.kind === 'answer') {
      record(fault.status);
      const out = Buffer.from(JSON.stringify(fault.body));
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': out.length });
      res.end(out);
      return;
    }
    if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    const headers = { ...req.headers, host: to.host };
    const upstream = httpRequest({ host: to.hostname, port: to.port, method, path, headers }, async (up) => {
      const answer = await readAll(up);
      record(up.statusCode ?? 0);
      if (fault.kind === 'lose-answer') {
        res.destroy();
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      res.end(answer);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/**
 * The local stack and a loopback proxy in front of it, for the enclosing describe or file: started
 * before its tests, the proxy closed and the stack stopped after them.
 */
export function stackBehindProxyForAll(): { readonly stack: TestStack; readonly proxy: LoopbackProxy } {
  const stack = testStackForAll();
  const proxy = startedForAll(
    () => startProxy(stack.url),
    (p) => p.close(),
  );
  return { stack, proxy };
}

/** A client whose retries are quick, for tests. */
export function client(endpoint: string, config: SluiceConfig = {}): Sluice {
  return new Sluice(
    { endpoint, retry: { initialRetryTimeMs: 20, maxRetryTimeMs: 200, maxElapsedMs: 10_000 }, ...config },
    {},
  );
}

export async function createTopic(sluice: Sluice, partitions: number, name = uniqueName()): Promise<string> {
  const admin = sluice.admin();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }] });
  await admin.disconnect();
  return name;
}

export function waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}
