import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { lz4Implementation, useLz4Implementation } from '../../shared/codec/lz4';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { spawnSluiceDev, storageEnvironment } from '../support/environment';
import { ACCEPT_BATCH, createTopic, http, startTestStack, uniqueName } from './support';

const temporary: string[] = [];
afterAll(async () => {
  useLz4Implementation('auto');
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-'));
  temporary.push(dir);
  return dir;
}

describe('Function: startLocalStack', () => {
  it('keeps topics and records across a restart on the same data folder', async () => {
    // Prepare
    const dataDir = await tempDir();
    const first = await startTestStack({ dataDir, inMemory: false });
    const topic = await createTopic(first.url, 2);
    const produced = await http(first.url, 'POST', `/v1/topics/${topic}/records`, {
      body: {
        records: [
          { key: 'k', value: 'kept' },
          { value: 'also kept', partition: 1 },
        ],
      },
    });
    expect(produced.status).toBe(200);
    const { partition } = produced.json().offsets[0];
    await first.stop();
    // Act
    const second = await startTestStack({ dataDir, inMemory: false });
    try {
      // Assess
      expect(second.url).not.toBe('');
      const described = await http(second.url, 'GET', `/v1/topics/${topic}`);
      expect(described.status).toBe(200);
      const read = await http(
        second.url,
        'GET',
        `/v1/topics/${topic}/partitions/${partition}/records?offset=0`,
      );
      expect(read.json().records[0]).toMatchObject({ offset: 0, key: 'k', value: 'kept' });
      const more = await http(second.url, 'POST', `/v1/topics/${topic}/records`, {
        body: { records: [{ value: 'x', partition: 1 }] },
      });
      expect(more.json().offsets).toEqual([{ partition: 1, offset: 1 }]);
    } finally {
      await second.stop();
    }
  });

  it('requires the bearer token when one is set, before any handler runs', async () => {
    const stack = await startTestStack({ token: 's3cret' });
    try {
      const none = await http(stack.url, 'GET', '/v1/topics');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expect(none.json().error.code).toBe('UNAUTHORIZED');
      const wrong = await http(stack.url, 'GET', '/v1/topics', { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      // Even a bad request is refused as unauthenticated first: nothing reaches validation.
      const bad = await http(stack.url, 'POST', '/v1/topics', { body: { name: '..' } });
      expect(bad.status).toBe(401);
      const ok = await http(stack.url, 'GET', '/v1/topics', { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  it('produces JSON records with the pure-JS lz4 (no native addon), readable by any path', async () => {
    useLz4Implementation('js');
    expect(lz4Implementation()).toBe('js');
    const stack = await startTestStack();
    try {
      const topic = await createTopic(stack.url, 1);
      const value = 'lambda '.repeat(500);
      const produced = await http(stack.url, 'POST', `/v1/topics/${topic}/records`, {
        body: { records: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value, partition: 0 })) },
      });
      expect(produced.status).toBe(200);
      const raw = await http(stack.url, 'GET', `/v1/topics/${topic}/partitions/0/batches?offset=0`, {
        headers: ACCEPT_BATCH,
      });
      expect(raw.body.readInt16BE(21) & 7).toBe(3); // lz4
      expect(raw.body.length).toBeLessThan((50 * value.length) / 10);
      useLz4Implementation('auto');
      const { batches } = decodeRecordBatches(raw.body);
      expect(batches[0]!.records.map((r) => r.value?.toString())).toEqual(Array(50).fill(value));
    } finally {
      useLz4Implementation('auto');
      await stack.stop();
    }
  });
});

describe('Bundle: functions/produce.ts as Lambda runs it', () => {
  it('serves JSON produce from an esbuild bundle where the native lz4 addon cannot load', async () => {
    // Prepare: bundle the handler alone into a folder with no node_modules, as NodejsFunction does.
    const { build } = await import('esbuild');
    const dir = await tempDir();
    const outfile = join(dir, 'index.mjs');
    await build({
      entryPoints: [resolve('functions/produce.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      external: ['lz4'],
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
      logLevel: 'silent',
    });
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    expect(() => createRequire(outfile).resolve('lz4')).toThrow();
    const stack = await startTestStack();
    const saved = { ...process.env };
    try {
      const topic = await createTopic(stack.url, 3);
      Object.assign(process.env, {
        ...storageEnvironment(stack.config),
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      });
      const { handler } = (await import(pathToFileURL(outfile).href)) as {
        handler: (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
      };
      // Act
      const result = await handler({
        resource: '/v1/topics/{topic}/records',
        path: `/v1/topics/${topic}/records`,
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json' },
        multiValueHeaders: {},
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        pathParameters: { topic },
        stageVariables: null,
        body: JSON.stringify({ records: [{ key: 'user-1', value: 'from the bundle '.repeat(20) }] }),
        isBase64Encoded: false,
        requestContext: { requestId: uniqueName('req') } as APIGatewayProxyEvent['requestContext'],
      } as APIGatewayProxyEvent);
      // Assess
      expect(result.statusCode, result.body).toBe(200);
      const [{ partition, offset }] = JSON.parse(result.body).offsets;
      const raw = await http(
        stack.url,
        'GET',
        `/v1/topics/${topic}/partitions/${partition}/batches?offset=${offset}`,
        {
          headers: ACCEPT_BATCH,
        },
      );
      expect(raw.body.readInt16BE(21) & 7).toBe(3);
      const read = await http(
        stack.url,
        'GET',
        `/v1/topics/${topic}/partitions/${partition}/records?offset=${offset}`,
      );
      expect(read.json().records[0].value).toBe('from the bundle '.repeat(20));
    } finally {
      process.env = saved;
      await stack.stop();
    }
  });
});

describe('Command: sluice dev', () => {
  it('prints the URL when ready, logs one line per request and stops cleanly on SIGINT', async () => {
    const child = spawnSluiceDev(['--in-memory', '--port', '0', '--kafka-port', '0']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      const url = await new Promise<string>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`not ready: ${out}`)), 30_000);
        child.stdout.on('data', () => {
          const match = /ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            done(match[1]!);
          }
        });
      });
      expect((await http(url, 'GET', '/v1/topics')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/GET \/v1\/topics 200 \d+B \d+ms/);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toContain('SIGINT: stopping');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
