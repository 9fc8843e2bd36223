/**
 * Sluice's errors: one class, one table. Codes follow Apache Kafka's error names where Kafka has one
 * (org.apache.kafka.common.protocol.Errors); the table maps each to its HTTP status and whether a
 * client may retry. Server and client share it, so a code means the same thing on both sides.
 */

export const ERRORS = {
  // Request and data validation
  INVALID_REQUEST: { status: 400, retriable: false, message: 'The request is malformed' },
  INVALID_TOPIC: { status: 400, retriable: false, message: 'The topic name is not valid' },
  INVALID_PARTITIONS: { status: 400, retriable: false, message: 'The number of partitions is not valid' },
  INVALID_CONFIG: { status: 400, retriable: false, message: 'A configuration value is not valid' },
  CORRUPT_MESSAGE: {
    status: 400,
    retriable: false,
    message: 'A record batch failed its framing or CRC check',
  },
  INVALID_RECORD: { status: 400, retriable: false, message: 'A record is not valid' },
  UNSUPPORTED_COMPRESSION_TYPE: {
    status: 400,
    retriable: false,
    message: 'The compression type is not supported',
  },
  UNSUPPORTED_FOR_MESSAGE_FORMAT: {
    status: 400,
    retriable: false,
    message: 'The batch uses a feature Sluice does not support (transactions, control batches, magic < 2)',
  },
  MESSAGE_TOO_LARGE: {
    status: 413,
    retriable: false,
    message: 'The request or batch is larger than allowed',
  },
  RECORD_LIST_TOO_LARGE: {
    status: 413,
    retriable: false,
    message: 'The batch decompresses to more than allowed',
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, message: 'The content type is not supported' },
  // Topics and offsets
  UNKNOWN_TOPIC_OR_PARTITION: {
    status: 404,
    retriable: false,
    message: 'The topic or partition does not exist',
  },
  TOPIC_ALREADY_EXISTS: { status: 409, retriable: false, message: 'The topic already exists' },
  OFFSET_OUT_OF_RANGE: { status: 416, retriable: false, message: 'The offset is outside the log' },
  // Idempotent producer
  OUT_OF_ORDER_SEQUENCE: { status: 409, retriable: false, message: 'The producer sequence has a gap' },
  INVALID_PRODUCER_EPOCH: {
    status: 409,
    retriable: false,
    message: 'The producer epoch is older than current',
  },
  UNKNOWN_PRODUCER_ID: {
    status: 409,
    retriable: false,
    message:
      'The partition has no state for this producer (new, or expired after long idleness): restart its sequence at 0',
  },
  // Consumer groups
  FENCED: {
    status: 409,
    retriable: false,
    message: 'The member no longer owns the partition or its generation is stale',
  },
  UNKNOWN_MEMBER_ID: { status: 404, retriable: false, message: 'The member is not in the group' },
  ILLEGAL_GENERATION: {
    status: 409,
    retriable: false,
    message: 'The generation is not the group’s current one',
  },
  GROUP_ID_NOT_FOUND: { status: 404, retriable: false, message: 'The group does not exist' },
  NON_EMPTY_GROUP: { status: 409, retriable: false, message: 'The group still has members' },
  INVALID_GROUP_ID: { status: 400, retriable: false, message: 'The group name is not valid' },
  // HTTP
  UNAUTHORIZED: { status: 401, retriable: false, message: 'The request is not authenticated' },
  NOT_FOUND: { status: 404, retriable: false, message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, retriable: false, message: 'The method is not allowed on this route' },
  // Transient: a client retries these with backoff
  THROTTLED: { status: 429, retriable: true, message: 'Too many requests; retry with backoff' },
  APPEND_ABORTED: {
    status: 503,
    retriable: true,
    message: 'The append stalled and its offsets were aborted; nothing was acknowledged, retry',
  },
  STORAGE_UNAVAILABLE: { status: 503, retriable: true, message: 'S3 or DynamoDB is unavailable; retry' },
  // Not transient: the same request would grow the same item or request past the same limit again
  STORAGE_LIMIT_EXCEEDED: {
    status: 507,
    retriable: false,
    message: 'An item or request would exceed a storage service limit (e.g. DynamoDB’s 400 KB item size)',
  },
  REQUEST_TIMED_OUT: {
    status: 504,
    retriable: true,
    message: 'The request timed out; its outcome is unknown',
  },
  UNKNOWN_SERVER_ERROR: { status: 500, retriable: true, message: 'An unexpected error occurred' },
} as const satisfies Record<string, { status: number; retriable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

export interface SluiceErrorOptions {
  /** Extra fields for the JSON error body, e.g. `{ logStartOffset, highWatermark }`. */
  readonly details?: Record<string, unknown>;
  readonly cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options: SluiceErrorOptions = {}) {
    super(
      message ?? ERRORS[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retriable = ERRORS[code].retriable;
    this.details = options.details ?? {};
  }

  /** The JSON body every error response carries. */
  toJSON(): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isSluiceError(err: unknown, code?: ErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}
