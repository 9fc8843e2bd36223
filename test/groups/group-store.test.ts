import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError } from '../../shared/errors';
import { emptyMeta, refreshSteadyKeys, steadyKeyOf } from '../../shared/groups/group-state';
import type { GroupMeta } from '../../shared/groups/store';
import { DynamoGroupStore } from '../../shared/store/group-store';
import { startTestStorage, type TestStorage } from '../support/storage';
import { uniqueGroup } from './support';

const tp = { topic: 'orders', partition: 3 };

function client(storage: TestStorage, maxAttempts = 3): DynamoDBClient {
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: storage.config.dynamoEndpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts,
  });
}

/** Applies the next `command` it sees, then loses its response, so that the SDK retries it. */
function loseNextResponse(dynamo: DynamoDBClient, command: string): { sent: number } {
  let armed = true;
  const seen = { sent: 0 };
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === command) seen.sent += 1;
      if (armed && context.commandName === command) {
        armed = false;
        throw Object.assign(new Error('response lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return result;
    },
    { step: 'deserialize', name: 'loseResponse' },
  );
  return seen;
}

/** Fails every call with an error of this name and HTTP status, before it is sent. */
function failWith(dynamo: DynamoDBClient, name: string, status: number): void {
  dynamo.middlewareStack.add(
    () => async () => {
      throw Object.assign(new Error(name), {
        name,
        $fault: status >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode: status },
      });
    },
    { step: 'initialize', name: 'failWith' },
  );
}

function metaWithMember(group: string): GroupMeta {
  const meta = emptyMeta(group);
  meta.generation = 4;
  meta.members.set('m1', {
    memberId: 'm1',
    topics: ['orders'],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    sessionDeadline: 1_000,
    joinedAt: 0,
    assigned: new Map([['orders#3', 4]]),
    target: ['orders#3'],
    revokeDeadline: null,
    steadyKey: null,
  });
  meta.partitionCounts.set('orders', 6);
  refreshSteadyKeys(meta);
  return meta;
}

describe('Class: DynamoGroupStore', () => {
  let storage: TestStorage;
  let store: DynamoGroupStore;
  beforeAll(async () => {
    storage = await startTestStorage();
    store = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
  });
  afterAll(async () => {
    await storage.stop();
  });

  describe('Method: putMeta', () => {
    it('writes only over the expected version and round-trips the group state', async () => {
      // Prepare
      const group = uniqueGroup();
      const meta = metaWithMember(group);

      // Act
      const created = await store.putMeta(meta, 0);
      const again = await store.putMeta(meta, 0);
      const read = await store.getMeta(group);
      const stale = await store.putMeta(read!, 0);
      const next = await store.putMeta(read!, 1);

      // Assess
      expect([created, again, stale, next]).toEqual([true, false, false, true]);
      expect(read).toEqual({ ...meta, version: 1 });
      expect((await store.getMeta(group))?.version).toBe(2);
    });

    it('F4: recognises its own write when the response was lost and the SDK retry failed its condition', async () => {
      // Prepare
      const dynamo = client(storage);
      const lost = loseNextResponse(dynamo, 'PutItemCommand');
      const lossy = new DynamoGroupStore(dynamo, storage.config.groupsTable);
      const group = uniqueGroup();

      // Act
      const ok = await lossy.putMeta(metaWithMember(group), 0);

      // Assess: two attempts reached the table; the second failed its condition, yet this is a success
      expect(lost.sent).toBe(2);
      expect(ok).toBe(true);
      expect((await store.getMeta(group))?.version).toBe(1);
      dynamo.destroy();
    });
  });

  describe('Method: touchMember', () => {
    it('extends a steady member’s session in one write, and refuses a stale generation, owned list or session', async () => {
      // Prepare
      const group = uniqueGroup();
      await store.putMeta(metaWithMember(group), 0);
      const steadyKey = steadyKeyOf(['orders#3']);

      // Act
      const touched = await store.touchMember(group, 'm1', { generation: 4, steadyKey, now: 500 });
      const staleGeneration = await store.touchMember(group, 'm1', { generation: 3, steadyKey, now: 600 });
      const otherOwned = await store.touchMember(group, 'm1', {
        generation: 4,
        steadyKey: steadyKeyOf([]),
        now: 600,
      });
      const ended = await store.touchMember(group, 'm1', { generation: 4, steadyKey, now: 20_000 });
      const unknown = await store.touchMember(group, 'm2', { generation: 4, steadyKey, now: 600 });

      // Assess
      expect(touched?.members.get('m1')?.sessionDeadline).toBe(10_500);
      expect(touched?.version).toBe(2);
      expect([staleGeneration, otherOwned, ended, unknown]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });
  });

  describe('Method: claimPartition', () => {
    it('moves claims forward in generation only; repeating a claim holds', async () => {
      // Prepare
      const group = uniqueGroup();

      // Act
      const first = await store.claimPartition(group, tp, 'a', 3);
      const repeat = await store.claimPartition(group, tp, 'a', 3);
      const sameGenerationOther = await store.claimPartition(group, tp, 'b', 3);
      const newer = await store.claimPartition(group, tp, 'b', 5);
      const older = await store.claimPartition(group, tp, 'a', 4);

      // Assess
      expect([first, repeat, sameGenerationOther, newer, older]).toEqual([true, true, false, true, false]);
      expect(await store.getOffset(group, tp)).toMatchObject({
        owner: 'b',
        claimGeneration: 5,
        offset: null,
      });
    });
  });

  describe('Method: commitOffset', () => {
    it('holds only for the claim’s owner at the claim’s generation', async () => {
      // Prepare
      const group = uniqueGroup();
      const write = {
        owner: 'a',
        claimGeneration: 3,
        offset: 10,
        topicId: 't1',
        metadata: 'x',
        committedAt: 1,
      };

      // Act
      const unclaimed = await store.commitOffset(group, tp, write);
      await store.claimPartition(group, tp, 'a', 3);
      const owner = await store.commitOffset(group, tp, write);
      const otherGeneration = await store.commitOffset(group, tp, {
        ...write,
        claimGeneration: 2,
        offset: 1,
      });
      await store.claimPartition(group, tp, 'b', 4);
      const zombie = await store.commitOffset(group, tp, { ...write, offset: 2 });

      // Assess
      expect([unclaimed, owner, otherGeneration, zombie]).toEqual([false, true, false, false]);
      expect(await store.getOffset(group, tp)).toMatchObject({
        owner: 'b',
        claimGeneration: 4,
        offset: 10,
        topicId: 't1',
        metadata: 'x',
      });
    });

    it('F4: recognises its own commit when the response was lost', async () => {
      // Prepare
      const dynamo = client(storage);
      const lost = loseNextResponse(dynamo, 'UpdateItemCommand');
      const lossy = new DynamoGroupStore(dynamo, storage.config.groupsTable);
      const group = uniqueGroup();
      await store.claimPartition(group, tp, 'a', 1);

      // Act (the retry's condition still holds here: a commit leaves the claim as it was)
      const ok = await lossy.commitOffset(group, tp, {
        owner: 'a',
        claimGeneration: 1,
        offset: 7,
        topicId: 't1',
        metadata: null,
        committedAt: 1,
      });

      // Assess
      expect(lost.sent).toBe(2);
      expect(ok).toBe(true);
      expect((await store.getOffset(group, tp))?.offset).toBe(7);
      dynamo.destroy();
    });
  });

  describe('Method: getOffset', () => {
    it('reads an offset item written before topic ids were recorded, with topicId null', async () => {
      // Prepare: an item as the store wrote it before offsets carried their topic's id
      const group = uniqueGroup();
      await storage.clients.dynamo.send(
        new PutItemCommand({
          TableName: storage.config.groupsTable,
          Item: {
            group: { S: group },
            sk: { S: 'offset#orders#3' },
            topic: { S: 'orders' },
            partition: { N: '3' },
            owner: { S: 'a' },
            claimGen: { N: '2' },
            offset: { N: '9' },
            committedAt: { N: '1' },
            commitId: { S: 'c' },
          },
        }),
      );

      // Act
      const old = await store.getOffset(group, tp);
      await store.commitOffset(group, tp, {
        owner: 'a',
        claimGeneration: 2,
        offset: 10,
        topicId: 't2',
        metadata: null,
        committedAt: 2,
      });

      // Assess
      expect(old).toMatchObject({ offset: 9, topicId: null, owner: 'a', claimGeneration: 2 });
      expect(await store.listOffsets(group)).toEqual([
        expect.objectContaining({ offset: 10, topicId: 't2' }),
      ]);
    });
  });

  describe('Method: resetOffset and deleteOffset', () => {
    it('take the claim up to their generation and leave a newer claim alone', async () => {
      // Prepare
      const group = uniqueGroup();
      await store.claimPartition(group, tp, 'a', 3);

      // Act
      const reset = await store.resetOffset(group, tp, {
        offset: 5,
        topicId: 't1',
        generation: 4,
        committedAt: 1,
      });
      const zombie = await store.commitOffset(group, tp, {
        owner: 'a',
        claimGeneration: 3,
        offset: 1,
        topicId: 't1',
        metadata: null,
        committedAt: 2,
      });
      await store.claimPartition(group, tp, 'b', 6);
      const lateReset = await store.resetOffset(group, tp, {
        offset: 0,
        topicId: 't1',
        generation: 5,
        committedAt: 3,
      });
      const lateDelete = await store.deleteOffset(group, tp, 5);

      // Assess
      expect([reset, zombie, lateReset, lateDelete]).toEqual([true, false, false, false]);
      expect(await store.getOffset(group, tp)).toMatchObject({ owner: 'b', offset: 5, topicId: 't1' });
      expect(await store.deleteOffset(group, tp, 6)).toBe(true);
      expect(await store.listOffsets(group)).toEqual([]);
    });
  });

  describe('Method: registerGroup', () => {
    it('lists registered groups; an unregister of an older incarnation leaves a newer one', async () => {
      // Prepare
      const group = uniqueGroup();

      // Act
      await store.registerGroup(group, 5);
      await store.unregisterGroup(group, 4);
      const afterOld = await store.listRegisteredGroups();
      await store.unregisterGroup(group, 5);

      // Assess
      expect(afterOld).toContain(group);
      expect(await store.listRegisteredGroups()).not.toContain(group);
    });
  });

  describe('Error translation', () => {
    it('turns throttling into THROTTLED and 5xx into STORAGE_UNAVAILABLE, both retriable; rethrows the rest', async () => {
      // Prepare
      const cases = [
        ['ProvisionedThroughputExceededException', 400, 'THROTTLED'],
        ['ThrottlingException', 400, 'THROTTLED'],
        ['InternalServerError', 500, 'STORAGE_UNAVAILABLE'],
        ['ValidationException', 400, undefined],
      ] as const;

      for (const [name, status, code] of cases) {
        const dynamo = client(storage, 1);
        failWith(dynamo, name, status);
        const failing = new DynamoGroupStore(dynamo, storage.config.groupsTable);

        // Act
        const err = await failing.getMeta('g').catch((e: unknown) => e);
        const claimErr = await failing.claimPartition('g', tp, 'a', 1).catch((e: unknown) => e);

        // Assess
        for (const e of [err, claimErr]) {
          if (code === undefined) {
            expect(isSluiceError(e)).toBe(false);
            expect((e as Error).name).toBe(name);
          } else {
            expect(isSluiceError(e, code)).toBe(true);
            expect(isSluiceError(e) && e.retriable).toBe(true);
            expect((e as Error).cause).toBeDefined();
          }
        }
        dynamo.destroy();
      }
    });
  });
});
