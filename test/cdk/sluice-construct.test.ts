import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sluice, type SluiceProps } from '../../cdk/sluice-construct';
import { SluiceStack } from '../../cdk/sluice-stack';
import { BINARY_MEDIA_TYPES, FUNCTION_NAMES, ROUTES } from '../../shared/api/routes';
import { TABLE_KEYS } from '../../shared/store/tables';
import {
  actionsOf,
  cdkContext,
  FIXTURE_FUNCTIONS,
  FIXTURE_FUNCTIONS_WITHOUT_CLEANUP,
  iamMatches,
  render,
  SKIP_BUNDLING,
  type Statement,
} from './support';

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; [key: string]: unknown }
>;

// One synthesis for the whole file: the stack as `cdk synth` builds it (cdk.json's feature flags),
// with stand-in entry files and esbuild skipped (the bundle test bundles the real functions).
let stack: SluiceStack;
let template: Template;
let resources: Resources;
const roles: Record<string, iam.Role> = {};

beforeAll(() => {
  const app = new App({ context: { ...cdkContext(), ...SKIP_BUNDLING } });
  stack = new SluiceStack(app, 'SluiceTest', { sluice: { functionsDir: FIXTURE_FUNCTIONS } });
  const role = (id: string) => {
    roles[id] = new iam.Role(stack, id, { assumedBy: new iam.AccountRootPrincipal() });
    return roles[id];
  };
  stack.sluice.grantProduce(role('OrdersProducer'), 'orders');
  stack.sluice.grantConsume(role('BillingConsumer'), 'orders', 'billing');
  stack.sluice.grantConsume(role('AuditConsumer'), 'orders');
  stack.sluice.grantAdmin(role('Operator'));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
});

const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnFunction);

/** The statements of the inline policies attached to a role. */
function statementsOfRole(role: iam.IRole): Statement[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) =>
      (r.Properties.Roles as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const statementsOf = (fn: NodejsFunction) => statementsOfRole(fn.role!);
const actionsOfRole = (fn: NodejsFunction) => statementsOf(fn).flatMap(actionsOf);

/** The resource ARNs granted to a role, rendered as text with `${LogicalId}` for references. */
function grantedArns(role: iam.IRole): string[] {
  return statementsOfRole(role)
    .filter((s) => actionsOf(s).includes('execute-api:Invoke'))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map(render)
    .sort();
}

describe('Class: SluiceStack', () => {
  describe('Storage', () => {
    it('blocks all public access, encrypts, and aborts incomplete uploads after a day', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Status: 'Enabled',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          ]),
        },
      });
    });

    it('keeps the bucket and the tables when the stack is deleted, by default', () => {
      template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true }, 3);
      expect(
        Object.values(resources).filter(
          (r) => r.Type === 'AWS::DynamoDB::Table' && r.DeletionPolicy === 'Retain',
        ),
      ).toHaveLength(3);
    });

    it('refuses requests without TLS in the bucket policy', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('creates the three tables on demand, with point-in-time recovery and encryption', () => {
      template.resourcePropertiesCountIs(
        'AWS::DynamoDB::Table',
        {
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
        },
        3,
      );
    });

    it('keys the tables as the shared TABLE_KEYS say', () => {
      /** A table keyed by partition and sort key, the sort key declared with its type. */
      const keyedBy = (keys: { partitionKey: string; sortKey: string; sortKeyType: string }) => ({
        KeySchema: [
          { AttributeName: keys.partitionKey, KeyType: 'HASH' },
          { AttributeName: keys.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: keys.sortKey, AttributeType: keys.sortKeyType },
        ]),
      });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: TABLE_KEYS.topics.partitionKey, KeyType: 'HASH' }],
      });
      template.hasResourceProperties('AWS::DynamoDB::Table', keyedBy(TABLE_KEYS.log));
      template.hasResourceProperties('AWS::DynamoDB::Table', keyedBy(TABLE_KEYS.groups));
    });
  });

  describe('Functions', () => {
    it('runs every function on nodejs22.x, arm64, with source maps and Powertools settings', () => {
      template.resourceCountIs('AWS::Lambda::Function', FUNCTION_NAMES.length + 1);
      template.allResourcesProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: Match.anyValue() },
        Environment: {
          Variables: Match.objectLike({
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_SERVICE_NAME: 'sluice',
            POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
            SLUICE_BUCKET: Match.anyValue(),
            SLUICE_TOPICS_TABLE: Match.anyValue(),
            SLUICE_LOG_TABLE: Match.anyValue(),
            SLUICE_GROUPS_TABLE: Match.anyValue(),
          }),
        },
      });
    });

    it('gives fetch a timeout above the 20 s long poll plus margin', () => {
      const fetch = resources[logicalId(stack.sluice.functions.fetch)]!;
      expect(fetch.Properties.Timeout).toBeGreaterThanOrEqual(25);
    });

    it('keeps function logs for a month', () => {
      template.resourcePropertiesCountIs(
        'AWS::Logs::LogGroup',
        { RetentionInDays: 30 },
        FUNCTION_NAMES.length + 2,
      );
    });

    it('runs the cleanup function on a schedule when functions/cleanup.ts exists', () => {
      expect(stack.sluice.cleanupFunction).toBeDefined();
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.sluice.cleanupFunction!), 'Arn'] } }),
        ],
      });
    });

    it('leaves the cleanup function and its schedule out when functions/cleanup.ts is missing', () => {
      // Prepare
      const app = new App({ context: SKIP_BUNDLING });
      const other = new Stack(app, 'NoCleanup');

      // Act
      const sluice = new Sluice(other, 'Events', {
        functionsDir: FIXTURE_FUNCTIONS_WITHOUT_CLEANUP,
        alarms: false,
        dashboard: false,
      });

      // Assess
      expect(sluice.cleanupFunction).toBeUndefined();
      expect(other.node.findAll().filter((c) => c.node.id === 'CleanupSchedule')).toHaveLength(0);
      expect(sluice.allFunctions.map(([name]) => name)).toEqual([...FUNCTION_NAMES]);
    });
  });

  describe('API', () => {
    it('authorizes every method with IAM', () => {
      template.resourceCountIs('AWS::ApiGateway::Method', ROUTES.length);
      template.allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'AWS_IAM' });
    });

    it('builds one proxy method per route, to the route’s function', () => {
      // Prepare: rebuild each resource's full path from the PathPart / ParentId chain.
      const paths = new Map<string, string>();
      const pathOf = (id: string): string => {
        const known = paths.get(id);
        if (known !== undefined) return known;
        const r = resources[id]!;
        const parent = r.Properties.ParentId as { Ref?: string };
        const path = `${parent.Ref ? pathOf(parent.Ref) : ''}/${r.Properties.PathPart as string}`;
        paths.set(id, path);
        return path;
      };
      const functionIds = Object.fromEntries(
        FUNCTION_NAMES.map((name) => [logicalId(stack.sluice.functions[name]), name]),
      );

      // Act
      const methods = Object.values(resources)
        .filter((r) => r.Type === 'AWS::ApiGateway::Method')
        .map((r) => {
          const integration = r.Properties.Integration as { Type: string; Uri: unknown };
          const uri = render(integration.Uri);
          const fnId = Object.keys(functionIds).find((id) => uri.includes(`\${${id}.Arn}`));
          return {
            method: r.Properties.HttpMethod,
            path: pathOf((r.Properties.ResourceId as { Ref: string }).Ref),
            function: fnId ? functionIds[fnId] : undefined,
            type: integration.Type,
          };
        });

      // Assess
      const expected = ROUTES.map((route) => ({
        method: route.method,
        path: route.path,
        function: route.function,
        type: 'AWS_PROXY',
      }));
      const key = (m: { method: unknown; path: unknown }) => `${m.method} ${m.path}`;
      expect([...methods].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
        [...expected].sort((a, b) => key(a).localeCompare(key(b))),
      );
    });

    it('passes the record-batch media types as binary', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        BinaryMediaTypes: [...BINARY_MEDIA_TYPES],
      });
    });

    it('throttles the stage and writes access logs', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'prod',
        AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
        MethodSettings: Match.arrayWith([
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: 1000,
            ThrottlingBurstLimit: 2000,
          }),
        ]),
      });
    });

    it('answers API Gateway’s own rejections in Sluice’s error shape', () => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'ACCESS_DENIED',
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code":"UNAUTHORIZED"') },
      });
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'THROTTLED',
        ResponseTemplates: {
          'application/json': Match.stringLikeRegexp('"code":"THROTTLED","message":.*"retriable":true'),
        },
      });
    });

    it('outputs the API URL and the storage names', () => {
      for (const name of [
        'ApiUrl',
        'ApiId',
        'BucketName',
        'TopicsTableName',
        'LogTableName',
        'GroupsTableName',
      ]) {
        template.hasOutput(name, { Value: Match.anyValue() });
      }
    });
  });

  describe('IAM', () => {
    it('has no identity statement allowing "*" or a whole service ("s3:*", "dynamodb:*")', () => {
      // Act
      const statements = Object.values(resources).flatMap((r) => {
        if (r.Type === 'AWS::IAM::Policy')
          return (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
        if (r.Type === 'AWS::IAM::Role') {
          const inline = (r.Properties.Policies ?? []) as Array<{
            PolicyDocument: { Statement: Statement[] };
          }>;
          return inline.flatMap((p) => p.PolicyDocument.Statement);
        }
        return [];
      });
      const wide = statements.flatMap(actionsOf).filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a));

      // Assess
      expect(statements.length).toBeGreaterThan(0);
      expect(wide).toEqual([]);
    });

    it('lets the produce function write objects and log items but delete nothing', () => {
      const actions = actionsOfRole(stack.sluice.functions.produce);
      expect(actions).toContain('s3:PutObject');
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
      expect(actions.filter((a) => /^s3:(Delete|Get|List)/.test(a))).toEqual([]);
      expect(actions).not.toContain('dynamodb:DeleteItem');
      expect(actions).not.toContain('dynamodb:BatchWriteItem');
    });

    it('gives the fetch function no S3 write and only the repair writes on the log table', () => {
      // Prepare
      const statements = statementsOf(stack.sluice.functions.fetch);
      const logTable = `\${${logicalId(stack.sluice.tables.log)}.Arn}`;

      // Act
      const s3Writes = statements
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('s3:') && !/^s3:(Get|List)/.test(a));
      const dynamoWrites = statements.filter((s) =>
        actionsOf(s).some((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
      );

      // Assess
      expect(s3Writes).toEqual([]);
      expect(dynamoWrites.flatMap(actionsOf).sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
      const writable = dynamoWrites
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
        .map(render);
      expect(writable.every((arn) => arn.startsWith(logTable))).toBe(true);
    });

    it('lets only the cleanup function delete objects', () => {
      for (const [name, fn] of stack.sluice.allFunctions) {
        const deletes = actionsOfRole(fn).filter((a) => a.startsWith('s3:Delete'));
        expect({ name, deletes: deletes.length > 0 }).toEqual({ name, deletes: name === 'cleanup' });
      }
    });

    it('gives the admin and groups functions no S3 access', () => {
      for (const fn of [stack.sluice.functions.admin, stack.sluice.functions.groups]) {
        expect(actionsOfRole(fn).filter((a) => a.startsWith('s3:'))).toEqual([]);
      }
    });
  });

  describe('Method: grantProduce / grantConsume / grantAdmin', () => {
    const arn = (tail: string) =>
      `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${logicalId(stack.sluice.api)}}/prod/${tail}`;

    it('grants a producer exactly its topic’s paths', () => {
      expect(grantedArns(roles.OrdersProducer!)).toEqual(
        [
          'GET/v1/topics/orders',
          'GET/v1/topics/orders/partitions/*/offsets',
          'POST/v1/topics/orders/partitions/*/batches',
          'POST/v1/topics/orders/records',
        ]
          .map(arn)
          .sort(),
      );
    });

    it('grants a consumer its topic and its group, and nothing of "orders-eu" or "billing-eu"', () => {
      // Prepare
      const granted = grantedArns(roles.BillingConsumer!);

      // Act
      const reaches = (tail: string) => granted.some((pattern) => iamMatches(pattern, arn(tail)));

      // Assess
      expect(granted).toHaveLength(12);
      expect(reaches('GET/v1/topics/orders/partitions/3/batches')).toBe(true);
      expect(reaches('POST/v1/groups/billing/offsets')).toBe(true);
      expect(reaches('POST/v1/groups/billing/members/m-7/heartbeat')).toBe(true);
      expect(reaches('GET/v1/topics/orders-eu/partitions/3/batches')).toBe(false);
      expect(reaches('GET/v1/topics/orders-eu')).toBe(false);
      expect(reaches('POST/v1/groups/billing-eu/offsets')).toBe(false);
      expect(reaches('POST/v1/topics/orders/records')).toBe(false);
      expect(reaches('POST/v1/fetch')).toBe(false);
      expect(granted.some((pattern) => /orders\*|billing\*/.test(pattern))).toBe(false);
    });

    it('grants a consumer without a group no group path', () => {
      expect(grantedArns(roles.AuditConsumer!).some((a) => a.includes('/v1/groups'))).toBe(false);
    });

    it('grants an operator the admin routes on all topics', () => {
      expect(grantedArns(roles.Operator!)).toEqual(
        ['POST/v1/topics', 'DELETE/v1/topics/*', 'POST/v1/topics/*/partitions', 'POST/v1/topics/*/config']
          .map(arn)
          .sort(),
      );
    });

    it('refuses a topic that would widen the IAM path', () => {
      const role = new iam.Role(new Stack(), 'R', { assumedBy: new iam.AccountRootPrincipal() });
      expect(() => stack.sluice.grantProduce(role, 'orders*')).toThrow(
        /topic must be .* but "orders\*" was provided/,
      );
    });
  });

  describe('Alarms and dashboard', () => {
    it('alarms on API 5xx and on each function’s errors, throttles and p99 duration', () => {
      // 1 API alarm + 3 per function (4 API functions + cleanup).
      template.resourceCountIs('AWS::CloudWatch::Alarm', 1 + 3 * (FUNCTION_NAMES.length + 1));
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: '5XXError',
        Namespace: 'AWS/ApiGateway',
        Threshold: 5,
      });
      for (const metric of ['Errors', 'Throttles']) {
        template.resourcePropertiesCountIs(
          'AWS::CloudWatch::Alarm',
          { MetricName: metric, Namespace: 'AWS/Lambda', Threshold: 1 },
          FUNCTION_NAMES.length + 1,
        );
      }
      template.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        { MetricName: 'Duration', ExtendedStatistic: 'p99' },
        FUNCTION_NAMES.length + 1,
      );
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Duration',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.sluice.functions.fetch) } }],
        Threshold: 25_000,
      });
    });

    it('creates a dashboard', () => {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });
  });
});

describe('Function: resolveSluiceProps (through the Sluice constructor)', () => {
  const make = (props: SluiceProps) => () =>
    new Sluice(new Stack(new App({ context: SKIP_BUNDLING })), 'S', {
      functionsDir: FIXTURE_FUNCTIONS_WITHOUT_CLEANUP,
      ...props,
    });

  it.each<[SluiceProps, string]>([
    [{ fetchTimeoutSeconds: 5 }, 'fetchTimeoutSeconds must be between 25 and 900, but 5 was provided'],
    [{ fetchTimeoutSeconds: 901 }, 'fetchTimeoutSeconds must be between 25 and 900, but 901 was provided'],
    [{ fetchTimeoutSeconds: 30.5 }, 'fetchTimeoutSeconds must be a whole number, but 30.5 was provided'],
    [{ functionTimeoutSeconds: 1 }, 'functionTimeoutSeconds must be between 3 and 900, but 1 was provided'],
    [{ cleanupIntervalMinutes: 0 }, 'cleanupIntervalMinutes must be between 1 and 1440, but 0 was provided'],
    [{ throttlingRateLimit: 0 }, 'throttlingRateLimit must be between 1 and 10000, but 0 was provided'],
    [
      { throttlingBurstLimit: 9000 },
      'throttlingBurstLimit must be between 1 and 5000, but 9000 was provided',
    ],
    [
      { memorySizeMb: { fetch: 64 } },
      'memorySizeMb.fetch must be between 128 and 10240, but 64 was provided',
    ],
    [
      { memorySizeMb: { fetsh: 512 } as SluiceProps['memorySizeMb'] },
      'memorySizeMb keys must be among admin, produce, fetch, groups, cleanup, but "fetsh" was provided',
    ],
    [
      { latencyAlarmMs: { produce: 60_000 } },
      'latencyAlarmMs.produce must be between 1 and 30000, but 60000 was provided',
    ],
    [
      { stageName: 'my stage' },
      'stageName must be 1 to 128 characters of [A-Za-z0-9_-], but "my stage" was provided',
    ],
    [
      { metricsNamespace: 'AWS/Lambda' },
      'metricsNamespace must not start with "AWS/", but "AWS/Lambda" was provided',
    ],
  ])('refuses %j with the limit and the value', (props, message) => {
    expect(make(props)).toThrow(message);
  });

  it('accepts its limits', () => {
    expect(
      make({
        fetchTimeoutSeconds: 25,
        functionTimeoutSeconds: 900,
        removalPolicy: RemovalPolicy.DESTROY,
        deletionProtection: false,
        alarms: false,
        dashboard: false,
      }),
    ).not.toThrow();
  });
});
