import { SluiceError } from '../errors';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'SlowDown',
  'TooManyRequestsException',
]);

/**
 * DynamoDB and S3 limits, recognised by the error they raise: a request that hits one fails the same
 * way every time, so it is a non-retriable STORAGE_LIMIT_EXCEEDED naming the limit, never a retriable
 * unknown error (a client would retry it forever).
 */
const LIMITS: readonly { readonly test: RegExp; readonly limit: string }[] = [
  {
    test: /item size (to update )?has exceeded the maximum allowed size/i,
    limit: 'DynamoDB item size (400 KB)',
  },
  { test: /size of hashkey has exceeded/i, limit: 'DynamoDB partition key size (2048 bytes)' },
  {
    test: /size of all range keys has exceeded|range key.*exceeded the size limit/i,
    limit: 'DynamoDB sort key size (1024 bytes)',
  },
  {
    test: /too many items requested for the batchwriteitem|requestItems.*less than or equal to 25/is,
    limit: 'DynamoDB BatchWriteItem (25 requests)',
  },
  { test: /too many items requested for the batchgetitem/i, limit: 'DynamoDB BatchGetItem (100 keys)' },
  {
    test: /expression size has exceeded|expression.*too (long|large)/i,
    limit: 'DynamoDB expression size (4 KB)',
  },
  { test: /request size|payload size|maximum (allowed )?(request )?size/i, limit: 'DynamoDB request size' },
  { test: /item collection.*size limit/i, limit: 'DynamoDB item collection size (10 GB)' },
];

const LIMIT_NAMES: Readonly<Record<string, string>> = {
  ItemCollectionSizeLimitExceededException: 'DynamoDB item collection size (10 GB)',
  RequestEntityTooLarge: 'DynamoDB request size (16 MB)',
  EntityTooLarge: 'S3 object size',
  MaxMessageLengthExceeded: 'S3 request size',
  KeyTooLongError: 'S3 key length (1024 bytes)',
};

function limitOf(name: string, message: string, status: number): string | undefined {
  if (LIMIT_NAMES[name] !== undefined) return LIMIT_NAMES[name];
  if (status === 413) return 'request size';
  if (name !== 'ValidationException' && !name.endsWith('ValidationException')) return undefined;
  return LIMITS.find((l) => l.test.test(message))?.limit;
}

/**
 * Translates an AWS error the adapter does not handle itself into a domain error: throttling and
 * 5xx become retriable errors (the SDK has already retried them), so a client backs off and retries;
 * a request past a service limit becomes a non-retriable STORAGE_LIMIT_EXCEEDED naming the limit;
 * nothing is reported as a success. Errors that are not AWS service errors are rethrown unchanged.
 */
export function translateAwsError(err: unknown, operation: string): never {
  if (err instanceof SluiceError) throw err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; code?: string };
  const name = e?.name ?? '';
  if (THROTTLING.has(name)) {
    throw new SluiceError('THROTTLED', `${operation} was throttled by AWS (${name})`, { cause: err });
  }
  const status = e?.$metadata?.httpStatusCode ?? 0;
  const message = (err as { message?: unknown })?.message;
  const limit = limitOf(name, typeof message === 'string' ? message : '', status);
  if (limit !== undefined) {
    throw new SluiceError(
      'STORAGE_LIMIT_EXCEEDED',
      `${operation} exceeded the ${limit} limit (${name}: ${String(message)}); retrying cannot succeed`,
      { cause: err, details: { limit } },
    );
  }
  const networkError = [
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'TimeoutError',
    'AbortError',
  ].some((code) => name === code || e?.code === code);
  if (status >= 500 || e?.$fault === 'server' || networkError) {
    throw new SluiceError('STORAGE_UNAVAILABLE', `${operation} failed: ${name || 'server error'}`, {
      cause: err,
    });
  }
  throw err;
}

/** True for the DynamoDB error a failed ConditionExpression raises. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalCheckFailedException';
}
