import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config';

/**
 * Key schemas of Sluice's three tables. The CDK stack and the local stack both read these, so the
 * deployed tables and the emulated ones cannot drift.
 */
export const TABLE_KEYS = {
  /** topics: one item per topic, keyed by name. */
  topics: { partitionKey: 'name', sortKey: undefined },
  /**
   * log: per partition (`<topicId>#<partition>`) a head item at sk = -1 and one index entry per base
   * offset; per (partition, idempotent producer) a state item (`<logId>#p<producerId>`, sk = -2) whose
   * `expiresAt` (epoch seconds) is the table's TTL attribute on AWS.
   */
  log: { partitionKey: 'pid', sortKey: 'sk', sortKeyType: 'N', timeToLiveAttribute: 'expiresAt' },
  /** groups: per group a `meta` item, member items and one offset item per partition. */
  groups: { partitionKey: 'group', sortKey: 'sk', sortKeyType: 'S' },
} as const;

function tableInput(
  name: string,
  pk: string,
  sk?: { name: string; type: 'N' | 'S' },
): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: pk, AttributeType: 'S' },
      ...(sk ? [{ AttributeName: sk.name, AttributeType: sk.type }] : []),
    ],
    KeySchema: [
      { AttributeName: pk, KeyType: 'HASH' },
      ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
    ],
  };
}

/** Creates the tables and the bucket if they are missing (local stack and tests; CDK does it on AWS). */
export async function ensureStorage(
  config: StorageConfig,
  clients: { dynamo: DynamoDBClient; s3: S3Client },
): Promise<void> {
  const inputs = [
    tableInput(config.topicsTable, TABLE_KEYS.topics.partitionKey),
    tableInput(config.logTable, TABLE_KEYS.log.partitionKey, { name: TABLE_KEYS.log.sortKey, type: 'N' }),
    tableInput(config.groupsTable, TABLE_KEYS.groups.partitionKey, {
      name: TABLE_KEYS.groups.sortKey,
      type: 'S',
    }),
  ];
  await Promise.all(
    inputs.map(async (input) => {
      try {
        await clients.dynamo.send(new CreateTableCommand(input));
      } catch (err) {
        if (!(err instanceof ResourceInUseException)) throw err;
      }
    }),
  );
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: config.bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
