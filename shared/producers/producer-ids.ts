/**
 * Producer ids for Kafka clients (InitProducerId), unique across every listener and the HTTP API.
 *
 * Two sources of ids share the log's producer state, keyed by the id as a JavaScript number:
 * - the Sluice SDK picks a random id in [1, 2^48 − 1) per producer (client/producer.ts), never asking;
 * - Kafka clients get theirs from InitProducerId, allocated here from a counter in DynamoDB, in the
 *   range [2^48, 2^53): ids of the two kinds can never be equal, and every one is a safe integer (the
 *   log stores it as a number; Kafka's int64 holds it).
 * The counter hands out blocks (as Kafka's AllocateProducerIds does), so a listener writes once per
 * block, not per producer. Ids of a block a listener dies with are simply never used (2^53 − 2^48 ≈
 * 9·10^15 ids: a thousand new producers a second for 285,000 years).
 */

import {
  KAFKA_PRODUCER_ID_BASE,
  KAFKA_PRODUCER_ID_LIMIT,
  MAX_PRODUCER_EPOCH,
  type ProducerIdStore,
} from './ports';

export { KAFKA_PRODUCER_ID_BASE, KAFKA_PRODUCER_ID_LIMIT, MAX_PRODUCER_EPOCH, type ProducerIdStore };

export type InitProducerIdError =
  | 'NONE'
  | 'INVALID_PRODUCER_EPOCH'
  | 'PRODUCER_FENCED'
  | 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';

export interface InitProducerIdRequest {
  readonly transactionalId: string | null;
  /** -1 for a new producer; with KIP-360 (InitProducerId v3+) the id and epoch it has now. */
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The request's version: PRODUCER_FENCED exists from v4, older clients get INVALID_PRODUCER_EPOCH. */
  readonly version: number;
}

export interface InitProducerIdResult {
  readonly error: InitProducerIdError;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface ProducerIdAllocatorOptions {
  /** Ids reserved per counter write. @default 100 */
  readonly blockSize?: number;
}

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | null = null;
  private readonly blockSize: number;

  constructor(
    private readonly store: ProducerIdStore,
    options: ProducerIdAllocatorOptions = {},
  ) {
    this.blockSize = options.blockSize ?? 100;
  }

  /** A fresh producer id, never handed out before by any listener. */
  async newId(): Promise<number> {
    for (;;) {
      if (this.next < this.end) return this.next++;
      if (this.pending === null) {
        this.pending = this.store
          .allocateBlock(this.blockSize)
          .then((first) => {
            this.next = first;
            this.end = first + this.blockSize;
          })
          .finally(() => {
            this.pending = null;
          });
      }
      await this.pending;
    }
  }

  /**
   * Kafka's InitProducerId for idempotent producers. A new producer gets a new id at epoch 0. A producer
   * that sends its current id and epoch (KIP-360, after an error that needs its sequences reset) keeps
   * its id at the next epoch, which fences any older incarnation still writing with the old epoch; a
   * stale id/epoch pair is refused (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH before v4). Transactional
   * ids are refused until Sluice has transactions.
   */
  async initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResult> {
    if (req.transactionalId !== null) {
      return { error: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', producerId: -1, producerEpoch: -1 };
    }
    const fresh = async (): Promise<InitProducerIdResult> => ({
      error: 'NONE',
      producerId: await this.newId(),
      producerEpoch: 0,
    });
    if (req.producerId < 0) return fresh();
    const known =
      req.producerId >= KAFKA_PRODUCER_ID_BASE &&
      req.producerId < KAFKA_PRODUCER_ID_LIMIT &&
      req.producerId < Math.max(this.end, await this.store.allocatedUpTo());
    // An id this cluster never handed out, or an epoch at its end: start afresh, as Kafka does.
    if (!known || req.producerEpoch < 0 || req.producerEpoch + 1 >= MAX_PRODUCER_EPOCH) return fresh();
    const bumped = await this.store.bumpEpoch(req.producerId, req.producerEpoch, req.producerEpoch + 1);
    if (bumped.ok) return { error: 'NONE', producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    return {
      error: req.version >= 4 ? 'PRODUCER_FENCED' : 'INVALID_PRODUCER_EPOCH',
      producerId: -1,
      producerEpoch: -1,
    };
  }
}
