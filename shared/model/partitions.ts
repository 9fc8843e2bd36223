/**
 * A partition as one string. Each form has one helper, so no module spells a key by hand; the forms
 * that are stored must never change:
 * - `<topicId>#<partition>` (partitionLogId, stored): a partition of one incarnation of a topic — the
 *   partition key of the log table, so a topic deleted and created again starts a new log.
 * - `<topic>#<partition>` (partitionKey, stored): a partition by its topic's name — the keys of maps and
 *   sets in the group state and the tail of a committed offset's sort key. Topic names never contain '#'.
 * - `<topic>/<partition>` (partitionLabel, stored): a partition as people read it (messages, the CLI), and
 *   the cleanup's resume cursor in its lease. Topic names never contain '/'.
 * - `<topic>\0<partition>` (partitionMemoryKey): a key of in-memory maps that a prefix test by topic
 *   (`<topic>\0`) cannot confuse with another topic's. Never stored.
 */
export type PartitionKey = string;

export function partitionKey(topic: string, partition: number): PartitionKey {
  return `${topic}#${partition}`;
}

/** The log table's partition key of `partition` of the topic with this id. */
export function partitionLogId(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

export function partitionLabel(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

export function parsePartitionLabel(label: string): { topic: string; partition: number } {
  const slash = label.lastIndexOf('/');
  return { topic: label.slice(0, slash), partition: Number(label.slice(slash + 1)) };
}

export function partitionMemoryKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** What every partitionMemoryKey of `topic` starts with, and no other topic's does. */
export function partitionMemoryKeyPrefix(topic: string): string {
  return `${topic}\u0000`;
}
