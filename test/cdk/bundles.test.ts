import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceFunctionName } from '../../cdk/sluice-construct';
import { SluiceStack } from '../../cdk/sluice-stack';
import { FUNCTION_NAMES, ROUTES } from '../../shared/api/routes';
import { ERRORS, isErrorCode } from '../../shared/errors';
import { cdkContext, ROOT } from './support';

const run = promisify(execFile);

/**
 * The bundles as `cdk synth` produces them, each copied alone into an empty folder (no node_modules
 * anywhere above it) and loaded by plain Node, like Lambda loads `index.mjs`: proof that a bundle
 * stands alone, that the native `lz4` addon stayed out of it, and that a malformed request gets a
 * clear 400 and no crash. Runs once the functions exist; esbuild bundles each one (a few seconds).
 */
const FUNCTIONS_DIR = join(ROOT, 'functions');
const present = FUNCTION_NAMES.every((name) => existsSync(join(FUNCTIONS_DIR, `${name}.ts`)));
const names: SluiceFunctionName[] = [...FUNCTION_NAMES];
if (existsSync(join(FUNCTIONS_DIR, 'cleanup.ts'))) names.push('cleanup');

/** One malformed request per API function, each on a route of that function. */
const MALFORMED: Record<
  Exclude<SluiceFunctionName, 'cleanup'>,
  { operation: string; body?: string; query?: Record<string, string> }
> = {
  admin: { operation: 'createTopic', body: '{"name": "orders", "partitions": ' },
  produce: { operation: 'produceRecords', body: '{"records": [{"value": ' },
  fetch: { operation: 'fetchBatches', query: { offset: 'abc' } },
  groups: { operation: 'joinGroup', body: '{not json' },
};

/** A REST API (payload v1) proxy event as API Gateway sends it, for the route of `operation`. */
function apiEvent(spec: { operation: string; body?: string; query?: Record<string, string> }) {
  const route = ROUTES.find((r) => r.operation === spec.operation);
  if (!route) throw new Error(`no route for ${spec.operation}`);
  const values: Record<string, string> = {
    topic: 'orders',
    partition: '0',
    group: 'billing',
    memberId: 'm-1',
  };
  const pathParameters: Record<string, string> = {};
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    pathParameters[name] = values[name]!;
    return values[name]!;
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json',
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
  };
  return {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: spec.query ?? null,
    multiValueQueryStringParameters: spec.query
      ? Object.fromEntries(Object.entries(spec.query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      resourceId: 'r1',
      resourcePath: route.path,
      httpMethod: route.method,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      extendedRequestId: 'X1',
      requestTime: '01/Jan/2026:00:00:00 +0000',
      requestTimeEpoch: 1767225600000,
      protocol: 'HTTP/1.1',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      identity: {
        sourceIp: '203.0.113.1',
        userAgent: 'bundle-test',
        caller: 'AIDAEXAMPLE',
        user: 'AIDAEXAMPLE',
        userArn: 'arn:aws:iam::123456789012:user/tester',
        accountId: '123456789012',
        accessKey: 'AKIAEXAMPLE',
      },
      authorizer: null,
    },
    body: spec.body ?? null,
    isBase64Encoded: false,
  };
}

/** Loads the bundle with plain Node and calls its handler; prints the result after a marker line. */
const LOADER = `
const [, file, eventJson] = process.argv;
const mod = await import(file);
if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler');
const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef', functionName: 'bundle-test', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bundle-test', memoryLimitInMB: '512',
  logGroupName: '/aws/lambda/bundle-test', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 25000,
};
const result = eventJson === 'none' ? 'loaded' : await mod.handler(JSON.parse(eventJson), context);
process.stdout.write('\\n@@RESULT@@' + JSON.stringify(result) + '\\n');
`;

describe.skipIf(!present)('Bundles: each function synthesized by cdk, alone in an empty folder', () => {
  let outdir: string;
  let stack: SluiceStack;
  let template: {
    Resources: Record<string, { Metadata?: Record<string, string>; Properties: Record<string, unknown> }>;
  };
  const scratch: string[] = [];

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'sluice-cdk-out-'));
    const app = new App({ outdir, context: { ...cdkContext(), 'aws:cdk:enable-asset-metadata': true } });
    stack = new SluiceStack(app, 'SluiceBundleTest');
    template = app.synth().getStackByName('SluiceBundleTest').template;
  }, 120_000);

  afterAll(() => {
    for (const dir of [outdir, ...scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function bundleOf(name: SluiceFunctionName) {
    const fn = name === 'cleanup' ? stack.sluice.cleanupFunction! : stack.sluice.functions[name];
    const resource = template.Resources[stack.getLogicalId(fn.node.defaultChild as CfnFunction)]!;
    const assetDir = join(outdir, resource.Metadata!['aws:asset:path']!);
    const env = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    return { assetDir, env };
  }

  it.each(names)('%s: holds index.mjs and its map, and no native addon', (name) => {
    // Act
    const { assetDir } = bundleOf(name);
    const files = readdirSync(assetDir, { recursive: true }).map(String);
    const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');

    // Assess
    expect(files.sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect(code).not.toMatch(/build\/Release|\.node["']/);
  });

  it.each(names)(
    '%s: loads with plain Node from an empty folder and answers a malformed request with a clear 400',
    async (name) => {
      // Prepare: the bundle alone, and the environment the stack gives it (names stand in for refs).
      const { assetDir, env } = bundleOf(name);
      const dir = mkdtempSync(join(tmpdir(), `sluice-bundle-${name}-`));
      scratch.push(dir);
      cpSync(assetDir, dir, { recursive: true });
      const variables = Object.fromEntries(
        Object.entries(env).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : `test-${key.toLowerCase()}`,
        ]),
      );
      const event = name === 'cleanup' ? 'none' : JSON.stringify(apiEvent(MALFORMED[name]));

      // Act: storage points at a closed port, so a handler that reached for it would fail, not hang.
      const { stdout, stderr } = await run(
        process.execPath,
        ['--input-type=module', '-e', LOADER, join(dir, 'index.mjs'), event],
        {
          cwd: dir,
          timeout: 45_000,
          env: {
            PATH: process.env.PATH ?? '',
            ...variables,
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
            AWS_LAMBDA_FUNCTION_NAME: `bundle-test-${name}`,
          },
        },
      );

      // Assess
      const marker = stdout.lastIndexOf('@@RESULT@@');
      expect(marker, `no result; stderr: ${stderr}`).toBeGreaterThanOrEqual(0);
      const result = JSON.parse(stdout.slice(marker + '@@RESULT@@'.length));
      if (name === 'cleanup') {
        expect(result).toBe('loaded');
        return;
      }
      expect(result.statusCode, JSON.stringify(result)).toBe(400);
      const contentType = Object.entries(result.headers ?? {}).find(
        ([k]) => k.toLowerCase() === 'content-type',
      )?.[1];
      expect(String(contentType)).toMatch(/^application\/json/);
      const body = JSON.parse(result.body);
      expect(typeof body.error?.message).toBe('string');
      expect(isErrorCode(body.error?.code)).toBe(true);
      expect(ERRORS[body.error.code as keyof typeof ERRORS].status).toBe(400);
    },
    60_000,
  );
});
