import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Names, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  BINARY_MEDIA_TYPES,
  FUNCTION_NAMES,
  type FunctionName,
  ROUTES,
  type Route,
} from '../shared/api/routes';
import { ERRORS, type ErrorCode } from '../shared/errors';
import { TABLE_KEYS } from '../shared/store/tables';
import { ALL, adminRoutes, consumeRoutes, type GrantedRoute, produceRoutes } from './grants';

/** The API functions plus the scheduled cleanup. */
export type SluiceFunctionName = FunctionName | 'cleanup';

/** A setting per function; functions left out keep their default. */
export type PerFunction<T> = { readonly [K in SluiceFunctionName]?: T };

export interface SluiceProps {
  /**
   * What happens to the bucket, the tables and the log groups when they leave the stack. With
   * `DESTROY` a bucket that still holds objects fails to delete: empty it first.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on the three tables: a table cannot be deleted, by CloudFormation or
   * anyone, until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /** Name of the API Gateway stage, the first segment of every URL path. @default 'prod' */
  readonly stageName?: string;
  /** Steady request rate the stage allows, requests per second, shared by all callers. @default 1000 */
  readonly throttlingRateLimit?: number;
  /** Requests the stage lets through in a burst above the rate. @default 2000 */
  readonly throttlingBurstLimit?: number;
  /**
   * Timeout of the fetch function. A fetch long-polls for up to 20 s (`maxWaitMs`) and then reads S3,
   * so it needs at least 25 s. API Gateway answers 504 after 29 s whatever this is.
   * @default 30
   */
  readonly fetchTimeoutSeconds?: number;
  /** Timeout of the produce, admin and groups functions. @default 30 */
  readonly functionTimeoutSeconds?: number;
  /**
   * Memory of each function, MB; Lambda gives CPU in proportion (1769 MB = one vCPU). An idle
   * long-polling consumer keeps a fetch function busy, so fetch memory is what idle consumers cost:
   * 256 MB holds the 64 MiB range cache and a 4 MiB answer, and halves the long poll's bill against
   * 512 MB (bench/results.md, "Knobs that move the cost").
   * @default produce 1024, fetch 256, admin 512, groups 512, cleanup 1024
   */
  readonly memorySizeMb?: PerFunction<number>;
  /**
   * How often the cleanup function runs (retention, orphan objects, stalled-range repair), minutes.
   * Its timeout is the interval (at most 15 minutes), so runs do not pile up. Only used when
   * `functions/cleanup.ts` exists.
   * @default 5
   */
  readonly cleanupIntervalMinutes?: number;
  /** Retention of the function logs and the API access logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Powertools log level of the functions. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** CloudWatch namespace of the functions' metrics (Powertools, embedded metric format). @default 'Sluice' */
  readonly metricsNamespace?: string;
  /** Powertools service name: the `service` key of every log line and metric dimension. @default 'sluice' */
  readonly serviceName?: string;
  /** Create the CloudWatch alarms (about $0.10 each per month). @default true */
  readonly alarms?: boolean;
  /** Actions for every alarm, e.g. `new SnsAction(topic)`. @default no actions */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * p99 duration above which a function's latency alarm fires, ms; at most the function's timeout.
   * @default produce 5000, admin 5000, groups 5000, fetch 25000 (a long poll waits up to 20 s), cleanup 80% of its timeout
   */
  readonly latencyAlarmMs?: PerFunction<number>;
  /** Create the CloudWatch dashboard ($3 per month beyond an account's first three). @default true */
  readonly dashboard?: boolean;
  /**
   * Create the account-wide role that lets API Gateway write access logs (AWS::ApiGateway::Account).
   * It is one setting per account and region: turn it off when another stack already manages it.
   * @default true
   */
  readonly apiCloudWatchRole?: boolean;
  /**
   * How producers and consumers reach the data path. `'apiGateway'`: every route through the REST API.
   * `'functionUrls'`: in addition, Lambda function URLs with AWS_IAM auth for produce (buffered) and
   * fetch (response streaming, which lifts the 6 MB answer limit): requests to them skip API Gateway's
   * per-request fee and latency. Admin and group routes stay on the API. IAM on a function URL is per
   * function (`lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`), not per topic: the grant helpers
   * grant the URLs only with `Sluice.ALL`.
   * @default 'apiGateway'
   */
  readonly dataPath?: 'apiGateway' | 'functionUrls';
  /**
   * Folder holding the function entry files `<name>.ts`, inside the folder of `package-lock.json`.
   * @default the `functions` folder of this package
   */
  readonly functionsDir?: string;
}

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULT_MEMORY_MB: Record<SluiceFunctionName, number> = {
  produce: 1024,
  fetch: 256,
  admin: 512,
  groups: 512,
  cleanup: 1024,
};

const DESCRIPTIONS: Record<SluiceFunctionName, string> = {
  admin: 'Sluice: create, describe, delete topics; list offsets',
  produce: 'Sluice: append record batches to partitions',
  fetch: 'Sluice: long-poll fetch of record batches',
  groups: 'Sluice: consumer groups, membership and committed offsets',
  cleanup: 'Sluice: retention, orphan objects, stalled-range repair (scheduled)',
};

/** Every setting resolved: defaults filled, limits checked. */
export interface SluiceSettings {
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly stageName: string;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly timeoutSeconds: Record<SluiceFunctionName, number>;
  readonly memorySizeMb: Record<SluiceFunctionName, number>;
  readonly latencyAlarmMs: Record<SluiceFunctionName, number>;
  readonly cleanupIntervalMinutes: number;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: string;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly alarms: boolean;
  readonly alarmActions: readonly cloudwatch.IAlarmAction[];
  readonly dashboard: boolean;
  readonly apiCloudWatchRole: boolean;
  readonly dataPath: 'apiGateway' | 'functionUrls';
  readonly functionsDir: string;
}

const ALL_FUNCTIONS: readonly SluiceFunctionName[] = [...FUNCTION_NAMES, 'cleanup'];

function checkWhole(name: string, value: number, min: number, max: number): number {
  if (Token.isUnresolved(value)) return value;
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, but ${value} was provided`);
  if (value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max}, but ${value} was provided`);
  }
  return value;
}

function checkPattern(name: string, value: string, pattern: RegExp, rule: string): string {
  if (!Token.isUnresolved(value) && !pattern.test(value)) {
    throw new Error(`${name} must be ${rule}, but ${JSON.stringify(value)} was provided`);
  }
  return value;
}

function checkOneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new Error(
      `${name} must be one of ${allowed.join(', ')}, but ${JSON.stringify(value)} was provided`,
    );
  }
  return value;
}

function checkKeys(name: string, value: object | undefined): void {
  for (const key of Object.keys(value ?? {})) {
    if (!(ALL_FUNCTIONS as readonly string[]).includes(key)) {
      throw new Error(`${name} keys must be among ${ALL_FUNCTIONS.join(', ')}, but "${key}" was provided`);
    }
  }
}

/** All validation in one place: each message names the setting, its limit and the value received. */
export function resolveSluiceProps(props: SluiceProps = {}): SluiceSettings {
  const fetchTimeout = checkWhole('fetchTimeoutSeconds', props.fetchTimeoutSeconds ?? 30, 25, 900);
  const functionTimeout = checkWhole('functionTimeoutSeconds', props.functionTimeoutSeconds ?? 30, 3, 900);
  const cleanupIntervalMinutes = checkWhole(
    'cleanupIntervalMinutes',
    props.cleanupIntervalMinutes ?? 5,
    1,
    1440,
  );
  const timeoutSeconds: Record<SluiceFunctionName, number> = {
    admin: functionTimeout,
    produce: functionTimeout,
    groups: functionTimeout,
    fetch: fetchTimeout,
    // A run never outlasts the interval, so scheduled runs do not overlap (Lambda's limit is 15 min).
    cleanup: Math.min(cleanupIntervalMinutes * 60, 900),
  };
  checkKeys('memorySizeMb', props.memorySizeMb);
  checkKeys('latencyAlarmMs', props.latencyAlarmMs);
  const memorySizeMb = {} as Record<SluiceFunctionName, number>;
  const latencyAlarmMs = {} as Record<SluiceFunctionName, number>;
  for (const name of ALL_FUNCTIONS) {
    memorySizeMb[name] = checkWhole(
      `memorySizeMb.${name}`,
      props.memorySizeMb?.[name] ?? DEFAULT_MEMORY_MB[name],
      128,
      10240,
    );
    const timeoutMs = timeoutSeconds[name] * 1000;
    const defaultLatency =
      name === 'fetch' ? Math.min(25_000, timeoutMs) : name === 'cleanup' ? timeoutMs * 0.8 : 5000;
    latencyAlarmMs[name] = checkWhole(
      `latencyAlarmMs.${name}`,
      props.latencyAlarmMs?.[name] ?? defaultLatency,
      1,
      timeoutMs,
    );
  }
  const metricsNamespace = checkPattern(
    'metricsNamespace',
    props.metricsNamespace ?? 'Sluice',
    /^[A-Za-z0-9._/#:-]{1,255}$/,
    '1 to 255 characters of [A-Za-z0-9._/#:-] and not start with "AWS/"',
  );
  if (metricsNamespace.startsWith('AWS/')) {
    throw new Error(`metricsNamespace must not start with "AWS/", but "${metricsNamespace}" was provided`);
  }
  return {
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    deletionProtection: props.deletionProtection ?? true,
    stageName: checkPattern(
      'stageName',
      props.stageName ?? 'prod',
      /^[A-Za-z0-9_-]{1,128}$/,
      '1 to 128 characters of [A-Za-z0-9_-]',
    ),
    // Account-level API Gateway quotas: 10,000 requests/s and a burst of 5,000 by default.
    throttlingRateLimit: checkWhole('throttlingRateLimit', props.throttlingRateLimit ?? 1000, 1, 10_000),
    throttlingBurstLimit: checkWhole('throttlingBurstLimit', props.throttlingBurstLimit ?? 2000, 1, 5000),
    timeoutSeconds,
    memorySizeMb,
    latencyAlarmMs,
    cleanupIntervalMinutes,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logLevel: props.logLevel ?? 'INFO',
    metricsNamespace,
    serviceName: checkPattern(
      'serviceName',
      props.serviceName ?? 'sluice',
      /^[A-Za-z0-9._-]{1,128}$/,
      '1 to 128 characters of [A-Za-z0-9._-]',
    ),
    alarms: props.alarms ?? true,
    alarmActions: props.alarmActions ?? [],
    dashboard: props.dashboard ?? true,
    apiCloudWatchRole: props.apiCloudWatchRole ?? true,
    dataPath: checkOneOf('dataPath', props.dataPath ?? 'apiGateway', ['apiGateway', 'functionUrls'] as const),
    functionsDir: resolve(props.functionsDir ?? join(PACKAGE_ROOT, 'functions')),
  };
}

/**
 * esbuild options shared by every function.
 * - ESM output (`index.mjs`): the project is `"type": "module"`; the banner gives bundled CommonJS
 *   code a `require` for Node's built-ins and for the one external module.
 * - `lz4` stays external: it is a native addon built for the build host, not for Lambda's ARM64
 *   Linux. The codec loads it lazily and falls back to the pure-JS `lz4js`, so the bundle stands
 *   alone (a test loads each bundle from an empty folder).
 * - The AWS SDK v3 is bundled, not taken from the runtime: the version we test is the version that
 *   runs (the runtime's copy lags and changes under us), the bundle loads without `node_modules`,
 *   and tree-shaken ESM modules keep it small. The cost is a larger upload (a few hundred KB).
 * - Minified with names kept (error classes' names survive) and source maps without sources
 *   (smaller), read by Node through `NODE_OPTIONS=--enable-source-maps`.
 * - Local esbuild, never Docker: `cdk synth` works offline on a machine without Docker.
 */
const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: ['lz4'],
  banner:
    "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
};

/** API Gateway's own rejections (IAM, throttling, timeouts) in Sluice's error shape, codes from one table. */
const GATEWAY_ERRORS: ReadonlyArray<readonly [string, apigw.ResponseType, ErrorCode]> = [
  ['Default4xx', apigw.ResponseType.DEFAULT_4XX, 'INVALID_REQUEST'],
  ['Default5xx', apigw.ResponseType.DEFAULT_5XX, 'NETWORK_EXCEPTION'],
  ['MissingAuthenticationToken', apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, 'UNAUTHORIZED'],
  ['AccessDenied', apigw.ResponseType.ACCESS_DENIED, 'UNAUTHORIZED'],
  ['InvalidSignature', apigw.ResponseType.INVALID_SIGNATURE, 'UNAUTHORIZED'],
  ['ExpiredToken', apigw.ResponseType.EXPIRED_TOKEN, 'UNAUTHORIZED'],
  ['Throttled', apigw.ResponseType.THROTTLED, 'THROTTLED'],
  ['RequestTooLarge', apigw.ResponseType.REQUEST_TOO_LARGE, 'MESSAGE_TOO_LARGE'],
  ['UnsupportedMediaType', apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, 'UNSUPPORTED_MEDIA_TYPE'],
  ['IntegrationTimeout', apigw.ResponseType.INTEGRATION_TIMEOUT, 'REQUEST_TIMED_OUT'],
];

function attributeType(type: 'N' | 'S'): dynamodb.AttributeType {
  return type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function authorizationType(route: Route): apigw.AuthorizationType {
  switch (route.auth) {
    case 'iam':
      return apigw.AuthorizationType.IAM;
  }
}

/**
 * Sluice, whole: the segment bucket, the three tables, the functions, the REST API built from the
 * shared route table (IAM on every method), the scheduled cleanup, alarms and a dashboard.
 *
 * ```ts
 * const events = new Sluice(this, 'Events');
 * events.grantProduce(orderService, 'orders');
 * events.grantConsume(billing, 'orders', 'billing');
 * ```
 */
export class Sluice extends Construct {
  /** Pass as a topic or a group to the grant helpers to grant all topics or all groups. */
  static readonly ALL = ALL;

  readonly bucket: s3.Bucket;
  readonly tables: {
    readonly topics: dynamodb.Table;
    readonly log: dynamodb.Table;
    readonly groups: dynamodb.Table;
  };
  /** The API functions by name. */
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  /** The scheduled cleanup, present when `functions/cleanup.ts` existed at synth time. */
  readonly cleanupFunction?: NodejsFunction;
  /**
   * With `dataPath: 'functionUrls'`: the function URLs of produce (buffered) and fetch (streaming, served
   * by `fetchStreamFunction`, the fetch code's `streamHandler` with the fetch function's settings).
   */
  readonly functionUrls?: { readonly produce: lambda.FunctionUrl; readonly fetch: lambda.FunctionUrl };
  readonly fetchStreamFunction?: NodejsFunction;
  readonly api: apigw.RestApi;
  readonly stageName: string;
  readonly accessLogs: logs.LogGroup;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SluiceProps = {}) {
    super(scope, id);
    const settings = resolveSluiceProps(props);
    this.stageName = settings.stageName;

    this.bucket = new s3.Bucket(this, 'Segments', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Segment objects are immutable and written with single PUTs; a multipart upload left behind
      // by a crash costs storage until aborted. Objects themselves are deleted only by the cleanup
      // function, which knows which ones the segment index still references.
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: settings.removalPolicy,
    });

    const table = (
      name: string,
      partitionKey: string,
      sortKey?: dynamodb.Attribute,
      timeToLiveAttribute?: string,
    ) =>
      new dynamodb.Table(this, name, {
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        ...(sortKey ? { sortKey } : {}),
        ...(timeToLiveAttribute ? { timeToLiveAttribute } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        deletionProtection: settings.deletionProtection,
        removalPolicy: settings.removalPolicy,
      });
    this.tables = {
      topics: table('TopicsTable', TABLE_KEYS.topics.partitionKey),
      log: table(
        'LogTable',
        TABLE_KEYS.log.partitionKey,
        { name: TABLE_KEYS.log.sortKey, type: attributeType(TABLE_KEYS.log.sortKeyType) },
        // Idle idempotent-producer state expires by itself on AWS (the cleanup also deletes it).
        TABLE_KEYS.log.timeToLiveAttribute,
      ),
      groups: table('GroupsTable', TABLE_KEYS.groups.partitionKey, {
        name: TABLE_KEYS.groups.sortKey,
        type: attributeType(TABLE_KEYS.groups.sortKeyType),
      }),
    };

    const environment: Record<string, string> = {
      SLUICE_BUCKET: this.bucket.bucketName,
      SLUICE_TOPICS_TABLE: this.tables.topics.tableName,
      SLUICE_LOG_TABLE: this.tables.log.tableName,
      SLUICE_GROUPS_TABLE: this.tables.groups.tableName,
      POWERTOOLS_SERVICE_NAME: settings.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: settings.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    const lockFile = join(PACKAGE_ROOT, 'package-lock.json');
    const makeFunction = (
      name: SluiceFunctionName,
      entry: string,
      id = pascal(name),
      handler = 'handler',
    ) => {
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
      });
      return new NodejsFunction(this, `${id}Function`, {
        entry,
        handler,
        description: DESCRIPTIONS[name],
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: settings.memorySizeMb[name],
        timeout: Duration.seconds(settings.timeoutSeconds[name]),
        logGroup,
        environment,
        projectRoot: PACKAGE_ROOT,
        depsLockFilePath: lockFile,
        bundling: BUNDLING,
      });
    };
    const entryOf = (name: SluiceFunctionName) => join(settings.functionsDir, `${name}.ts`);
    const functions = {} as Record<FunctionName, NodejsFunction>;
    for (const name of FUNCTION_NAMES) functions[name] = makeFunction(name, entryOf(name));
    this.functions = functions;

    // The cleanup function arrives with the retention work. Checked at synth time, so the stack
    // synthesizes both before and after `functions/cleanup.ts` exists.
    if (existsSync(entryOf('cleanup'))) {
      this.cleanupFunction = makeFunction('cleanup', entryOf('cleanup'));
      new events.Rule(this, 'CleanupSchedule', {
        description: 'Runs the Sluice cleanup: retention, orphan objects, stalled-range repair',
        schedule: events.Schedule.rate(Duration.minutes(settings.cleanupIntervalMinutes)),
        // The next scheduled run is the retry.
        targets: [new targets.LambdaFunction(this.cleanupFunction, { retryAttempts: 0 })],
      });
    }

    if (settings.dataPath === 'functionUrls') {
      // A second fetch function: a function URL's invoke mode is the function's, and API Gateway's
      // fetch routes need the buffered handler.
      this.fetchStreamFunction = makeFunction('fetch', entryOf('fetch'), 'FetchStream', 'streamHandler');
      this.functionUrls = {
        produce: this.functions.produce.addFunctionUrl({
          authType: lambda.FunctionUrlAuthType.AWS_IAM,
          invokeMode: lambda.InvokeMode.BUFFERED,
        }),
        fetch: this.fetchStreamFunction.addFunctionUrl({
          authType: lambda.FunctionUrlAuthType.AWS_IAM,
          invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
        }),
      };
    }

    this.grantStorage();

    this.accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
      description: 'Sluice: a serverless, Kafka-style event log',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Only the record-batch types are binary. Adding `*/*` would hand every JSON body to Lambda as
      // base64, a third larger against Lambda's 6 MB payload limit. A client that wants binary back
      // sends `Accept: application/vnd.kafka.record-batch` (the SDK does).
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      cloudWatchRole: settings.apiCloudWatchRole,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      deployOptions: {
        stageName: settings.stageName,
        throttlingRateLimit: settings.throttlingRateLimit,
        throttlingBurstLimit: settings.throttlingBurstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigw.AccessLogField.contextRequestId(),
            time: apigw.AccessLogField.contextRequestTimeEpoch(),
            method: apigw.AccessLogField.contextHttpMethod(),
            resourcePath: apigw.AccessLogField.contextResourcePath(),
            path: apigw.AccessLogField.contextPath(),
            status: apigw.AccessLogField.contextStatus(),
            responseLength: apigw.AccessLogField.contextResponseLength(),
            latencyMs: apigw.AccessLogField.contextResponseLatency(),
            integrationLatencyMs: apigw.AccessLogField.contextIntegrationLatency(),
            integrationStatus: apigw.AccessLogField.contextIntegrationStatus(),
            caller: apigw.AccessLogField.contextIdentityCaller(),
            userArn: apigw.AccessLogField.contextIdentityUserArn(),
            sourceIp: apigw.AccessLogField.contextIdentitySourceIp(),
            error: apigw.AccessLogField.contextErrorMessage(),
            errorType: apigw.AccessLogField.contextErrorResponseType(),
          }),
        ),
        // Per-method metrics are custom metrics billed monthly (21 routes x 7 metrics); the
        // API-wide ones used by the alarms and the dashboard are free.
        metricsEnabled: false,
      },
    });
    this.addRoutes();
    for (const [id, type, code] of GATEWAY_ERRORS) {
      const { retriable } = ERRORS[code];
      this.api.addGatewayResponse(id, {
        type,
        templates: {
          'application/json': `{"error":{"code":"${code}","message":$context.error.messageString,"retriable":${retriable},"requestId":"$context.requestId"}}`,
        },
      });
    }

    this.alarms = settings.alarms ? this.addAlarms(settings) : [];
    if (settings.dashboard) this.dashboard = this.addDashboard(settings);
  }

  /** The functions of this instance, cleanup included when present. */
  get allFunctions(): ReadonlyArray<readonly [SluiceFunctionName, NodejsFunction]> {
    const list: Array<readonly [SluiceFunctionName, NodejsFunction]> = FUNCTION_NAMES.map(
      (name) => [name, this.functions[name]] as const,
    );
    if (this.cleanupFunction) list.push(['cleanup', this.cleanupFunction]);
    return list;
  }

  /** The API's base URL, ending in the stage and a slash: `https://<id>.execute-api.<region>.amazonaws.com/prod/`. */
  get apiUrl(): string {
    return this.api.url;
  }

  /**
   * Lets a principal produce to one topic (or `Sluice.ALL`): its produce routes, plus describing the
   * topic and listing its offsets (a producer needs the partition count to partition by key). The
   * multi-partition `POST /v1/produce` names its topics in the body, so only `Sluice.ALL` grants it.
   */
  grantProduce(grantee: iam.IGrantable, topic: string): iam.Grant {
    const grant = this.grantRoutes(grantee, produceRoutes(this.literal('topic', topic)));
    // A function URL's IAM is per function: it can only be granted for all topics.
    if (topic === ALL && this.functionUrls)
      return grant.combine(this.functionUrls.produce.grantInvokeUrl(grantee));
    return grant;
  }

  /**
   * Lets a principal consume one topic (or `Sluice.ALL`) and, with a group, join that group (or
   * `Sluice.ALL` groups), heartbeat, leave and commit its offsets. `POST /v1/fetch` and the listing
   * routes (`GET /v1/topics`, `GET /v1/groups`) are granted only with `Sluice.ALL`.
   */
  grantConsume(grantee: iam.IGrantable, topic: string, group?: string): iam.Grant {
    const grant = this.grantRoutes(
      grantee,
      consumeRoutes(
        this.literal('topic', topic),
        group === undefined ? undefined : this.literal('group', group),
      ),
    );
    if (topic === ALL && this.functionUrls)
      return grant.combine(this.functionUrls.fetch.grantInvokeUrl(grantee));
    return grant;
  }

  /** Lets a principal create, delete and add partitions to any topic. */
  grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return this.grantRoutes(grantee, adminRoutes());
  }

  /** The `execute-api:Invoke` ARN of one route with its parameters filled. */
  arnForRoute(route: Pick<GrantedRoute, 'method' | 'path'>): string {
    return this.api.arnForExecuteApi(route.method, route.path, this.stageName);
  }

  private literal(what: string, name: string): string {
    if (Token.isUnresolved(name)) {
      throw new Error(
        `${what} must be a literal name, so that its IAM resource path can be checked, but a token was provided`,
      );
    }
    return name;
  }

  private grantRoutes(grantee: iam.IGrantable, routes: readonly GrantedRoute[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: routes.map((route) => this.arnForRoute(route)),
    });
  }

  /**
   * Least privilege, by grants. Only cleanup deletes objects or index entries; produce writes objects
   * and log items but deletes nothing; fetch reads, except the range repair of design §4.
   */
  private grantStorage(): void {
    const { bucket, tables } = this;
    const { admin, produce, fetch, groups } = this.functions;

    bucket.grantPut(produce);
    tables.topics.grantReadData(produce);
    tables.log.grantReadData(produce);
    // Reserve (UpdateItem on the head), commit (conditional PutItem of the index entry) and advance
    // (UpdateItem on the head): single-item writes only, no DeleteItem, no BatchWriteItem.
    tables.log.grant(produce, 'dynamodb:PutItem', 'dynamodb:UpdateItem');

    for (const reader of [fetch, ...(this.fetchStreamFunction ? [this.fetchStreamFunction] : [])]) {
      bucket.grantRead(reader);
      tables.topics.grantReadData(reader);
      tables.log.grantReadData(reader);
      // A fetch that finds the high-water mark stalled repairs it (design §4): a conditional PutItem of
      // an aborted entry at HW, then an UpdateItem advancing HW. Nothing else is written.
      tables.log.grant(reader, 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    }

    // Creating a topic writes its item and its partitions' head items; deleting one marks it.
    tables.topics.grantReadWriteData(admin);
    tables.log.grantReadWriteData(admin);

    tables.groups.grantReadWriteData(groups);
    tables.topics.grantReadData(groups);
    tables.log.grantReadData(groups);

    if (this.cleanupFunction) {
      const cleanup = this.cleanupFunction;
      // Retention deletes objects and index entries; merging writes the merged object first.
      bucket.grantRead(cleanup);
      bucket.grantPut(cleanup);
      bucket.grantDelete(cleanup);
      tables.log.grantReadWriteData(cleanup);
      tables.topics.grantReadWriteData(cleanup);
    }
  }

  /** One resource per path segment and one IAM-authorized proxy method per route, from the route table. */
  private addRoutes(): void {
    const integrations = new Map<FunctionName, apigw.LambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new apigw.LambdaIntegration(this.functions[route.function], {
          proxy: true,
          timeout: Duration.seconds(29),
          // The console's test button needs a second permission per method; the resource policy of
          // a function stays smaller without it.
          allowTestInvoke: false,
        });
        integrations.set(route.function, integration);
      }
      this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        authorizationType: authorizationType(route),
        operationName: route.operation,
      });
    }
  }

  private addAlarms(settings: SluiceSettings): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const alarms: cloudwatch.Alarm[] = [];
    const add = (id: string, props: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      for (const action of settings.alarmActions) alarm.addAlarmAction(action);
      alarms.push(alarm);
    };
    add('Api5xxAlarm', {
      alarmDescription: 'Sluice API answered 5 or more 5xx errors in 5 minutes',
      metric: this.api.metricServerError({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    for (const [name, fn] of this.allFunctions) {
      const id = pascal(name);
      add(`${id}ErrorsAlarm`, {
        alarmDescription: `Sluice ${name} function failed (crash or timeout)`,
        metric: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      add(`${id}ThrottlesAlarm`, {
        alarmDescription: `Sluice ${name} function was throttled (account or reserved concurrency)`,
        metric: fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
      add(`${id}LatencyAlarm`, {
        alarmDescription: `Sluice ${name} function p99 duration above ${settings.latencyAlarmMs[name]} ms`,
        metric: fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99) }),
        threshold: settings.latencyAlarmMs[name],
        // Two of three periods: one slow burst at low traffic is not an incident.
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }
    return alarms;
  }

  private addDashboard(settings: SluiceSettings): cloudwatch.Dashboard {
    const period = Duration.minutes(5);
    const fns = this.allFunctions;
    const perFunction = (title: string, metric: (fn: NodejsFunction) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({
        title,
        width: 6,
        left: fns.map(([name, fn]) => (metric(fn) as cloudwatch.Metric).with({ label: name, period })),
      });
    const tables = Object.entries(this.tables);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        width: 12,
        left: [
          this.api.metricCount({ period, statistic: cloudwatch.Stats.SUM, label: 'requests' }),
          this.api.metricClientError({ period, label: '4xx' }),
          this.api.metricServerError({ period, label: '5xx' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        width: 12,
        left: [
          this.api.metricLatency({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
          this.api.metricLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
          this.api.metricIntegrationLatency({
            period,
            statistic: cloudwatch.Stats.p(99),
            label: 'integration p99',
          }),
        ],
      }),
    );
    dashboard.addWidgets(
      perFunction('Invocations', (fn) => fn.metricInvocations({ statistic: cloudwatch.Stats.SUM })),
      perFunction('Errors', (fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM })),
      perFunction('Throttles', (fn) => fn.metricThrottles({ statistic: cloudwatch.Stats.SUM })),
      perFunction('Duration p99 (ms)', (fn) => fn.metricDuration({ statistic: cloudwatch.Stats.p(99) })),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity',
        width: 8,
        left: tables.map(([name, t]) => t.metricConsumedReadCapacityUnits({ period, label: `${name} read` })),
        right: tables.map(([name, t]) =>
          t.metricConsumedWriteCapacityUnits({ period, label: `${name} write` }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'Log table: failed conditions (append contention)',
        width: 8,
        left: [
          this.tables.log.metricConditionalCheckFailedRequests({ period, statistic: cloudwatch.Stats.SUM }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `Sluice metrics (${settings.metricsNamespace})`,
        width: 8,
        // Every metric the functions publish through Powertools, whatever its name.
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${settings.metricsNamespace},service} service="${settings.serviceName}"', 'Sum', 300)`,
            usingMetrics: {},
            label: '',
            period,
          }),
        ],
      }),
    );
    if (this.alarms.length > 0) {
      dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: [...this.alarms] }),
      );
    }
    return dashboard;
  }
}
