import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { AWS_ONLY_MIDDLEWARE, createAwsClients, fixedEndpoint } from '../../shared/store/aws-clients';
import { useTestStorage } from '../support/suite';

type Provider = (params: object) => unknown;
const providerOf = (client: DynamoDBClient | S3Client) =>
  (client.config as unknown as { endpointProvider: Provider }).endpointProvider;

describe('Function: fixedEndpoint', () => {
  it("resolves an endpoint override exactly as the SDK's rule set does", () => {
    for (const endpoint of [
      'http://127.0.0.1:4566',
      'http://localhost:9000/',
      'http://10.0.0.7:8000/prefix',
    ]) {
      // Prepare: the SDK's own resolution, with the parameters its middleware passes
      const region = 'eu-west-1';
      const common = { Region: region, UseFIPS: false, UseDualStack: false, Endpoint: endpoint };
      const sdkS3 = providerOf(new S3Client({ region, endpoint, forcePathStyle: true }));
      const sdkDynamo = providerOf(new DynamoDBClient({ region, endpoint }));
      const s3 = fixedEndpoint(endpoint, 's3', region);
      const dynamo = fixedEndpoint(endpoint, 'dynamodb', region);
      for (const params of [
        { ...common, ForcePathStyle: true, Bucket: 'sluice-local', Key: 'segments/abc/01J' },
        { ...common, ForcePathStyle: true, Bucket: 'sluice.with.dots' },
        { ...common, ForcePathStyle: true },
      ]) {
        // Act, Assess
        expect(JSON.stringify(s3(params))).toBe(JSON.stringify(sdkS3(params)));
      }
      expect(JSON.stringify(dynamo(common))).toBe(JSON.stringify(sdkDynamo(common)));
    }
  });
});

describe('Function: createAwsClients', () => {
  it('uses the fixed endpoint only for an override, and caches the middleware stack everywhere', () => {
    const local = createAwsClients({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4566',
      bucket: 'b',
      topicsTable: 't',
      logTable: 'l',
      groupsTable: 'g',
    });
    const aws = createAwsClients({
      region: 'us-east-1',
      bucket: 'b',
      topicsTable: 't',
      logTable: 'l',
      groupsTable: 'g',
    });
    const params = { Region: 'us-east-1', UseFIPS: false, UseDualStack: false };
    expect(JSON.stringify(providerOf(aws.dynamo)(params))).toContain('dynamodb.us-east-1.amazonaws.com');
    expect(JSON.stringify(providerOf(local.dynamo)(params))).toContain('127.0.0.1:4566');
    for (const client of [local.dynamo, local.s3, aws.dynamo, aws.s3]) {
      expect((client.config as unknown as { cacheMiddleware?: boolean }).cacheMiddleware).toBe(true);
      client.destroy();
    }
  });
});

describe('Function: createAwsClients against the embedded emulators', () => {
  const storage = useTestStorage();

  it('sends DynamoDB calls unsigned and S3 calls signed, without the AWS-only headers', async () => {
    // Prepare: the headers each call goes out with, after signing
    const sent: Record<string, Record<string, string>> = {};
    const clients = createAwsClients(storage.config);
    type Request = { request: { headers: Record<string, string> } };
    const capture = (name: string) =>
      ((next: (args: Request) => Promise<unknown>) => async (args: Request) => {
        sent[name] = { ...args.request.headers };
        return next(args);
      }) as never;
    const last = { step: 'finalizeRequest', priority: 'low', name: 'captureHeaders' } as const;
    clients.dynamo.middlewareStack.add(capture('dynamo'), last);
    clients.s3.middlewareStack.add(capture('s3'), last);

    // Act: calls that dynalite and s3rver accept
    await clients.dynamo.send(
      new GetItemCommand({ TableName: storage.config.logTable, Key: { pid: { S: 'x' }, sk: { N: '0' } } }),
    );
    await clients.s3.send(new PutObjectCommand({ Bucket: storage.config.bucket, Key: 'signed', Body: 'x' }));
    clients.dynamo.destroy();
    clients.s3.destroy();

    // Assess
    expect(sent.dynamo!.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=host;x-amz-date, Signature=0{64}$/,
    );
    expect(sent.dynamo!['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(sent.s3!.authorization).toMatch(/Credential=S3RVER\/.*Signature=[0-9a-f]{64}$/);
    expect(sent.s3!.authorization).not.toMatch(/Signature=0{64}$/);
    for (const headers of [sent.dynamo!, sent.s3!]) {
      expect(Object.keys(headers)).not.toContain('user-agent');
      expect(Object.keys(headers)).not.toContain('x-amz-user-agent');
    }
  });

  it('keeps the signer and every header for LocalStack and AWS', () => {
    const { dynamo, s3 } = createAwsClients({ ...storage.config, embedded: false });
    for (const client of [dynamo, s3]) {
      const stack = client.middlewareStack.identify().join(' ');
      for (const name of AWS_ONLY_MIDDLEWARE) expect(stack).toContain(name);
      client.destroy();
    }
    expect((dynamo.config as unknown as { signer?: unknown }).signer).not.toHaveProperty('sign');
  });
});
