/**
 * DynamoDB limits as clear, non-retriable errors (issue 13): a request that grows an item or a request
 * past a limit fails the same way every time, so a client must not retry it.
 */
import { createRequire } from 'node:module';
import { type AttributeValue, BatchWriteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../shared/errors';
import { logIdOf } from '../../shared/log/log-service';
import { runCleanup } from '../../shared/retention';
import { translateAwsError } from '../../shared/store/errors';
import { DynamoLogStore } from '../../shared/store/log-store';
import { S3SegmentStore } from '../../shared/store/segment-store';
import { DynamoTopicStore } from '../../shared/store/topic-store';
import { batchOf, createLogHarness, uniqueTopic } from '../support/log';
import { startTestStorage, type TestStorage } from '../support/storage';
import { rawHead } from './support';

const require = createRequire(import.meta.url);
/** dynalite's own item size (its limit check), so the test item lands just under its limit. */
const dynaliteItemSize: (item: Record<string, AttributeValue>) => number = require('dynalite/db').itemSize;

const awsError = (name: string, message: string, status = 400) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, $fault: 'client' });

const translated = (err: unknown): unknown => {
  try {
    translateAwsError(err, 'DynamoDB UpdateItem test');
  } catch (e) {
    return e;
  }
};

describe('translateAwsError: service limits', () => {
  it.each([
    ['ValidationException', 'Item size has exceeded the maximum allowed size', 'DynamoDB item size (400 KB)'],
    [
      'ValidationException',
      'Item size to update has exceeded the maximum allowed size',
      'DynamoDB item size (400 KB)',
    ],
    [
      'ValidationException',
      "1 validation error detected: Value '{log=[…]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
      'DynamoDB BatchWriteItem (25 requests)',
    ],
    [
      'ValidationException',
      'Invalid UpdateExpression: Expression size has exceeded the maximum allowed size',
      'DynamoDB expression size (4 KB)',
    ],
    [
      'ValidationException',
      'Size of hashkey has exceeded the maximum size limit of2048 bytes',
      'DynamoDB partition key size (2048 bytes)',
    ],
    [
      'ItemCollectionSizeLimitExceededException',
      'Collection size exceeded',
      'DynamoDB item collection size (10 GB)',
    ],
    ['RequestEntityTooLarge', 'Request Entity Too Large', 'DynamoDB request size (16 MB)'],
  ])('turns %s "%s" into STORAGE_LIMIT_EXCEEDED naming the limit', (name, message, limit) => {
    const err = translated(awsError(name, message, name === 'RequestEntityTooLarge' ? 413 : 400));
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).toMatchObject({ code: 'STORAGE_LIMIT_EXCEEDED', retriable: false, details: { limit } });
    expect((err as Error).message).toContain(limit);
    expect((err as Error).cause).toBeDefined();
  });

  it('keeps throttling retriable and rethrows validation errors that are not limits', () => {
    expect(translated(awsError('ThrottlingException', 'Rate exceeded'))).toMatchObject({
      code: 'THROTTLED',
      retriable: true,
    });
    const other = awsError('ValidationException', 'Invalid ConditionExpression: Syntax error');
    expect(translated(other)).toBe(other);
  });
});

describe('DynamoDB limits against the emulator', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  it('fails an index entry past the 400 KB item limit with STORAGE_LIMIT_EXCEEDED, not retriable', async () => {
    const store = new DynamoLogStore(storage.clients.dynamo, storage.config.logTable);
    const put = store.putEntry('limits#0', {
      base: 0,
      count: 1,
      state: 'committed',
      objectKey: 'k'.repeat(410 * 1024),
      appendedAt: Date.now(),
    });
    await expect(put).rejects.toMatchObject({
      code: 'STORAGE_LIMIT_EXCEEDED',
      retriable: false,
      status: 507,
      details: { limit: 'DynamoDB item size (400 KB)' },
    });
  });

  it('fails a BatchWriteItem of 26 requests with STORAGE_LIMIT_EXCEEDED naming the 25-request limit', async () => {
    const requests = Array.from({ length: 26 }, (_, i) => ({
      PutRequest: { Item: { pid: { S: `limits-batch#${i}` }, sk: { N: '0' } } },
    }));
    const err = await storage.clients.dynamo
      .send(new BatchWriteItemCommand({ RequestItems: { [storage.config.logTable]: requests } }))
      .then(
        () => undefined,
        (e: unknown) => translated(e),
      );
    expect(err).toMatchObject({
      code: 'STORAGE_LIMIT_EXCEEDED',
      retriable: false,
      details: { limit: 'DynamoDB BatchWriteItem (25 requests)' },
    });
  });

  it('answers an append to a head an older version filled to the limit with a non-retriable error; the cleanup then empties it', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a head as the old layout left it with ~3,300 producers (six attributes each, ~400 KB):
    // every reserve then grows it past DynamoDB's item limit.
    const h = createLogHarness(storage);
    const topic = uniqueTopic('legacy');
    await h.log.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
    const logId = logIdOf(await h.log.requireTopic(topic), 0);
    const head = await rawHead(storage, logId);
    const item = { ...head };
    // Sized as dynalite sizes items, to 40 bytes below its 400 KB limit: the reserve's ~55 bytes cross it.
    const limit = 400 * 1024;
    let size = dynaliteItemSize(item);
    for (let p = 1_000_000_000; size < limit - 200; p++) {
      for (const k of ['e', 's', 'f', 'b', 'c', 't']) {
        const attribute = { N: String(1_764_288_000_000 + p) };
        item[`p${k}_${p}`] = attribute;
        size += dynaliteItemSize({ [`p${k}_${p}`]: attribute });
      }
    }
    item.pf_1 = { S: 'x'.repeat(limit - 40 - dynaliteItemSize(item) - 'pf_1'.length) };
    expect(dynaliteItemSize(item)).toBe(limit - 40);
    await storage.clients.dynamo.send(new PutItemCommand({ TableName: storage.config.logTable, Item: item }));

    // Act
    const [refused] = await h.log.produce([{ topic, partition: 0, batches: batchOf(['x']) }]);

    // Assess: a clear error, not a retriable unknown one; nothing reserved.
    expect(refused!.error).toMatchObject({
      code: 'STORAGE_LIMIT_EXCEEDED',
      retriable: false,
      details: { limit: 'DynamoDB item size (400 KB)' },
    });
    expect(await h.log.log.getHead(logId)).toMatchObject({ logEndOffset: 0, highWatermark: 0 });

    // The cleanup removes the producer state the old layout kept in the head; appends work again.
    await runCleanup(
      {
        topics: new DynamoTopicStore(storage.clients.dynamo, storage.config.topicsTable),
        log: new DynamoLogStore(storage.clients.dynamo, storage.config.logTable),
        segments: new S3SegmentStore(storage.clients.s3, storage.config.bucket),
      },
      { collectObjects: false, merge: false },
    );
    expect(Object.keys(await rawHead(storage, logId)).filter((n) => /^p[esfbct]_/.test(n))).toEqual([]);
    const [after] = await h.log.produce([{ topic, partition: 0, batches: batchOf(['x']) }]);
    expect(after).toMatchObject({ baseOffset: 0 });
  });
});
