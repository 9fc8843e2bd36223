/**
 * Fields that many Kafka responses carry alike: an ErrorCode int16 beside an ErrorMessage
 * NULLABLE_STRING, and the AuthorizedOperations int32 answered when the client did not ask for them.
 */

export interface ErrorFields {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** Kafka's AuthorizedOperations value when the request did not include them (Integer.MIN_VALUE). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;
