import * as fetchOps from './fetch';
import * as groupOps from './groups';
import * as produceOps from './produce';
import * as topicOps from './topics';
import type { Operation } from './types';

export type { Operation } from './types';

/** Every operation of the route table, by its operationId. A test checks that each route has one. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  createTopic: topicOps.createTopic,
  listTopics: topicOps.listTopics,
  describeTopic: topicOps.describeTopic,
  deleteTopic: topicOps.deleteTopic,
  createPartitions: topicOps.createPartitions,
  alterTopicConfig: topicOps.alterTopicConfig,
  listOffsets: topicOps.listOffsets,
  produceRecords: produceOps.produceRecords,
  produceBatches: produceOps.produceBatches,
  produce: produceOps.produce,
  fetchBatches: fetchOps.fetchBatches,
  fetchRecords: fetchOps.fetchRecords,
  fetch: fetchOps.fetch,
  listGroups: groupOps.listGroups,
  describeGroup: groupOps.describeGroup,
  deleteGroup: groupOps.deleteGroup,
  joinGroup: groupOps.joinGroup,
  heartbeat: groupOps.heartbeat,
  leaveGroup: groupOps.leaveGroup,
  commitOffsets: groupOps.commitOffsets,
  fetchOffsets: groupOps.fetchOffsets,
  resetOffsets: groupOps.resetOffsets,
};
