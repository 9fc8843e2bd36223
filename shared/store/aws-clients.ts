import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config';

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
}

/**
 * One DynamoDB and one S3 client per process (warm Lambdas reuse them). With an endpoint override
 * (LocalStack, emulators) S3 uses path-style addressing, and checksums only when required: with the
 * SDK's default, s3rver stores aws-chunked framing inside the object (facts.md).
 */
export function createAwsClients(config: StorageConfig, options: { maxAttempts?: number } = {}): AwsClients {
  const maxAttempts = options.maxAttempts ?? 5;
  const dynamoEndpoint = config.dynamoEndpoint ?? config.endpoint;
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const local = dynamoEndpoint !== undefined || s3Endpoint !== undefined;
  // s3rver accepts only its own fixed key pair; dynalite and LocalStack accept any.
  const credentials = local ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } : undefined;
  return {
    dynamo: new DynamoDBClient({
      region: config.region,
      ...(dynamoEndpoint ? { endpoint: dynamoEndpoint } : {}),
      ...(credentials && !process.env.AWS_ACCESS_KEY_ID ? { credentials } : {}),
      maxAttempts,
    }),
    s3: new S3Client({
      region: config.region,
      ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
      ...(credentials && !process.env.AWS_ACCESS_KEY_ID ? { credentials } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts,
    }),
  };
}
