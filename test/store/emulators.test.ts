import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStorage, type TestStorage } from '../support/storage';

describe('Module: embedded emulators', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  it('stores an object byte for byte and a ranged GET returns the slice', async () => {
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await storage.clients.s3.send(
      new PutObjectCommand({ Bucket: storage.config.bucket, Key: 'a/b', Body: body }),
    );
    const got = await storage.clients.s3.send(
      new GetObjectCommand({ Bucket: storage.config.bucket, Key: 'a/b', Range: 'bytes=100-65635' }),
    );
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(body.subarray(100, 65636))).toBe(true);
  });

  it('keeps a conditional put to a single winner', async () => {
    const put = () =>
      storage.clients.dynamo.send(
        new PutItemCommand({
          TableName: storage.config.logTable,
          Item: { pid: { S: 'x#0' }, sk: { N: '0' } },
          ConditionExpression: 'attribute_not_exists(pid)',
        }),
      );
    const results = await Promise.allSettled([put(), put(), put()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const item = await storage.clients.dynamo.send(
      new GetItemCommand({ TableName: storage.config.logTable, Key: { pid: { S: 'x#0' }, sk: { N: '0' } } }),
    );
    expect(item.Item).toBeDefined();
  });
});
