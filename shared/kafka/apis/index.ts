import { apiVersions } from './api-versions';
import { createPartitions } from './create-partitions';
import { createTopics } from './create-topics';
import { deleteGroups } from './delete-groups';
import { deleteTopics } from './delete-topics';
import { describeCluster } from './describe-cluster';
import { describeConfigs } from './describe-configs';
import { describeGroups } from './describe-groups';
import { fetch } from './fetch';
import { findCoordinator } from './find-coordinator';
import { heartbeat } from './heartbeat';
import { initProducerId } from './init-producer-id';
import { joinGroup } from './join-group';
import { leaveGroup } from './leave-group';
import { listGroups } from './list-groups';
import { listOffsets } from './list-offsets';
import { metadata } from './metadata';
import { offsetCommit } from './offset-commit';
import { offsetDelete } from './offset-delete';
import { offsetFetch } from './offset-fetch';
import { produce } from './produce';
import { syncGroup } from './sync-group';
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
  offsetCommit, // 8
  offsetFetch, // 9
  findCoordinator, // 10
  joinGroup, // 11
  heartbeat, // 12
  leaveGroup, // 13
  syncGroup, // 14
  describeGroups, // 15
  listGroups, // 16
  apiVersions, // 18
  createTopics, // 19
  deleteTopics, // 20
  initProducerId, // 22
  describeConfigs, // 32
  createPartitions, // 37
  deleteGroups, // 42
  offsetDelete, // 47
  describeCluster, // 60
];
