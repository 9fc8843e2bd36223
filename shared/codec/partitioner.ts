/**
 * Kafka's default partitioning, so a key lands on the partition a Java or kafkajs producer would choose.
 *
 *   keyed:   toPositive(murmur2(utf-8 key bytes)) % partitionCount
 *   no key:  sticky — one partition per topic until a batch for it is sent, then another one
 *
 * murmur2 follows org.apache.kafka.common.utils.Utils.murmur2:
 * https://github.com/apache/kafka/blob/trunk/clients/src/main/java/org/apache/kafka/common/utils/Utils.java
 * The sticky choice follows StickyPartitionCache (Kafka 2.4–3.2, KIP-480):
 * https://github.com/apache/kafka/blob/3.2/clients/src/main/java/org/apache/kafka/clients/producer/internals/StickyPartitionCache.java
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 hash of `bytes`, as a signed 32-bit number. Math.imul keeps it in int32 arithmetic. */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = SEED ^ length;
  const end4 = length & ~3;
  for (let i = 0; i < end4; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The tail bytes fold in as Java's fall-through switch does: 3 → 2 → 1.
  const tail = length & 3;
  if (tail !== 0) {
    if (tail === 3) h ^= bytes[end4 + 2]! << 16;
    if (tail >= 2) h ^= bytes[end4 + 1]! << 8;
    h ^= bytes[end4]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which overflows on −2^31). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

function checkPartitionCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, but ${partitionCount} was provided`);
  }
}

/** The partition Kafka's default partitioner gives a key: strings are hashed as UTF-8. */
export function partitionForKey(key: Buffer | string, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return toPositive(murmur2(bytes)) % partitionCount;
}

/**
 * Partitions for records without a key, as Kafka's sticky partitioner: every record of a topic goes to
 * one partition, chosen at random, until a batch for that partition is sent (`onNewBatch`); then the
 * topic moves to a different random partition. Fuller batches, fewer requests.
 */
export class StickyPartitioner {
  private readonly sticky = new Map<string, { partition: number; partitionCount: number }>();
  private readonly random: () => number;

  /** @param random a source of numbers in [0, 1), for tests. @default Math.random */
  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  /** The topic's current partition. */
  partition(topic: string, partitionCount: number): number {
    checkPartitionCount(partitionCount);
    const current = this.sticky.get(topic);
    if (current !== undefined && current.partitionCount === partitionCount) return current.partition;
    return this.choose(topic, partitionCount, -1);
  }

  /**
   * A batch for `previous` was sent: if the topic still sticks to it, move to another partition. Calls
   * for a partition the topic already left change nothing (as Kafka's `replace(topic, prev, new)`).
   */
  onNewBatch(topic: string, partitionCount: number, previous: number): number {
    checkPartitionCount(partitionCount);
    const current = this.sticky.get(topic);
    if (
      current !== undefined &&
      current.partitionCount === partitionCount &&
      current.partition !== previous
    ) {
      return current.partition;
    }
    return this.choose(topic, partitionCount, previous);
  }

  private choose(topic: string, partitionCount: number, avoid: number): number {
    let partition: number;
    if (partitionCount === 1) {
      partition = 0;
    } else if (avoid >= 0 && avoid < partitionCount) {
      // Uniform over the other partitions, without Kafka's retry loop.
      partition = Math.floor(this.random() * (partitionCount - 1)) % (partitionCount - 1);
      if (partition >= avoid) partition++;
    } else {
      partition = Math.floor(this.random() * partitionCount) % partitionCount;
    }
    this.sticky.set(topic, { partition, partitionCount });
    return partition;
  }
}
