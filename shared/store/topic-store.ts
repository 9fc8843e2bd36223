import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SluiceError } from '../errors';
import type { TopicStore } from '../log/ports';
import type { Topic } from '../model/topic';
import { isConditionalCheckFailed, translateAwsError } from './errors';

export type { TopicStore };

/** Deleted topics leave a tombstone (under a name no topic can have) until cleanup removes their data. */
const TOMBSTONE_PREFIX = '#deleted#';

function toItem(topic: Topic, name = topic.name): Record<string, AttributeValue> {
  return {
    name: { S: name },
    topicName: { S: topic.name },
    topicId: { S: topic.topicId },
    partitionCount: { N: String(topic.partitionCount) },
    retentionMs: topic.retentionMs === null ? { NULL: true } : { N: String(topic.retentionMs) },
    retentionBytes: topic.retentionBytes === null ? { NULL: true } : { N: String(topic.retentionBytes) },
    createdAt: { N: String(topic.createdAt) },
  };
}

function fromItem(item: Record<string, AttributeValue>): Topic {
  const num = (v: AttributeValue | undefined) => (v?.N === undefined ? null : Number(v.N));
  return {
    name: item.topicName?.S ?? item.name!.S!,
    topicId: item.topicId!.S!,
    partitionCount: Number(item.partitionCount!.N),
    retentionMs: num(item.retentionMs),
    retentionBytes: num(item.retentionBytes),
    createdAt: Number(item.createdAt!.N),
  };
}

export class DynamoTopicStore implements TopicStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
  ) {}

  async create(topic: Topic): Promise<void> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toItem(topic),
          ConditionExpression: 'attribute_not_exists(#name)',
          ExpressionAttributeNames: { '#name': 'name' },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) {
        // A lost response on our own successful put looks the same: the topicId tells them apart.
        const existing = await this.get(topic.name);
        if (existing?.topicId === topic.topicId) return;
        throw new SluiceError('TOPIC_ALREADY_EXISTS', `Topic '${topic.name}' already exists`);
      }
      translateAwsError(err, 'DynamoDB PutItem topics');
    }
  }

  async get(name: string): Promise<Topic | undefined> {
    try {
      const result = await this.dynamo.send(
        new GetItemCommand({ TableName: this.table, Key: { name: { S: name } }, ConsistentRead: true }),
      );
      return result.Item ? fromItem(result.Item) : undefined;
    } catch (err) {
      translateAwsError(err, 'DynamoDB GetItem topics');
    }
  }

  private async scanAll(): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      try {
        const page = await this.dynamo.send(
          new ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: startKey }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } catch (err) {
        translateAwsError(err, 'DynamoDB Scan topics');
      }
    } while (startKey);
    return items;
  }

  async list(): Promise<Topic[]> {
    const items = await this.scanAll();
    return items
      .filter((item) => !item.name?.S?.startsWith(TOMBSTONE_PREFIX))
      .map(fromItem)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async delete(name: string): Promise<Topic | undefined> {
    const topic = await this.get(name);
    if (!topic) return undefined;
    try {
      // The tombstone first: if we die between the two writes, cleanup still finds the data.
      await this.dynamo.send(
        new PutItemCommand({ TableName: this.table, Item: toItem(topic, TOMBSTONE_PREFIX + topic.topicId) }),
      );
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { name: { S: name } },
          ConditionExpression: 'topicId = :id',
          ExpressionAttributeValues: { ':id': { S: topic.topicId } },
        }),
      );
      return topic;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB DeleteItem topics');
    }
  }

  async setPartitionCount(name: string, from: number, to: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { name: { S: name } },
          UpdateExpression: 'SET partitionCount = :to',
          ConditionExpression: 'partitionCount = :from',
          ExpressionAttributeValues: { ':from': { N: String(from) }, ':to': { N: String(to) } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem topics');
    }
  }

  async setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<boolean> {
    const value = (n: number | null): AttributeValue => (n === null ? { NULL: true } : { N: String(n) });
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { name: { S: name } },
          UpdateExpression: 'SET retentionMs = :ms, retentionBytes = :bytes',
          ConditionExpression: 'topicId = :id',
          ExpressionAttributeValues: {
            ':id': { S: topicId },
            ':ms': value(retention.retentionMs),
            ':bytes': value(retention.retentionBytes),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem topics');
    }
  }

  async listTombstones(): Promise<Topic[]> {
    const items = await this.scanAll();
    return items.filter((item) => item.name?.S?.startsWith(TOMBSTONE_PREFIX)).map(fromItem);
  }

  async deleteTombstone(topicId: string): Promise<void> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({ TableName: this.table, Key: { name: { S: TOMBSTONE_PREFIX + topicId } } }),
      );
    } catch (err) {
      translateAwsError(err, 'DynamoDB DeleteItem topics');
    }
  }
}
