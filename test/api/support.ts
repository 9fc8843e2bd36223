import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { crc32c } from '../../shared/codec/crc32c';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../shared/local/stack';
import { type AwsClients, createAwsClients } from '../../shared/store/aws-clients';
import { startedForAll } from '../support/lifecycle';

export interface TestStack extends LocalStack {
  readonly clients: AwsClients;
}

/**
 * The local stack in-process: ephemeral port, in memory, silent. Its emulators run in this process too
 * (`emulators: 'inline'`): measured on the shared 2-core machine, suites ran slower with them in child
 * processes (14 s → 26 s of test time for the consumer and groups suites under load), as every call
 * then waits for another process to be scheduled. test/api/stack-emulators.test.ts covers the
 * arrangement `npm start` uses.
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack({
    port: 0,
    inMemory: true,
    quiet: true,
    env: {},
    emulators: 'inline',
    ...options,
  });
  const clients = createAwsClients(stack.config);
  return {
    ...stack,
    clients,
    async stop() {
      clients.s3.destroy();
      clients.dynamo.destroy();
      await stack.stop();
    },
  };
}

/** The test stack for the enclosing describe or file: started before its tests, stopped after them. */
export function testStackForAll(options: LocalStackOptions = {}): TestStack {
  return startedForAll(
    () => startTestStack(options),
    (stack) => stack.stop(),
  );
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
  json(): any;
}

/**
 * A raw HTTP request: the path goes on the wire exactly as given (fetch() would normalise `..` and
 * percent-encoding away), and the body as bytes.
 */
export function http(
  base: string,
  method: string,
  path: string,
  options: { body?: Buffer | string | object; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const url = new URL(base);
  let body: Buffer | undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (Buffer.isBuffer(options.body) || typeof options.body === 'string') body = Buffer.from(options.body);
  else if (options.body !== undefined) {
    body = Buffer.from(JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
  }
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: buf,
          json: () => JSON.parse(buf.toString('utf8')),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const uniqueName = (prefix = 't') => `${prefix}-${randomBytes(4).toString('hex')}`;

export async function createTopic(base: string, partitions = 1, name = uniqueName()): Promise<string> {
  const res = await http(base, 'POST', '/v1/topics', { body: { name, partitions } });
  expect(res.status, res.body.toString()).toBe(201);
  return name;
}

/** Each partition's high-water mark and the number of objects in the bucket: what bad input must not change. */
export async function storageSnapshot(stack: TestStack, topic: string) {
  const res = await http(stack.url, 'GET', `/v1/topics/${topic}`);
  expect(res.status).toBe(200);
  const objects = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket }));
  return {
    highWatermarks: (res.json().partitions as { highWatermark: number }[]).map((p) => p.highWatermark),
    objects: objects.KeyCount ?? 0,
  };
}

/** Runs `act`, expects the error status and code, and that nothing was written. */
export async function expectRejected(
  stack: TestStack,
  topic: string,
  act: () => Promise<HttpResult>,
  status: number,
  code: string | readonly string[],
): Promise<HttpResult> {
  const before = await storageSnapshot(stack, topic);
  const res = await act();
  const text = res.body.toString();
  expect(res.status, text).toBe(status);
  const codes = typeof code === 'string' ? [code] : code;
  expect(codes, text).toContain(res.json().error.code);
  expect(typeof res.json().error.message).toBe('string');
  expect(await storageSnapshot(stack, topic)).toEqual(before);
  return res;
}

/** Recomputes a batch's CRC-32C after a test edited bytes it covers, so only the edit is wrong. */
export function resign(batch: Buffer, at = 0): Buffer {
  const size = batch.readInt32BE(at + 8) + 12;
  batch.writeUInt32BE(crc32c(batch, at + 21, at + size), at + 17);
  return batch;
}

export const RECORD_BATCH = { 'content-type': 'application/vnd.kafka.record-batch' };
export const ACCEPT_BATCH = { accept: 'application/vnd.kafka.record-batch' };
export const OCTET = { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' };
