/**
 * The idempotent producer's identity on one partition: a producer id, epoch 0, and the next sequence
 * number. The log stores a retried batch once because it carries the same id and sequences; it refuses a
 * gap in the sequences. When a batch fails for good its sequences are a gap, so the partition starts over
 * under a new producer id: the identity's `version` counts those starts, and a batch encoded under an
 * older version must be encoded again before it is sent.
 *
 * Each partition has its own identity, so one partition starting over never disturbs another's order.
 */

import { randomInt } from 'node:crypto';

/** The server compares sequences as numbers and does not wrap them (int32). */
export const SEQUENCE_LIMIT = 2 ** 31 - 1;
/** How long the log is trusted to remember a producer id between acknowledgements (its cleanup forgets after 7 days). */
export const PRODUCER_STATE_TRUST_MS = 24 * 3600 * 1000;

function newProducerId(): number {
  // A safe 48-bit integer: collisions between producers are negligible, and it fits a Kafka int64.
  return randomInt(1, 2 ** 48 - 1);
}

export class PartitionIdentity {
  producerId: number;
  /** The sequence of the next batch's first record. */
  nextSequence = 0;
  /** Starts under a new producer id so far; batches remember the version they were encoded under. */
  version = 0;
  /** When the log last acknowledged a batch under the current version; 0: never. */
  private ackedAt = 0;

  constructor(readonly idempotent: boolean) {
    this.producerId = idempotent ? newProducerId() : -1;
  }

  /** The batch header fields of the next `count` records, or none without idempotence. */
  take(count: number): { producerId: number; producerEpoch: number; baseSequence: number } | undefined {
    if (!this.idempotent) return undefined;
    const fields = { producerId: this.producerId, producerEpoch: 0, baseSequence: this.nextSequence };
    this.nextSequence += count;
    return fields;
  }

  /** Whether `count` more records would pass the sequence limit (then: start over, once nothing is in flight). */
  wouldWrap(count: number): boolean {
    return this.idempotent && this.nextSequence + count > SEQUENCE_LIMIT;
  }

  acknowledged(version: number, now: number): void {
    if (version === this.version) this.ackedAt = now;
  }

  /**
   * Whether the log knows this identity. It takes any sequence from a producer id it does not know (yet,
   * or any more), so until one batch of this identity is acknowledged a second one in flight could
   * overtake the first: pipelining waits for that.
   */
  known(now: number): boolean {
    return this.ackedAt > 0 && now - this.ackedAt < PRODUCER_STATE_TRUST_MS;
  }

  /** A new producer id, sequences from 0. */
  reset(): void {
    if (!this.idempotent) return;
    this.producerId = newProducerId();
    this.nextSequence = 0;
    this.version++;
    this.ackedAt = 0;
  }
}
