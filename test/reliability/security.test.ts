/**
 * Security S1–S6 (reliability.md). The local stack's bearer-token mode (SLUICE_TOKEN) refuses every
 * request without the token before any handler runs, and writes nothing; over the CDK template, the
 * assertions test/cdk does not already make: grants that cannot reach another topic or group whatever
 * the names (a property over names that prefix each other), invoke permissions scoped to this API,
 * no public bucket policy, encryption at rest on every store, and least privilege between functions.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeRoutes, type GrantedRoute, produceRoutes } from '../../cdk/grants';
import { SluiceStack } from '../../cdk/sluice-stack';
import { ROUTES } from '../../shared/api/routes';
import {
  actionsOf,
  cdkContext,
  FIXTURE_FUNCTIONS,
  iamMatches,
  render,
  SKIP_BUNDLING,
  type Statement,
} from '../cdk/support';
import { ChildStack, type StackUnderTest, startStack } from './environment';
import { probeTokenMode, storageFingerprint } from './security';
import { type HttpAnswer, HttpClient } from './transport';

const SEED = Number(process.env.RELIABILITY_SEED ?? 61);

describe('Reliability: the local stack in bearer-token mode (S1)', () => {
  const token = 'reliability-token';
  let sut: StackUnderTest;
  beforeAll(async () => {
    sut = await startStack({ token });
  });
  afterAll(async () => {
    await sut?.stop();
  });

  it('refuses every route, and unknown ones, with 401 before any handler runs', async () => {
    // Prepare
    const client = new HttpClient(sut.url);
    const before = await storageFingerprint(sut.direct);
    // Act
    const answers: [string, HttpAnswer][] = [];
    for (const route of ROUTES) {
      const path = route.path.replace(/\{[a-zA-Z]+\}/g, 'x');
      answers.push([
        `${route.method} ${path}`,
        await client.request(route.method, path, '{}', { 'content-type': 'application/json' }),
      ]);
    }
    answers.push(['GET /nowhere', await client.request('GET', '/nowhere')]);
    answers.push(['PATCH /v1/topics', await client.request('PATCH', '/v1/topics')]);
    client.close();
    // Assess
    for (const [what, res] of answers) {
      expect({ what, status: res.status, code: JSON.parse(res.body.toString()).error.code }).toEqual({
        what,
        status: 401,
        code: 'UNAUTHORIZED',
      });
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    expect(await storageFingerprint(sut.direct)).toBe(before);
  });

  it('refuses random requests with missing or wrong tokens, writing nothing, and serves the right token', async () => {
    const result = await probeTokenMode({
      url: sut.url,
      token,
      direct: sut.direct,
      seed: SEED,
      requests: 60,
    });
    expect(result.violations.map((v) => v.message)).toEqual([]);
  }, 60_000);

  it('is what `sluice dev` runs when SLUICE_TOKEN is set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-token-'));
    const child = new ChildStack(dir, { SLUICE_TOKEN: 's3cret' });
    try {
      await child.start();
      const anonymous = new HttpClient(child.url);
      const holder = new HttpClient(child.url, { token: 's3cret' });
      expect((await anonymous.request('GET', '/v1/topics')).status).toBe(401);
      expect((await holder.request('GET', '/v1/topics')).status).toBe(200);
      anonymous.close();
      holder.close();
    } finally {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** Every concrete request path a route can take for this topic and group, as IAM sees it. */
function concretePaths(topic: string, group: string): string[] {
  return ROUTES.map(
    (r) =>
      `${r.method}${r.path.replace('{topic}', topic).replace('{group}', group).replace('{partition}', '3').replace('{memberId}', 'm-1')}`,
  );
}
const patternsOf = (routes: GrantedRoute[]) => routes.map((r) => `${r.method}${r.path}`);

describe('Reliability: grants over names that clash (S2, S3)', () => {
  const name = fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/).filter((n) => n !== '.' && n !== '..');
  // Names that prefix each other are the dangerous ones: orders / orders-eu / ordersX.
  const pair = fc.oneof(
    fc.tuple(name, name),
    fc
      .tuple(name, fc.stringMatching(/^[a-zA-Z0-9._-]{1,5}$/))
      .map(([a, suffix]) => [a, `${a}${suffix}`] as [string, string]),
    fc
      .tuple(name, fc.stringMatching(/^[a-zA-Z0-9._-]{1,5}$/))
      .map(([a, suffix]) => [`${a}${suffix}`, a] as [string, string]),
  );

  it('a producer of topic A reaches no route of topic B', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        fc.pre(a !== b);
        const patterns = patternsOf(produceRoutes(a));
        const reached = concretePaths(b, 'g').filter((path) => patterns.some((p) => iamMatches(p, path)));
        expect(reached).toEqual([]);
        // Positive control: it does reach its own topic's produce route.
        expect(patterns.some((p) => iamMatches(p, `POST/v1/topics/${a}/partitions/3/batches`))).toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('a consumer of topic A in group G reaches no route of topic B or group H, and writes no topic', () => {
    fc.assert(
      fc.property(pair, pair, ([a, b], [g, h]) => {
        fc.pre(a !== b && g !== h);
        const patterns = patternsOf(consumeRoutes(a, g));
        const other = concretePaths(b, h).filter((path) => patterns.some((p) => iamMatches(p, path)));
        expect(other).toEqual([]);
        const writes = concretePaths(a, g).filter(
          (path) => /^(POST|DELETE)\/v1\/topics/.test(path) || path === 'POST/v1/produce',
        );
        expect(writes.filter((path) => patterns.some((p) => iamMatches(p, path)))).toEqual([]);
        expect(patterns.some((p) => iamMatches(p, `POST/v1/groups/${g}/offsets`))).toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('Reliability: the CDK template (S1, S4, S5, S6)', () => {
  let resources: Record<string, Resource>;
  let stack: SluiceStack;

  beforeAll(() => {
    const app = new App({ context: { ...cdkContext(), ...SKIP_BUNDLING } });
    stack = new SluiceStack(app, 'SluiceSecurity', { sluice: { functionsDir: FIXTURE_FUNCTIONS } });
    resources = Template.fromStack(stack).toJSON().Resources;
  }, 120_000);

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const idOf = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<SluiceStack['getLogicalId']>[0]);

  /** Every (action, resource) a role's policies allow, resources rendered as text. */
  function allowed(role: iam.IRole): { action: string; resource: string }[] {
    const roleId = idOf(role as unknown as { node: { defaultChild?: unknown } });
    return ofType('AWS::IAM::Policy')
      .filter(([, r]) =>
        (r.Properties.Roles as unknown[]).some(
          (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId }),
        ),
      )
      .flatMap(
        ([, r]) =>
          (r.Properties.PolicyDocument as { Statement: (Statement & { Effect: string })[] }).Statement,
      )
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) =>
        actionsOf(s).flatMap((action) =>
          (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((res) => ({
            action,
            resource: render(res),
          })),
        ),
      );
  }

  it('S1: lets only this API invoke the API functions, and only the schedule invoke cleanup; no function URL', () => {
    const apiId = idOf(stack.sluice.api);
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(permissions.length).toBeGreaterThan(0);
    for (const p of permissions) {
      expect(['apigateway.amazonaws.com', 'events.amazonaws.com']).toContain(p.Principal);
      expect(p.SourceArn).toBeDefined();
      if (p.Principal === 'apigateway.amazonaws.com')
        expect(JSON.stringify(p.SourceArn)).toContain(`"Ref":"${apiId}"`);
    }
    expect(ofType('AWS::Lambda::Url')).toEqual([]);
  });

  it('S4: no bucket policy allows anyone, and no bucket is public', () => {
    for (const [, policy] of ofType('AWS::S3::BucketPolicy')) {
      const statements = (
        policy.Properties.PolicyDocument as { Statement: { Effect: string; Principal?: unknown }[] }
      ).Statement;
      const open = statements.filter(
        (s) => s.Effect === 'Allow' && JSON.stringify(s.Principal ?? '').includes('"*"'),
      );
      expect(open).toEqual([]);
    }
    for (const [, bucket] of ofType('AWS::S3::Bucket')) {
      expect(bucket.Properties.AccessControl ?? 'Private').toBe('Private');
      expect(bucket.Properties.WebsiteConfiguration).toBeUndefined();
      expect(bucket.Properties.PublicAccessBlockConfiguration).toMatchObject({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it('S5: encrypts at rest every store the template holds, and puts no secret in a function environment', () => {
    const stores = Object.entries(resources).filter(([, r]) =>
      /^AWS::(S3::Bucket|DynamoDB::Table|SQS::Queue|SNS::Topic|Kinesis::Stream|EFS::FileSystem)$/.test(
        r.Type,
      ),
    );
    expect(stores.length).toBeGreaterThanOrEqual(4);
    for (const [id, r] of stores) {
      const p = r.Properties;
      const encrypted =
        (r.Type === 'AWS::S3::Bucket' && p.BucketEncryption !== undefined) ||
        (r.Type === 'AWS::DynamoDB::Table' &&
          (p.SSESpecification as { SSEEnabled?: boolean } | undefined)?.SSEEnabled === true) ||
        (r.Type === 'AWS::SQS::Queue' && p.SqsManagedSseEnabled !== false) ||
        ((r.Type === 'AWS::SNS::Topic' ||
          r.Type === 'AWS::Kinesis::Stream' ||
          r.Type === 'AWS::EFS::FileSystem') &&
          (p.KmsMasterKeyId !== undefined || p.StreamEncryption !== undefined || p.Encrypted === true));
      expect({ id, encrypted }).toEqual({ id, encrypted: true });
    }
    for (const [id, fn] of ofType('AWS::Lambda::Function')) {
      const names = Object.keys(
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
      );
      expect({
        id,
        secrets: names.filter((n) => /SECRET|PASSWORD|TOKEN|PRIVATE|ACCESS_KEY/i.test(n)),
      }).toEqual({ id, secrets: [] });
    }
  });

  it('S6: the produce and fetch functions cannot touch consumer groups; the groups function cannot write the log', () => {
    const { functions, tables } = stack.sluice;
    const groupsTable = `\${${idOf(tables.groups)}.Arn}`;
    const logTable = `\${${idOf(tables.log)}.Arn}`;
    const topicsTable = `\${${idOf(tables.topics)}.Arn}`;
    for (const fn of [functions.produce, functions.fetch, functions.admin]) {
      expect(allowed(fn.role!).filter((a) => a.resource.startsWith(groupsTable))).toEqual([]);
    }
    const groupsWrites = allowed(functions.groups.role!).filter(
      (a) =>
        /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a.action) &&
        (a.resource.startsWith(logTable) || a.resource.startsWith(topicsTable)),
    );
    expect(groupsWrites).toEqual([]);
    expect(
      allowed(functions.fetch.role!).filter(
        (a) =>
          /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a.action) && a.resource.startsWith(topicsTable),
      ),
    ).toEqual([]);
  });

  it('S6: no function may manage IAM, assume roles, or act on every resource of a service', () => {
    for (const [name, fn] of stack.sluice.allFunctions) {
      const grants = allowed(fn.role!);
      expect({ name, risky: grants.filter((g) => /^(iam|sts|kms|organizations):/.test(g.action)) }).toEqual({
        name,
        risky: [],
      });
      // Writes always name a resource; only CloudWatch-style actions that take no resource may use "*".
      expect({
        name,
        wide: grants.filter((g) => g.resource === '*' && !/^(xray|cloudwatch|logs):/.test(g.action)),
      }).toEqual({ name, wide: [] });
    }
  });
});
