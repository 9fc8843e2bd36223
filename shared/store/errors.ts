import { SluiceError } from '../errors';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'SlowDown',
  'TooManyRequestsException',
]);

/**
 * Translates an AWS error the adapter does not handle itself into a domain error: throttling and
 * 5xx become retriable errors (the SDK has already retried them), so a client backs off and retries;
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
