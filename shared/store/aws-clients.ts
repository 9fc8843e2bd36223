import { Agent } from 'node:http';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
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
 *
 * What each call costs on the local path was measured (a CPU profile of GetItem, UpdateItem, PutObject
 * and GetObject against the emulators): about a third of a call's CPU is the SDK's own middleware. Two
 * settings cut what is not needed, and neither changes what goes on the wire:
 * - `cacheMiddleware`: the middleware stack is resolved once per command class instead of on every
 *   call (the SDK's option; it requires that no per-command middleware be added, and none is). On AWS
 *   too.
 * - with an endpoint override, a fixed endpoint: the SDK otherwise evaluates its endpoint rule set on
 *   every call only to return the URL it was given (for S3 path-style, that URL and the bucket).
 * Kept as they are: SigV4 signing (s3rver checks signatures), retries (a loopback connection can still
 * be reset), and the credentials — fixed ones locally, so no provider chain runs; on AWS the default
 * chain resolves once and caches. Keep-alive is the SDK's default; locally the agent allows more
 * sockets than its 50, as a busy stack has more calls than that in flight.
 */
export function createAwsClients(config: StorageConfig, options: { maxAttempts?: number } = {}): AwsClients {
  const maxAttempts = options.maxAttempts ?? 5;
  const dynamoEndpoint = config.dynamoEndpoint ?? config.endpoint;
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const local = dynamoEndpoint !== undefined || s3Endpoint !== undefined;
  // s3rver accepts only its own fixed key pair; dynalite and LocalStack accept any.
  const credentials = local ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } : undefined;
  const requestHandler = local ? { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) } : undefined;
  return {
    dynamo: new DynamoDBClient({
      region: config.region,
      ...(dynamoEndpoint
        ? {
            endpoint: dynamoEndpoint,
            endpointProvider: fixedEndpoint(dynamoEndpoint, 'dynamodb', config.region),
          }
        : {}),
      ...(credentials && !process.env.AWS_ACCESS_KEY_ID ? { credentials } : {}),
      ...(requestHandler ? { requestHandler } : {}),
      maxAttempts,
      cacheMiddleware: true,
    }),
    s3: new S3Client({
      region: config.region,
      ...(s3Endpoint
        ? {
            endpoint: s3Endpoint,
            forcePathStyle: true,
            endpointProvider: fixedEndpoint(s3Endpoint, 's3', config.region),
          }
        : {}),
      ...(credentials && !process.env.AWS_ACCESS_KEY_ID ? { credentials } : {}),
      ...(requestHandler ? { requestHandler } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts,
      cacheMiddleware: true,
    }),
  };
}

/**
 * The endpoint an override names, exactly as the SDK's rule set resolves it (test/store/aws-clients.test.ts
 * compares the two): the URL; for S3 in path style with the bucket as the first
 * path segment, signed as S3 (SigV4, no double encoding of the path).
 */
type Endpoint = ReturnType<NonNullable<DynamoDBClientConfig['endpointProvider']>>;

export function fixedEndpoint(
  endpoint: string,
  service: 'dynamodb' | 's3',
  region: string,
): (params: object) => Endpoint {
  const base = endpoint.replace(/\/+$/, '');
  const root = new URL(base);
  if (service === 'dynamodb') return () => ({ url: root, properties: {}, headers: {} });
  // The rule set's own shape (the SDK's AuthScheme type does not declare disableDoubleEncoding).
  const properties = {
    authSchemes: [{ disableDoubleEncoding: true, name: 'sigv4', signingName: 's3', signingRegion: region }],
  } as unknown as Endpoint['properties'];
  return (params: object) => {
    const bucket = (params as { Bucket?: string }).Bucket;
    const url = bucket ? new URL(`${base}/${encodeURIComponent(bucket)}`) : root;
    return { url, properties, headers: {} };
  };
}
