/**
 * A partition as one string. Two forms, one helper each, so no module spells a key by hand:
 * - `<topic>#<partition>` (PartitionKey): a partition by its topic's name — the keys of maps and sets in
 *   the group state and the tail of a committed offset's sort key. Topic names never contain '#'.
 * - `<topicId>#<partition>` (the log's partition id): a partition of one incarnation of a topic — the
 *   partition key of the log table, so a topic deleted and created again starts a new log.
 */
export type PartitionKey = string;

export function partitionKey(topic: string, partition: number): PartitionKey {
  return `${topic}#${partition}`;
}

/** The log table's partition key of `partition` of the topic with this id. */
export function partitionLogId(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}
