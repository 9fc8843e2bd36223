/**
 * The producer-id allocator's storage port and the id space it shares with its adapter
 * (shared/store/producer-id-store.ts).
 */

export const KAFKA_PRODUCER_ID_BASE = 2 ** 48;
export const KAFKA_PRODUCER_ID_LIMIT = 2 ** 53;
/** Kafka's epochs are int16; at the last one a producer gets a new id instead (as Kafka does). */
export const MAX_PRODUCER_EPOCH = 32_767;

/** The storage port: only the DynamoDB adapter (shared/store/producer-id-store.ts) implements it. */
export interface ProducerIdStore {
  /** Atomically reserves `count` consecutive ids; answers the first. Ids start at KAFKA_PRODUCER_ID_BASE. */
  allocateBlock(count: number): Promise<number>;
  /** The highest id any block has handed out, plus one (what the counter stands at). */
  allocatedUpTo(): Promise<number>;
  /**
   * Moves the producer's epoch from `expected` to `next` if it is still `expected` (a producer never
   * re-initialised has epoch 0 and no item). Answers the stored epoch when the condition failed.
   */
  bumpEpoch(
    producerId: number,
    expected: number,
    next: number,
  ): Promise<{ ok: true } | { ok: false; current: number }>;
}
