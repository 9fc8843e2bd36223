import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { binary, json } from '../../shared/api/http';
import { createLambdaHandler } from '../../shared/api/lambda';
import { OPERATIONS, type Operation } from '../../shared/api/operations';
import { FUNCTION_NAMES, ROUTES } from '../../shared/api/routes';
import type { Services } from '../../shared/api/services';
import { SluiceError } from '../../shared/errors';

const event = (overrides: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent =>
  ({
    resource: '/v1/topics/{topic}',
    path: '/v1/topics/orders',
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { topic: 'orders' },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' } as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  }) as APIGatewayProxyEvent;

const services = () => ({}) as Services;
const logger = new Logger({ logLevel: 'SILENT' });
const handlerWith = (fn: (typeof FUNCTION_NAMES)[number], operations: Record<string, Operation>) =>
  createLambdaHandler(fn, { services, logger, metrics: null, operations: { ...OPERATIONS, ...operations } });

describe('Function: createLambdaHandler', () => {
  it('has an operation for every route of the table, and an entry file per function', async () => {
    for (const route of ROUTES) expect(OPERATIONS[route.operation], route.operation).toBeTypeOf('function');
    for (const fn of FUNCTION_NAMES) {
      const mod = (await import(`../../functions/${fn}.ts`)) as { handler: unknown };
      expect(mod.handler, fn).toBeTypeOf('function');
    }
  });

  it('dispatches by resource and method, passing decoded params, query, lower-case headers and the body', async () => {
    // Prepare
    const seen = vi.fn<Operation>(async (req) => json(200, { ok: true, echo: req.body.toString() }));
    const handler = handlerWith('admin', { describeTopic: seen });
    // Act
    const result = await handler(
      event({
        headers: { 'X-Thing': 'a' },
        multiValueQueryStringParameters: { q: ['1', '2'] },
        queryStringParameters: { q: '2' },
        body: 'hello',
      }),
    );
    // Assess
    expect(result).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true,"echo":"hello"}',
    });
    const req = seen.mock.calls[0]![0];
    expect(req.params).toEqual({ topic: 'orders' });
    expect(req.query).toEqual({ q: ['1', '2'] });
    expect(req.headers['x-thing']).toBe('a');
    expect(req.requestId).toBe('req-1');
  });

  it('decodes base64 bodies and base64-encodes binary answers', async () => {
    const handler = handlerWith('produce', {
      produceBatches: async (req) =>
        binary(200, Buffer.concat([req.body, Buffer.from([0xff])]), 'application/octet-stream'),
    });
    const result = await handler(
      event({
        resource: '/v1/topics/{topic}/partitions/{partition}/batches',
        path: '/v1/topics/orders/partitions/0/batches',
        httpMethod: 'POST',
        pathParameters: { topic: 'orders', partition: '0' },
        body: Buffer.from([0, 1, 2]).toString('base64'),
        isBase64Encoded: true,
      }),
    );
    expect(result.isBase64Encoded).toBe(true);
    expect(Buffer.from(result.body, 'base64')).toEqual(Buffer.from([0, 1, 2, 0xff]));
  });

  it('answers a binary fetch without a binary Accept with 406 JSON on API Gateway too, before any work', async () => {
    const fetchOne = vi.fn();
    const handler = createLambdaHandler('fetch', {
      services: () => ({ log: { fetch: fetchOne } }) as unknown as Services,
      logger,
      metrics: null,
    });
    for (const headers of [{}, { Accept: '*/*' }]) {
      const result = await handler(
        event({
          resource: '/v1/topics/{topic}/partitions/{partition}/batches',
          path: '/v1/topics/orders/partitions/0/batches',
          pathParameters: { topic: 'orders', partition: '0' },
          queryStringParameters: { offset: '0' },
          headers,
        }),
      );
      expect(result.statusCode).toBe(406);
      expect(result.isBase64Encoded).toBeFalsy();
      expect(result.headers?.['content-type']).toBe('application/json');
      expect(JSON.parse(result.body).error).toMatchObject({
        code: 'NOT_ACCEPTABLE',
        accept: 'application/vnd.kafka.record-batch',
      });
    }
    expect(fetchOne).not.toHaveBeenCalled();
  });

  it('maps a SluiceError to its status and JSON body', async () => {
    const handler = handlerWith('admin', {
      describeTopic: async () => {
        throw new SluiceError('OFFSET_OUT_OF_RANGE', 'out', {
          details: { logStartOffset: 1, highWatermark: 2 },
        });
      },
    });
    const result = await handler(event({}));
    expect(result.statusCode).toBe(416);
    expect(JSON.parse(result.body)).toEqual({
      error: { code: 'OFFSET_OUT_OF_RANGE', message: 'out', logStartOffset: 1, highWatermark: 2 },
    });
  });

  it('answers anything else with a 500 that does not leak the cause', async () => {
    const handler = handlerWith('admin', {
      describeTopic: async () => {
        throw new Error('secret table arn:aws:dynamodb:us-east-1:123:table/x');
      },
    });
    const result = await handler(event({}));
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({
      error: { code: 'UNKNOWN_SERVER_ERROR', message: 'An unexpected error occurred', requestId: 'req-1' },
    });
    expect(result.body).not.toContain('secret');
  });

  it('refuses routes that belong to another function', async () => {
    const handler = handlerWith('fetch', {});
    const result = await handler(event({}));
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body).error.message).toMatch(/admin function, not fetch/);
  });

  it('falls back to the path when the resource is not in the table', async () => {
    const seen = vi.fn<Operation>(async (req) => json(200, req.params));
    const handler = handlerWith('admin', { describeTopic: seen });
    const result = await handler(
      event({ resource: '/{proxy+}', path: '/v1/topics/x%2Ey', pathParameters: null }),
    );
    expect(JSON.parse(result.body)).toEqual({ topic: 'x.y' });
    const missing = await handler(
      event({ resource: '/{proxy+}', path: '/v2/nothing', pathParameters: null }),
    );
    expect(missing.statusCode).toBe(404);
  });

  it('answers 500 when the services cannot be built (e.g. configuration missing)', async () => {
    const handler = createLambdaHandler('admin', {
      logger,
      metrics: null,
      services: () => {
        throw new Error('environment variable SLUICE_BUCKET must be set');
      },
    });
    const result = await handler(event({}));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('SLUICE_BUCKET');
  });
});
