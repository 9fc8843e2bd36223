import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RetryEvent, Sluice, SluiceError } from '../../client';
import { backoffMs, resolveRetry, withRetry } from '../../client/retry';
import { errorFromResponse, isLoopback, regionOfHost, Transport } from '../../client/transport';
import { startTestStack, type TestStack } from './support';

describe('Module: retry', () => {
  it('waits a random time up to the exponential ceiling (full jitter)', () => {
    const retry = resolveRetry({ initialRetryTimeMs: 100, maxRetryTimeMs: 5_000 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (attempt, r) => {
          const delay = backoffMs(retry, attempt, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(5_000, 100 * 2 ** attempt));
        },
      ),
    );
  });

  it('retries retriable errors only, and stops at the count', async () => {
    let calls = 0;
    const throttled = () => {
      calls++;
      return Promise.reject(new SluiceError('THROTTLED'));
    };
    await expect(withRetry(throttled, { retries: 3, initialRetryTimeMs: 1 })).rejects.toMatchObject({
      code: 'THROTTLED',
    });
    expect(calls).toBe(4);
    calls = 0;
    const invalid = () => {
      calls++;
      return Promise.reject(new SluiceError('INVALID_TOPIC'));
    };
    await expect(withRetry(invalid, { retries: 3 })).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
    expect(calls).toBe(1);
  });
});

describe('Class: Transport', () => {
  describe('Method: request (auth)', () => {
    it('signs with SigV4 for execute-api when the endpoint is not loopback', async () => {
      const requests: { url: string; headers: Headers }[] = [];
      const fakeFetch = (async (url: URL, init: RequestInit) => {
        requests.push({ url: url.toString(), headers: new Headers(init.headers) });
        return new Response(JSON.stringify({ topics: [] }), {
          headers: { 'content-type': 'application/json' },
        });
      }) as unknown as typeof fetch;
      const sluice = new Sluice(
        {
          endpoint: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' },
          fetch: fakeFetch,
        },
        {},
      );

      await sluice.admin().listTopics();

      expect(requests).toHaveLength(1);
      const { url, headers } = requests[0]!;
      expect(url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/topics');
      expect(headers.get('authorization')).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(headers.get('x-amz-date')).toMatch(/^\d{8}T\d{6}Z$/);
      expect(headers.get('x-amz-security-token')).toBe('session');
    });

    it('does not sign loopback endpoints, and needs a region elsewhere', () => {
      expect(isLoopback('127.0.0.1')).toBe(true);
      expect(isLoopback('localhost')).toBe(true);
      expect(isLoopback('[::1]')).toBe(true);
      expect(isLoopback('example.com')).toBe(false);
      expect(regionOfHost('x.execute-api.us-east-2.amazonaws.com')).toBe('us-east-2');
      expect(new Transport({ endpoint: 'http://127.0.0.1:8092' }).signs).toBe(false);
      const saved = { r: process.env.AWS_REGION, d: process.env.AWS_DEFAULT_REGION };
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      try {
        expect(() => new Transport({ endpoint: 'https://sluice.example.com' })).toThrow(/region is required/);
      } finally {
        if (saved.r !== undefined) process.env.AWS_REGION = saved.r;
        if (saved.d !== undefined) process.env.AWS_DEFAULT_REGION = saved.d;
      }
    });

    describe('against a stack that requires a bearer token', () => {
      let stack: TestStack;
      beforeAll(async () => {
        stack = await startTestStack({ token: 's3cret' });
      });
      afterAll(async () => {
        await stack?.stop();
      });

      it('sends SLUICE_TOKEN as a bearer token, and surfaces UNAUTHORIZED without it', async () => {
        const withToken = new Sluice({ endpoint: stack.url }, { SLUICE_TOKEN: 's3cret' });
        expect(await withToken.admin().listTopics()).toEqual([]);

        const without = new Sluice({ endpoint: stack.url }, {});
        const err = await without
          .admin()
          .listTopics()
          .catch((e) => e);
        expect(err).toBeInstanceOf(SluiceError);
        expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401, retriable: false });
      });
    });
  });

  describe('Method: request (errors)', () => {
    it('maps answers that are not Sluice errors by their status', () => {
      const gateway = errorFromResponse(
        'GET',
        '/v1/topics',
        502,
        Buffer.from('{"message": "Internal server error"}'),
        {},
      );
      expect(gateway).toMatchObject({ code: 'NETWORK_EXCEPTION', retriable: true });
      expect(gateway.message).toBe('HTTP 502 from GET /v1/topics: Internal server error');
      const sluice = errorFromResponse(
        'GET',
        '/x',
        416,
        Buffer.from('{"error":{"code":"OFFSET_OUT_OF_RANGE","message":"m","highWatermark":5}}'),
        {},
      );
      expect(sluice).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', message: 'm' });
      expect(sluice.details.highWatermark).toBe(5);
      expect(errorFromResponse('GET', '/x', 429, Buffer.from('slow down'), {})).toMatchObject({
        code: 'THROTTLED',
        retriable: true,
      });
    });

    it('retries a retriable answer, then succeeds; a refused connection is a typed error', async () => {
      let calls = 0;
      const server = createServer((_req, res) => {
        calls++;
        if (calls < 3) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'STORAGE_UNAVAILABLE', message: 'try again' } }));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"topics":[]}');
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const retries: RetryEvent[] = [];
      const transport = new Transport({
        endpoint: `http://127.0.0.1:${port}`,
        retry: { initialRetryTimeMs: 5 },
        onRetry: (event) => retries.push(event),
      });
      expect(await transport.json('GET', '/v1/topics')).toEqual({ topics: [] });
      expect(calls).toBe(3);
      // Each retry is reported before its backoff, with the answer that caused it
      expect(retries.map((r) => [r.method, r.path, r.retry, r.error.code, r.error.details.status])).toEqual([
        ['GET', '/v1/topics', 1, 'STORAGE_UNAVAILABLE', 503],
        ['GET', '/v1/topics', 2, 'STORAGE_UNAVAILABLE', 503],
      ]);
      for (const r of retries) expect(r.delayMs).toBeLessThan(5 * 2 ** r.retry);
      transport.close();
      await new Promise((r) => server.close(r));

      const refused: RetryEvent[] = [];
      const dead = new Transport({
        endpoint: `http://127.0.0.1:${port}`,
        retry: { retries: 1, initialRetryTimeMs: 5 },
        // An observer that throws changes nothing about the request.
        onRetry: (event) => {
          refused.push(event);
          throw new Error('observer failed');
        },
      });
      const err = (await dead.json('GET', '/v1/topics').catch((e: unknown) => e)) as SluiceError;
      expect(err).toMatchObject({ code: 'REQUEST_TIMED_OUT', details: { network: 'ECONNREFUSED' } });
      expect(err.message).toMatch(/cannot connect to http:\/\/127\.0\.0\.1/);
      expect(refused.map((r) => r.error.details.network)).toEqual(['ECONNREFUSED']);
    });

    it('gives up after its deadline', async () => {
      const server = createServer(() => undefined); // never answers
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const transport = new Transport({ endpoint: `http://127.0.0.1:${port}`, requestTimeoutMs: 100 });
      const started = Date.now();
      const err = await transport
        .json('GET', '/v1/topics', undefined, { retry: false })
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(10_000); // it gives up rather than hang (not a speed check)
      expect(err).toMatchObject({ code: 'REQUEST_TIMED_OUT', details: { network: 'ETIMEDOUT' } });
      transport.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
  });
});
