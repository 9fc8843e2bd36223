export { Consumer } from './consumer';
export {
  type Batch,
  CONSUMER_DEFAULTS,
  type ConsumerEvents,
  type ConsumerOptions,
  type EachBatchPayload,
  type EachMessagePayload,
  type FetchEventPartition,
  type RunOptions,
  type SubscribeOptions,
} from './types';
