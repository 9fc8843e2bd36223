import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SluiceError } from '../errors';
import type { TopicStore } from '../log/ports';
import type { Topic } from '../model/topic';
import { DynamoTable, type Item } from './dynamo-table';

export type { TopicStore };

/** Deleted topics leave a tombstone (under a name no topic can have) until cleanup removes their data. */
const TOMBSTONE_PREFIX = '#deleted#';

const nameKey = (name: string): Item => ({ name: { S: name } });
const nullable = (n: number | null): AttributeValue => (n === null ? { NULL: true } : { N: String(n) });

function toItem(topic: Topic, name = topic.name): Item {
  return {
    name: { S: name },
    topicName: { S: topic.name },
    topicId: { S: topic.topicId },
    partitionCount: { N: String(topic.partitionCount) },
    retentionMs: nullable(topic.retentionMs),
    retentionBytes: nullable(topic.retentionBytes),
    createdAt: { N: String(topic.createdAt) },
  };
}

function fromItem(item: Item): Topic {
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
  private readonly table: DynamoTable;

  constructor(dynamo: DynamoDBClient, table: string) {
    this.table = new DynamoTable(dynamo, table);
  }

  async create(topic: Topic): Promise<void> {
    const created = await this.table.put('PutItem topics', toItem(topic), {
      condition: 'attribute_not_exists(#name)',
      names: { '#name': 'name' },
    });
    if (created) return;
    // A lost response on our own successful put looks the same: the topicId tells them apart.
    const existing = await this.get(topic.name);
    if (existing?.topicId === topic.topicId) return;
    throw new SluiceError('TOPIC_ALREADY_EXISTS', `Topic '${topic.name}' already exists`);
  }

  async get(name: string): Promise<Topic | undefined> {
    const item = await this.table.get('GetItem topics', nameKey(name));
    return item ? fromItem(item) : undefined;
  }

  private async scanAll(): Promise<Item[]> {
    const items: Item[] = [];
    for await (const page of this.table.scan('Scan topics')) items.push(...page);
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
    // The tombstone first: if we die between the two writes, cleanup still finds the data.
    await this.table.put('PutItem topics tombstone', toItem(topic, TOMBSTONE_PREFIX + topic.topicId));
    const deleted = await this.table.delete('DeleteItem topics', nameKey(name), {
      condition: 'topicId = :id',
      values: { ':id': { S: topic.topicId } },
    });
    return deleted ? topic : undefined;
  }

  async setPartitionCount(name: string, from: number, to: number): Promise<boolean> {
    const updated = await this.table.update('UpdateItem topics', nameKey(name), 'SET partitionCount = :to', {
      condition: 'partitionCount = :from',
      values: { ':from': { N: String(from) }, ':to': { N: String(to) } },
    });
    return updated !== undefined;
  }

  async setRetention(
    name: string,
    topicId: string,
    retention: { retentionMs: number | null; retentionBytes: number | null },
  ): Promise<boolean> {
    const updated = await this.table.update(
      'UpdateItem topics',
      nameKey(name),
      'SET retentionMs = :ms, retentionBytes = :bytes',
      {
        condition: 'topicId = :id',
        values: {
          ':id': { S: topicId },
          ':ms': nullable(retention.retentionMs),
          ':bytes': nullable(retention.retentionBytes),
        },
      },
    );
    return updated !== undefined;
  }

  async listTombstones(): Promise<Topic[]> {
    const items = await this.scanAll();
    return items.filter((item) => item.name?.S?.startsWith(TOMBSTONE_PREFIX)).map(fromItem);
  }

  async deleteTombstone(topicId: string): Promise<void> {
    await this.table.delete('DeleteItem topics', nameKey(TOMBSTONE_PREFIX + topicId));
  }
}
