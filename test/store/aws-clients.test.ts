import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createAwsClients, fixedEndpoint } from '../../shared/store/aws-clients';

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
