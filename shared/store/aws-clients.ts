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
 * Against the embedded emulators (`config.embedded`), two more, since on the local stack every call's
 * CPU is taken from the same two cores as the calls it waits for:
 * - DynamoDB calls are not signed: dynalite checks that the Authorization header has SigV4's shape and
 *   that X-Amz-Date is there, never the signature (its index.js), so they carry that shape without the
 *   hashing. The SDK would otherwise also build a new SignatureV4 from a copy of its whole config on
 *   every call. s3rver does check signatures: S3 calls stay signed.
 * - No User-Agent (built and escaped on every call) and no recursion-detection header (a Lambda's
 *   trace id, which a local stack has not).
 * Kept as they are: retries (a loopback connection can still be reset), and the credentials — fixed
 * ones locally, so no provider chain runs; on AWS the default chain resolves once and caches.
 * Keep-alive is the SDK's default; locally the agent allows more sockets than its 50, as a busy stack
 * has more calls than that in flight.
 */
export function createAwsClients(config: StorageConfig, options: { maxAttempts?: number } = {}): AwsClients {
  const maxAttempts = options.maxAttempts ?? 5;
  const dynamoEndpoint = config.dynamoEndpoint ?? config.endpoint;
  const s3Endpoint = config.s3Endpoint ?? config.endpoint;
  const local = dynamoEndpoint !== undefined || s3Endpoint !== undefined;
  // s3rver accepts only its own fixed key pair; dynalite and LocalStack accept any.
  const credentials = local ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } : undefined;
  const requestHandler = local ? { httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }) } : undefined;
  const embedded = config.embedded === true;
  const clients = {
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
      ...(embedded ? { signer: dynaliteStamp(config.region) } : {}),
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
  if (embedded) {
    for (const client of [clients.dynamo, clients.s3]) {
      for (const name of AWS_ONLY_MIDDLEWARE) client.middlewareStack.remove(name);
    }
  }
  return clients;
}

/** Middleware that only AWS itself reads: the User-Agent header and the Lambda trace id's header. */
export const AWS_ONLY_MIDDLEWARE = ['getUserAgentMiddleware', 'recursionDetectionMiddleware'] as const;

type RequestSigner = Exclude<NonNullable<DynamoDBClientConfig['signer']>, (...args: never[]) => unknown>;

/**
 * What dynalite checks of a request's signing, and no more: an Authorization header with SigV4's
 * algorithm, Credential, SignedHeaders and Signature, and an X-Amz-Date. The signature is not computed.
 */
export function dynaliteStamp(region: string): RequestSigner {
  return {
    async sign(request, options) {
      const date = new Date(options?.signingDate ?? Date.now()).toISOString().replace(/[-:]|\.\d{3}/g, '');
      request.headers['x-amz-date'] = date;
      request.headers.authorization =
        `AWS4-HMAC-SHA256 Credential=local/${date.slice(0, 8)}/${region}/dynamodb/aws4_request, ` +
        `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
      return request;
    },
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
