/**
 * Kafka answers per partition, in the request's order: a request refused whole answers every
 * partition it names with the same error.
 */
interface TopicPartitions<P> {
  readonly name: string;
  readonly partitions: readonly P[];
}

export function perPartition<P, R>(
  topics: readonly TopicPartitions<P>[],
  answer: (partition: P) => R,
): { name: string; partitions: R[] }[] {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map(answer) }));
}
