/**
 * Sluice's client SDK, shaped like KafkaJS: `new Sluice({ endpoint })`, then `.producer()`,
 * `.consumer()` and `.admin()`. Errors are SluiceErrors from the same table the server uses.
 */

export { partitionForKey } from '../shared/codec/partitioner';
export type { Compression } from '../shared/codec/record-batch';
export { ERRORS, type ErrorCode, isSluiceError, SluiceError } from '../shared/errors';
export {
  Admin,
  type CommittedOffset,
  type GroupDescription,
  type GroupMember,
  type GroupOverview,
  type GroupPartitionLag,
  type GroupState,
  type ITopicConfig,
  type PartitionInfo,
  type PartitionOffsets,
  parseResetTarget,
  type ResetTarget,
  type TopicDescription,
  type TopicInfo,
} from './admin';
export { Consumer } from './consumer/consumer';
export {
  type Batch,
  CONSUMER_DEFAULTS,
  CONSUMER_PROFILES,
  type ConsumerEvents,
  type ConsumerOptions,
  type ConsumerProfile,
  type EachBatchPayload,
  type EachMessagePayload,
  type FetchEventPartition,
  type RunOptions,
  type SubscribeOptions,
} from './consumer/types';
export {
  type Partitioner,
  PRODUCER_DEFAULTS,
  PRODUCER_PROFILES,
  Producer,
  type ProducerBatch,
  type ProducerOptions,
  type ProducerProfile,
  type ProducerRecord,
  type ProducerStats,
} from './producer';
export { DEFAULT_RETRY, type RetryOptions, withRetry } from './retry';
export { Sluice, type SluiceConfig } from './sluice';
export type { AwsCredentials, AwsCredentialsProvider, FunctionUrls, RetryEvent } from './transport';
export type {
  ConsumedHeaders,
  KafkaMessage,
  Message,
  MessageHeaders,
  RecordMetadata,
  TopicPartition,
  TopicPartitionOffset,
} from './types';
