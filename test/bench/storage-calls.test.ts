import { GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { countStorageCalls, type StorageCounters } from '../../bench/storage-calls';
import { createAwsClients } from '../../shared/store/aws-clients';
import { useTestStorage } from '../support/suite';

describe('Function: countStorageCalls', () => {
  const storage = useTestStorage();

  it('counts each call by operation with its capacity, failed conditions and body bytes', async () => {
    // Prepare: fresh clients on the test storage, counted before their first call
    const clients = createAwsClients(storage.config);
    const counters: StorageCounters = { dynamo: {}, s3: {} };
    countStorageCalls(clients, counters);
    const table = storage.config.logTable;
    const item = { pid: { S: 'count#0' }, sk: { N: '1' }, v: { S: 'x'.repeat(1500) } };
    const put = () =>
      clients.dynamo.send(
        new PutItemCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }),
      );
    const body = Buffer.alloc(1024, 7);

    // Act
    await put();
    await expect(put()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await clients.dynamo.send(
      new GetItemCommand({ TableName: table, Key: { pid: item.pid, sk: item.sk }, ConsistentRead: true }),
    );
    await clients.dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pid = :p',
        ExpressionAttributeValues: { ':p': item.pid },
      }),
    );
    await clients.s3.send(new PutObjectCommand({ Bucket: storage.config.bucket, Key: 'k', Body: body }));
    const got = await clients.s3.send(new GetObjectCommand({ Bucket: storage.config.bucket, Key: 'k' }));
    await got.Body!.transformToByteArray();
    clients.dynamo.destroy();
    clients.s3.destroy();

    // Assess: a 1.5 KB item is 2 WRU to write, 1 RRU to read consistently, 0.5 eventually
    expect(counters.dynamo.PutItem).toMatchObject({ count: 2, wru: 3, failed: 1 });
    expect(counters.dynamo.GetItem).toMatchObject({ count: 1, rru: 1, wru: 0 });
    expect(counters.dynamo.Query).toMatchObject({ count: 1, rru: 0.5 });
    expect(counters.dynamo.PutItem!.bytesIn).toBeGreaterThan(2 * 1500);
    expect(counters.dynamo.GetItem!.bytesOut).toBeGreaterThan(1500);
    expect(counters.s3.PutObject).toMatchObject({ count: 1, bytesIn: 1024 });
    expect(counters.s3.GetObject).toMatchObject({ count: 1, bytesOut: 1024 });
    expect(Object.keys(counters.dynamo).sort()).toEqual(['GetItem', 'PutItem', 'Query']);
    expect(Object.keys(counters.s3).sort()).toEqual(['GetObject', 'PutObject']);
  });
});
