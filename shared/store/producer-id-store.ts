import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SluiceError } from '../errors';
import { KAFKA_PRODUCER_ID_BASE, KAFKA_PRODUCER_ID_LIMIT, type ProducerIdStore } from '../producers/ports';
import { isConditionalCheckFailed, translateAwsError } from './errors';

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
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(sk: string): Record<string, AttributeValue> {
    return { group: S(PRODUCERS), sk: S(sk) };
  }

  async allocateBlock(count: number): Promise<number> {
    let out: { Attributes?: Record<string, AttributeValue> };
    try {
      out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('counter'),
          // The first block starts at the base of the Kafka range (2^48), disjoint from the SDK's ids.
          UpdateExpression: 'SET #next = if_not_exists(#next, :base) + :count',
          ExpressionAttributeNames: { '#next': 'next' },
          ExpressionAttributeValues: { ':base': N(KAFKA_PRODUCER_ID_BASE), ':count': N(count) },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
    } catch (err) {
      return translateAwsError(err, 'DynamoDB UpdateItem producer id counter');
    }
    // A lost response retried by the SDK reserves a second block; the first is never used: harmless.
    const next = Number(out.Attributes?.next?.N);
    if (!Number.isSafeInteger(next) || next > KAFKA_PRODUCER_ID_LIMIT) {
      throw new SluiceError(
        'UNKNOWN_SERVER_ERROR',
        `the producer id counter is at ${out.Attributes?.next?.N}`,
      );
    }
    return next - count;
  }

  async allocatedUpTo(): Promise<number> {
    try {
      const out = await this.dynamo.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key('counter'), ConsistentRead: true }),
      );
      return Number(out.Item?.next?.N ?? KAFKA_PRODUCER_ID_BASE);
    } catch (err) {
      return translateAwsError(err, 'DynamoDB GetItem producer id counter');
    }
  }

  async bumpEpoch(
    producerId: number,
    expected: number,
    next: number,
  ): Promise<{ ok: true } | { ok: false; current: number }> {
    const writeId = randomUUID();
    const sk = `epoch#${producerId}`;
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(sk),
          UpdateExpression: 'SET epoch = :next, writeId = :wid',
          // Only the incarnation that holds the current epoch moves it on; a producer never bumped is at 0.
          ConditionExpression:
            expected === 0 ? 'attribute_not_exists(epoch) OR epoch = :expected' : 'epoch = :expected',
          ExpressionAttributeValues: { ':next': N(next), ':wid': S(writeId), ':expected': N(expected) },
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!isConditionalCheckFailed(err)) return translateAwsError(err, 'DynamoDB UpdateItem producer epoch');
    }
    const out = await this.dynamo
      .send(new GetItemCommand({ TableName: this.tableName, Key: this.key(sk), ConsistentRead: true }))
      .catch((err) => translateAwsError(err, 'DynamoDB GetItem producer epoch'));
    // Our own write, whose response was lost and whose SDK retry then failed the condition.
    if (out.Item?.writeId?.S === writeId) return { ok: true };
    return { ok: false, current: Number(out.Item?.epoch?.N ?? 0) };
  }
}
