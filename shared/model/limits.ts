/**
 * Limits of the log, documented in the README and docs/openapi.yaml and enforced where requests enter
 * (each door validates through shared/model/names.ts and these numbers, so the doors cannot drift).
 */
export const LOG_LIMITS = {
  /** Most partitions a topic may have. */
  maxPartitions: 1024,
  /**
   * Largest partition number a request may name: Kafka's int32. A number beyond a topic's partition
   * count is a partition that does not exist (UNKNOWN_TOPIC_OR_PARTITION), not a malformed request.
   */
  maxPartitionNumber: 2 ** 31 - 1,
  /** Longest topic name, as in Kafka. */
  maxTopicNameLength: 249,
  /** Longest group name: as for topics (README, docs/openapi.yaml). */
  maxGroupNameLength: 249,
  /** Longest member id a request may carry (ids are server-made UUIDs; this only bounds bad input). */
  maxMemberIdLength: 255,
  /** Largest produce request body (all batches together): what a Lambda sync payload carries after base64. */
  maxProduceBytes: 4 * 1024 * 1024,
  /** Largest fetch answer; also the cap on maxBytes. Fits a Lambda response after base64 (6 MB). */
  maxFetchBytes: 4 * 1024 * 1024,
  /** Default and cap of a fetch's long poll. */
  defaultMaxWaitMs: 0,
  maxWaitMsCap: 20_000,
  /** A batch may not decompress to more than this (guards against compression bombs). */
  maxDecompressedBatchBytes: 64 * 1024 * 1024,
} as const;
