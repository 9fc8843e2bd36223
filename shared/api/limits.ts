import { LOG_LIMITS } from '../model/limits';

/**
 * Limits enforced where requests enter, documented in docs/openapi.yaml. A request beyond one is
 * rejected (never silently clamped) with a message that states the limit and the value received.
 */
export const API_LIMITS = {
  /** Largest request body of any route, in bytes. Fits a 6 MB Lambda payload after API Gateway's base64. */
  maxBodyBytes: LOG_LIMITS.maxProduceBytes,
  /** Largest body the local gateway reads before answering 413 (API Gateway's own payload limit). */
  maxGatewayBodyBytes: 10 * 1024 * 1024,
  /** Most records in one JSON produce request. */
  maxRecordsPerRequest: 10_000,
  /** Most partitions in one multi-partition produce or fetch (`POST /v1/produce`, `POST /v1/fetch`). */
  maxPartitionsPerRequest: 1_000,
  /** Deepest nesting of arrays and objects in a JSON body (Sluice's own schemas need 4). */
  maxJsonDepth: 8,
  /** Most values (array elements and object members) in a JSON body. */
  maxJsonValues: 250_000,
  /** Largest answer of any fetch route, in bytes; also the cap of `maxBytes`. */
  maxFetchBytes: LOG_LIMITS.maxFetchBytes,
  /** `maxBytes` of a fetch when the request gives none. */
  defaultFetchMaxBytes: 1024 * 1024,
  /** Cap of a fetch's `maxWaitMs` (its long poll); well under API Gateway's 29 s timeout. */
  maxWaitMs: LOG_LIMITS.maxWaitMsCap,
  /** Largest partition number accepted in a path or body (Kafka's int32); beyond a topic's count is 404. */
  maxPartitionNumber: LOG_LIMITS.maxPartitionNumber,
  /** Longest topic name, group id or member id. */
  maxNameLength: LOG_LIMITS.maxTopicNameLength,
} as const;
