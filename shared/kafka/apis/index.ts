import { apiVersions } from './api-versions';
import type { KafkaApi } from './types';

/**
 * Every Kafka API the listener implements: the one list the server dispatches on and ApiVersions
 * advertises. One line per API; keep it sorted by key.
 */
export const KAFKA_APIS: readonly KafkaApi[] = [
  apiVersions, // 18
];
