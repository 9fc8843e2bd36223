import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ProducerClaim, ProducerState, ProducerStateStore } from '../log/ports';
import type { DynamoTable } from './dynamo-table';
import { n, parseProducer, producerItemKey } from './log-table';

/**
 * The idempotent producers' state in the log table: one item per (partition, producer id), under a
 * partition key of its own, so that producers contend neither with each other nor with the head.
 */
export class DynamoProducerStateStore implements ProducerStateStore {
  constructor(private readonly table: DynamoTable) {}

  async getProducer(logId: string, producerId: number): Promise<ProducerState | undefined> {
    const item = await this.table.get('GetItem producer state', producerItemKey(logId, producerId));
    return item ? parseProducer(producerId, item) : undefined;
  }

  async claimProducer(logId: string, claim: ProducerClaim): Promise<boolean> {
    const values: Record<string, AttributeValue> = {
      ':epoch': n(claim.epoch),
      ':next': n(claim.nextSequence),
      ':seq': n(claim.baseSequence),
      ':base': n(claim.base),
      ':count': n(claim.count),
      ':now': n(claim.now),
      ':exp': n(Math.ceil(claim.expiresAt / 1000)),
    };
    let condition: string;
    if (claim.expectLastBase !== undefined) {
      // A retry after an abort: only if nobody else has re-reserved for this batch since.
      values[':lastBase'] = n(claim.expectLastBase);
      condition = '#epoch = :epoch AND #lastFirstSequence = :seq AND #lastBase = :lastBase';
    } else {
      // The idempotent producer's guard: the next sequence of the current epoch, or sequence 0 of a
      // new producer or a newer epoch. Anything else is classified after reading the state. A producer
      // unknown to the partition must start at sequence 0, as in Kafka: otherwise a later batch
      // overtaking a lost first one would be accepted and the first could never be placed.
      const next = '#epoch = :epoch AND #nextSequence = :seq';
      condition =
        claim.baseSequence === 0 ? `(${next}) OR attribute_not_exists(#epoch) OR #epoch < :epoch` : next;
    }
    const updated = await this.table.update(
      'UpdateItem producer claim',
      producerItemKey(logId, claim.producerId),
      'SET #epoch = :epoch, #nextSequence = :next, #lastFirstSequence = :seq, #lastBase = :base, #lastCount = :count, #updatedAt = :now, #expiresAt = :exp',
      { condition, values },
    );
    return updated !== undefined;
  }
}
