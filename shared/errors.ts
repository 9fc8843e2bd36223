/**
 * Sluice's errors: one class, one table. Codes follow Apache Kafka's error names where Kafka has one
 * (org.apache.kafka.common.protocol.Errors); the table maps each to its HTTP status and whether a
 * client may retry. Server and client share it, so a code means the same thing on both sides.
 *
 * As in Kafka, an error nobody anticipated (UNKNOWN_SERVER_ERROR) is not retriable: it may be a bug,
 * and repeating the request repeats the bug. Transient failures each have a retriable code of their
 * own. `answers` lists the HTTP statuses a code stands for when the answer carries no Sluice error body
 * (a proxy or API Gateway answered instead of Sluice): see codeForStatus.
 */

export const ERRORS = {
  // Request and data validation
  INVALID_REQUEST: { status: 400, retriable: false, message: 'The request is malformed', answers: [400] },
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
    answers: [413],
  },
  RECORD_LIST_TOO_LARGE: {
    status: 413,
    retriable: false,
    message: 'The batch decompresses to more than allowed',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retriable: false,
    message: 'The content type is not supported',
    answers: [415],
  },
  NOT_ACCEPTABLE: {
    status: 406,
    retriable: false,
    message: 'The route answers binary data; the request must accept it',
    answers: [406],
  },
  // Topics and offsets
  UNKNOWN_TOPIC_OR_PARTITION: {
    status: 404,
    retriable: false,
    message: 'The topic or partition does not exist',
  },
  TOPIC_ALREADY_EXISTS: { status: 409, retriable: false, message: 'The topic already exists' },
  OFFSET_OUT_OF_RANGE: {
    status: 416,
    retriable: false,
    message: 'The offset is outside the log',
    answers: [416],
  },
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
  INCONSISTENT_GROUP_PROTOCOL: {
    status: 409,
    retriable: false,
    message: 'The group has members of the other kind (Kafka clients or Sluice SDK consumers)',
  },
  // HTTP
  UNAUTHORIZED: {
    status: 401,
    retriable: false,
    message: 'The request is not authenticated',
    answers: [401, 403],
  },
  NOT_FOUND: { status: 404, retriable: false, message: 'No such route', answers: [404] },
  METHOD_NOT_ALLOWED: {
    status: 405,
    retriable: false,
    message: 'The method is not allowed on this route',
    answers: [405],
  },
  // Transient: a client retries these with backoff
  THROTTLED: {
    status: 429,
    retriable: true,
    message: 'Too many requests; retry with backoff',
    answers: [429],
  },
  CONCURRENT_UPDATE: {
    status: 503,
    retriable: true,
    message: 'Concurrent requests kept changing the same state; nothing was written, retry',
  },
  APPEND_ABORTED: {
    status: 503,
    retriable: true,
    message: 'The append stalled and its offsets were aborted; nothing was acknowledged, retry',
  },
  STORAGE_UNAVAILABLE: {
    status: 503,
    retriable: true,
    message: 'S3 or DynamoDB is unavailable; retry',
    answers: [503],
  },
  // Not transient: the same request would grow the same item or request past the same limit again
  STORAGE_LIMIT_EXCEEDED: {
    status: 507,
    retriable: false,
    message: 'An item or request would exceed a storage service limit (e.g. DynamoDB’s 400 KB item size)',
    answers: [507],
  },
  REQUEST_TIMED_OUT: {
    status: 504,
    retriable: true,
    message: 'The request timed out; its outcome is unknown',
    answers: [504],
  },
  NETWORK_EXCEPTION: {
    status: 502,
    retriable: true,
    message: 'The connection failed or a gateway could not reach the server; the outcome is unknown',
    answers: [502],
  },
  UNKNOWN_SERVER_ERROR: {
    status: 500,
    retriable: false,
    message: 'An unexpected error occurred',
    answers: [500],
  },
} as const satisfies Record<
  string,
  { status: number; retriable: boolean; message: string; answers?: readonly number[] }
>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Why a commit was FENCED, in its `reason` detail, so a client tells the conditions apart without
 * reading the message: the group does not know the member (UNKNOWN_MEMBER) or its session ended
 * (SESSION_ENDED) — the member must join again; the commit's generation is newer than the group's
 * (GENERATION_AHEAD); the member does not own a partition at that generation (NOT_OWNER) or lost one
 * while committing (LOST_WHILE_COMMITTING) — its other partitions stay its own.
 */
export type FencedReason =
  | 'UNKNOWN_MEMBER'
  | 'SESSION_ENDED'
  | 'GENERATION_AHEAD'
  | 'NOT_OWNER'
  | 'LOST_WHILE_COMMITTING';

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

const CODE_BY_STATUS: ReadonlyMap<number, ErrorCode> = (() => {
  const byStatus = new Map<number, ErrorCode>();
  for (const [code, entry] of Object.entries(ERRORS) as [ErrorCode, { answers?: readonly number[] }][]) {
    for (const status of entry.answers ?? []) {
      const other = byStatus.get(status);
      if (other !== undefined) throw new Error(`HTTP ${status} is answered by both ${other} and ${code}`);
      byStatus.set(status, code);
    }
  }
  return byStatus;
})();

/**
 * The code an error answer without Sluice's error body stands for (a proxy or API Gateway answered):
 * the code of ERRORS whose `answers` lists the status; any other 5xx is UNKNOWN_SERVER_ERROR, any other
 * status INVALID_REQUEST.
 */
export function codeForStatus(status: number): ErrorCode {
  return CODE_BY_STATUS.get(status) ?? (status >= 500 ? 'UNKNOWN_SERVER_ERROR' : 'INVALID_REQUEST');
}

/** A value as it appears in an error message: quoted and escaped, and cut if long. */
export function show(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 64 ? `${value.slice(0, 64)}…` : value;
    const text = JSON.stringify(cut);
    return value.length > 64 ? `${text} (${value.length} characters)` : text;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
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
