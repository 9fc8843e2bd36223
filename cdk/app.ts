import { App, RemovalPolicy } from 'aws-cdk-lib';
import { SluiceStack } from './sluice-stack';

/**
 * `npx cdk deploy` (or `cdklocal deploy`). Settings through context, e.g.
 * `npx cdk deploy -c sluice:removalPolicy=destroy -c sluice:deletionProtection=false`:
 * - `sluice:stackName`: the stack's name (default `Sluice`);
 * - `sluice:removalPolicy`: `retain` (default) or `destroy`, for the bucket, tables and logs;
 * - `sluice:deletionProtection`: `true` (default) or `false`, for the tables;
 * - `sluice:dataPath`: `apiGateway` (default) or `functionUrls` (produce and fetch also on Lambda
 *   function URLs, without API Gateway's per-request fee).
 */
const app = new App();

function context(key: string, allowed: readonly string[], fallback: string): string {
  const value = app.node.tryGetContext(key);
  if (value === undefined) return fallback;
  const text = String(value);
  if (!allowed.includes(text)) {
    throw new Error(
      `context ${key} must be one of ${allowed.join(', ')}, but ${JSON.stringify(value)} was provided`,
    );
  }
  return text;
}

const stackName = app.node.tryGetContext('sluice:stackName') ?? 'Sluice';
new SluiceStack(app, String(stackName), {
  description: 'Sluice: a serverless, Kafka-style event log (S3, DynamoDB, Lambda, API Gateway)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  sluice: {
    removalPolicy:
      context('sluice:removalPolicy', ['retain', 'destroy'], 'retain') === 'destroy'
        ? RemovalPolicy.DESTROY
        : RemovalPolicy.RETAIN,
    deletionProtection: context('sluice:deletionProtection', ['true', 'false'], 'true') === 'true',
    dataPath: context('sluice:dataPath', ['apiGateway', 'functionUrls'], 'apiGateway') as
      | 'apiGateway'
      | 'functionUrls',
  },
});
