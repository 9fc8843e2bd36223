import { type PartitionKey, partitionKey } from '../model/partitions';
import type { TopicPartition } from './types';

/** A partition as one string, `<topic>#<partition>` (shared/model/partitions.ts). */
export { type PartitionKey, partitionKey };

export function keyOf(tp: TopicPartition): PartitionKey {
  return partitionKey(tp.topic, tp.partition);
}

export function parsePartitionKey(key: PartitionKey): TopicPartition {
  const at = key.lastIndexOf('#');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** Orders by topic, then by partition number (not as strings: 10 comes after 9). */
export function comparePartitionKeys(a: PartitionKey, b: PartitionKey): number {
  const pa = parsePartitionKey(a);
  const pb = parsePartitionKey(b);
  if (pa.topic !== pb.topic) return pa.topic < pb.topic ? -1 : 1;
  return pa.partition - pb.partition;
}

export function sortPartitionKeys(keys: Iterable<PartitionKey>): PartitionKey[] {
  return [...keys].sort(comparePartitionKeys);
}

export function toTopicPartitions(keys: Iterable<PartitionKey>): TopicPartition[] {
  return sortPartitionKeys(keys).map(parsePartitionKey);
}
