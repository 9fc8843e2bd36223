import { apiVersions } from './api-versions';
import { fetch } from './fetch';
import { listOffsets } from './list-offsets';
import { metadata } from './metadata';
import { produce } from './produce';
import type { KafkaApi } from './types';

/**
 * Every Kafka API the listener implements: the one list the server dispatches on and ApiVersions
 * advertises. One line per API; keep it sorted by key.
 */
export const KAFKA_APIS: readonly KafkaApi[] = [
  produce, // 0
  fetch, // 1
  listOffsets, // 2
  metadata, // 3
  apiVersions, // 18
];
