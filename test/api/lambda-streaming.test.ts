import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResult, LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../client';
import { encodeFetchRequest } from '../../shared/api/framing';
import { createLambdaHandler, createStreamingLambdaHandler } from '../../shared/api/lambda';
import { createServices, type Services } from '../../shared/api/services';
import { createTopic, startTestStack, type TestStack } from './support';

/** A function URL event (payload v2), as Lambda delivers it. */
function urlEvent(
  method: string,
  rawPath: string,
  options: { query?: string; headers?: Record<string, string>; body?: Buffer } = {},
): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: options.query ?? '',
    headers: { host: 'abc.lambda-url.eu-west-1.on.aws', ...(options.headers ?? {}) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-stream',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:12:00:00 +0000',
      timeEpoch: 1_796_300_000_000,
    },
    ...(options.body
      ? { body: options.body.toString('base64'), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  } as LambdaFunctionURLEvent;
}

/** What Lambda's runtime receives from a streaming handler: the prelude, then the body's chunks. */
function capture() {
  const chunks: Buffer[] = [];
  let prelude: { statusCode: number; headers: Record<string, string> } | undefined;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return {
    sink,
    from: (stream: Writable, p: { statusCode: number; headers: Record<string, string> }) => {
      prelude = p;
      return stream;
    },
    result: () => ({ prelude: prelude!, body: Buffer.concat(chunks), writes: chunks.length }),
  };
}

const bodyOf = (r: APIGatewayProxyResult) => Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');

let stack: TestStack;
let services: Services;
let topic: string;
const logger = new Logger({ logLevel: 'SILENT' });

beforeAll(async () => {
  stack = await startTestStack();
  services = createServices(stack.config, stack.clients);
  topic = await createTopic(stack.url, 2);
  const producer = new Sluice({ endpoint: stack.url }).producer({ profile: 'latency', compression: 'none' });
  await producer.send({
    topic,
    messages: Array.from({ length: 2000 }, (_, i) => ({
      key: `k${i % 13}`,
      value: `record ${i} ${'x'.repeat(100)}`,
    })),
  });
  await producer.disconnect();
});

afterAll(async () => {
  await stack?.stop();
});

describe('Function: createStreamingLambdaHandler', () => {
  const buffered = () => createLambdaHandler('fetch', { services: () => services, logger, metrics: null });
  const streaming = (from: ReturnType<typeof capture>['from']) =>
    createStreamingLambdaHandler('fetch', {
      services: () => services,
      logger,
      metrics: null,
      httpResponseStream: from,
    });

  const cases: [string, () => LambdaFunctionURLEvent][] = [
    [
      'POST /v1/fetch (binary framing, two partitions)',
      () =>
        urlEvent('POST', '/v1/fetch', {
          headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
          body: encodeFetchRequest({
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes: 4 * 1024 * 1024,
            partitions: [
              { topic, partition: 0, offset: 0, maxBytes: 1024 * 1024 },
              { topic, partition: 1, offset: 0, maxBytes: 1024 * 1024 },
            ],
          }),
        }),
    ],
    [
      'GET batches of one partition',
      () =>
        urlEvent('GET', `/v1/topics/${topic}/partitions/0/batches`, {
          query: 'offset=0',
          headers: { accept: 'application/vnd.kafka.record-batch' },
        }),
    ],
    [
      'GET records as JSON',
      () => urlEvent('GET', `/v1/topics/${topic}/partitions/1/records`, { query: 'offset=3&maxRecords=50' }),
    ],
    [
      'an error: unknown topic',
      () => urlEvent('GET', '/v1/topics/no-such-topic/partitions/0/batches', { query: 'offset=0' }),
    ],
  ];

  for (const [name, make] of cases) {
    it(`streams the same status, headers and bytes as the buffered handler: ${name}`, async () => {
      // Prepare
      const event = make();
      const c = capture();

      // Act
      const expected = await buffered()(event);
      await streaming(c.from)(event, c.sink);

      // Assess
      const got = c.result();
      expect(got.prelude.statusCode).toBe(expected.statusCode);
      expect(got.prelude.headers).toEqual(expected.headers);
      expect(got.body.equals(bodyOf(expected))).toBe(true);
      if (got.body.length > 64 * 1024) expect(got.writes).toBeGreaterThan(1); // written in chunks, not held whole
    });
  }

  it('is exported by functions/fetch.ts as streamHandler, beside the buffered handler', async () => {
    const mod = (await import('../../functions/fetch')) as { handler: unknown; streamHandler: unknown };
    expect(mod.handler).toBeTypeOf('function');
    expect(mod.streamHandler).toBeTypeOf('function');
  });

  it('serves only its own function routes, as the buffered handler', async () => {
    const c = capture();
    await streaming(c.from)(urlEvent('POST', '/v1/produce', { body: Buffer.from('x') }), c.sink);
    expect(c.result().prelude.statusCode).toBe(404);
  });

  it('the buffered handler takes function URL events (produce through its URL in BUFFERED mode)', async () => {
    const handler = createLambdaHandler('admin', { services: () => services, logger, metrics: null });
    const res = await handler(urlEvent('GET', `/v1/topics/${topic}`));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ name: topic, partitionCount: 2 });
  });
});
