import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SluiceError } from '../errors';
import { KAFKA_PRODUCER_ID_BASE, KAFKA_PRODUCER_ID_LIMIT, type ProducerIdStore } from '../producers/ports';
import { DynamoTable, type Item } from './dynamo-table';

/**
 * Producer ids in the groups table, under the partition key `#producers` (no group name has '#'):
 *
 * | sk | item |
 * | --- | --- |
 * | `counter` | next N: ids below it (from 2^48) have been handed out in blocks |
 * | `epoch#<producerId>` | epoch N, writeId S: written only when a producer re-initialises (KIP-360) |
 *
 * The counter is one atomic ADD per block: concurrent listeners never get overlapping blocks.
 */

const PRODUCERS = '#producers';
const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

export class DynamoProducerIdStore implements ProducerIdStore {
  private readonly table: DynamoTable;

  constructor(dynamo: DynamoDBClient, tableName: string) {
    this.table = new DynamoTable(dynamo, tableName);
  }

  private key(sk: string): Item {
    return { group: S(PRODUCERS), sk: S(sk) };
  }

  async allocateBlock(count: number): Promise<number> {
    const out = await this.table.update(
      'UpdateItem producer id counter',
      this.key('counter'),
      // The first block starts at the base of the Kafka range (2^48), disjoint from the SDK's ids.
      'SET #next = if_not_exists(#next, :base) + :count',
      {
        names: { '#next': 'next' },
        values: { ':base': N(KAFKA_PRODUCER_ID_BASE), ':count': N(count) },
        returnValues: 'UPDATED_NEW',
      },
    );
    // A lost response retried by the SDK reserves a second block; the first is never used: harmless.
    const next = Number(out?.next?.N);
    if (!Number.isSafeInteger(next) || next > KAFKA_PRODUCER_ID_LIMIT) {
      throw new SluiceError('UNKNOWN_SERVER_ERROR', `the producer id counter is at ${out?.next?.N}`);
    }
    return next - count;
  }

  async allocatedUpTo(): Promise<number> {
    const item = await this.table.get('GetItem producer id counter', this.key('counter'));
    return Number(item?.next?.N ?? KAFKA_PRODUCER_ID_BASE);
  }

  async bumpEpoch(
    producerId: number,
    expected: number,
    next: number,
  ): Promise<{ ok: true } | { ok: false; current: number }> {
    const writeId = randomUUID();
    const sk = `epoch#${producerId}`;
    const bumped = await this.table.update(
      'UpdateItem producer epoch',
      this.key(sk),
      'SET epoch = :next, writeId = :wid',
      {
        // Only the incarnation that holds the current epoch moves it on; a producer never bumped is at 0.
        condition: expected === 0 ? 'attribute_not_exists(epoch) OR epoch = :expected' : 'epoch = :expected',
        values: { ':next': N(next), ':wid': S(writeId), ':expected': N(expected) },
      },
    );
    if (bumped !== undefined) return { ok: true };
    const item = await this.table.get('GetItem producer epoch', this.key(sk));
    // Our own write, whose response was lost and whose SDK retry then failed the condition.
    if (item?.writeId?.S === writeId) return { ok: true };
    return { ok: false, current: Number(item?.epoch?.N ?? 0) };
  }
}
