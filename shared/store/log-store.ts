import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type {
  IndexEntry,
  LogStore,
  OpenRange,
  PartitionHead,
  ProducerClaim,
  ProducerState,
  ReserveInput,
} from '../log/ports';
import type {
  CleanupHead,
  CleanupLogStore,
  MergedRange,
  ObjectReferences,
  ProducerRef,
} from '../retention/ports';
import { isConditionalCheckFailed, translateAwsError } from './errors';
import { TABLE_KEYS } from './tables';

export type {
  CleanupHead,
  CleanupLogStore,
  IndexEntry,
  LogStore,
  MergedRange,
  ObjectReferences,
  OpenRange,
  PartitionHead,
  ProducerClaim,
  ProducerRef,
  ProducerState,
  ReserveInput,
};

/**
 * The `log` table: per partition (`pid` = `<topicId>#<partition>`) one head item at sk = -1 and one
 * segment-index entry per committed (or aborted) range of offsets, keyed by its base offset; beside
 * them, one producer-state item per (partition, idempotent producer id), under a partition key of its
 * own (`<pid>#p<producerId>`, sk = -2).
 *
 * Head attributes (constant size: nothing in it grows with the number of producers):
 *   logEndOffset, highWatermark, logStartOffset, hwAt (ms of the last HW move), deleted (topic gone)
 *   rb_<id> rc_<id> rt_<id>   an open reservation: base, count, reserved-at ms. Written by the reserve
 *                             itself, removed once the high-water mark passes it; a repair reads them to
 *                             abort exactly the range a dead appender left open, and no more. Bounded by
 *                             the appends in flight, not by the producers.
 *
 * Producer-state attributes (Kafka's ProducerStateEntry for one partition; about 100 bytes):
 *   e s f b c   epoch, next expected sequence, first sequence, base offset and record count of the
 *               producer's last batch
 *   t           updated-at ms (the cleanup's idle test)
 *   expiresAt   t + the idle window, in epoch seconds: DynamoDB TTL removes idle state on AWS
 *
 * Why a key of its own: producers never contend with each other or with the head, the head stays
 * small whatever the number of producers (serverless producers get a new id per instance), and
 * DynamoDB spreads the items over its partitions.
 */

export const HEAD_SORT_KEY = -1;
/** Sort key of a producer-state item (its partition key is `<pid>#p<producerId>`). */
export const PRODUCER_SORT_KEY = -2;
/** The TTL attribute of the log table (epoch seconds); only producer-state items carry it. */
export const TTL_ATTRIBUTE = TABLE_KEYS.log.timeToLiveAttribute;

const PRODUCER_NAMES = {
  '#e': 'e',
  '#s': 's',
  '#f': 'f',
  '#b': 'b',
  '#c': 'c',
  '#t': 't',
  '#exp': TTL_ATTRIBUTE,
};

export const producerKeyOf = (pid: string, producerId: number) => `${pid}#p${producerId}`;

const n = (value: number): AttributeValue => ({ N: String(value) });

function parseHead(item: Record<string, AttributeValue>): PartitionHead {
  const reservations = new Map<string, { base?: number; count?: number; reservedAt?: number }>();
  for (const [name, value] of Object.entries(item)) {
    if (value.N === undefined) continue;
    const kind = name.slice(0, 3);
    if (kind === 'rb_' || kind === 'rc_' || kind === 'rt_') {
      const id = name.slice(3);
      const r = reservations.get(id) ?? {};
      if (kind === 'rb_') r.base = Number(value.N);
      else if (kind === 'rc_') r.count = Number(value.N);
      else r.reservedAt = Number(value.N);
      reservations.set(id, r);
    }
  }
  return {
    logEndOffset: Number(item.logEndOffset?.N ?? 0),
    highWatermark: Number(item.highWatermark?.N ?? 0),
    logStartOffset: Number(item.logStartOffset?.N ?? 0),
    hwAt: Number(item.hwAt?.N ?? 0),
    deleted: item.deleted?.BOOL === true,
    reservations: [...reservations.entries()]
      .filter(([, r]) => r.base !== undefined && r.count !== undefined)
      .map(([id, r]) => ({ id, base: r.base!, count: r.count!, reservedAt: r.reservedAt ?? 0 }))
      .sort((a, b) => a.base - b.base),
  };
}

/** Producer-state attributes a head written before they moved out of it may still hold (removed by cleanup). */
const LEGACY_PRODUCER_ATTRIBUTE = /^p[esfbct]_\d+$/;

function parseProducer(producerId: number, item: Record<string, AttributeValue>): ProducerState {
  const num = (v: AttributeValue | undefined, fallback: number) =>
    v?.N === undefined ? fallback : Number(v.N);
  return {
    producerId,
    epoch: num(item.e, -1),
    nextSequence: num(item.s, 0),
    lastFirstSequence: num(item.f, -1),
    lastBase: num(item.b, -1),
    lastCount: num(item.c, 0),
    updatedAt: num(item.t, 0),
  };
}

function entryItem(pid: string, entry: IndexEntry): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pid: { S: pid },
    sk: n(entry.base),
    cnt: n(entry.count),
    st: { S: entry.state === 'committed' ? 'c' : 'a' },
    at: n(entry.appendedAt),
  };
  if (entry.objectKey !== undefined) item.k = { S: entry.objectKey };
  if (entry.position !== undefined) item.pos = n(entry.position);
  if (entry.size !== undefined) item.len = n(entry.size);
  if (entry.maxTimestamp !== undefined) item.mts = n(entry.maxTimestamp);
  if (entry.producerId !== undefined) item.pr = n(entry.producerId);
  if (entry.producerEpoch !== undefined) item.pe = n(entry.producerEpoch);
  if (entry.baseSequence !== undefined) item.ps = n(entry.baseSequence);
  return item;
}

function parseEntry(item: Record<string, AttributeValue>): IndexEntry {
  const opt = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));
  return {
    base: Number(item.sk!.N),
    count: Number(item.cnt!.N),
    state: item.st?.S === 'a' ? 'aborted' : 'committed',
    objectKey: item.k?.S,
    position: opt(item.pos),
    size: opt(item.len),
    maxTimestamp: opt(item.mts),
    producerId: opt(item.pr),
    producerEpoch: opt(item.pe),
    baseSequence: opt(item.ps),
    appendedAt: Number(item.at?.N ?? 0),
  };
}

const reservationAttributes = (ids: readonly string[]) =>
  ids.flatMap((id) => [`rb_${id}`, `rc_${id}`, `rt_${id}`]);

export class DynamoLogStore implements LogStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
  ) {}

  private key(pid: string, sk: number): Record<string, AttributeValue> {
    return { pid: { S: pid }, sk: n(sk) };
  }

  async createHead(pid: string): Promise<void> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...this.key(pid, HEAD_SORT_KEY),
            logEndOffset: n(0),
            highWatermark: n(0),
            logStartOffset: n(0),
            hwAt: n(Date.now()),
          },
          ConditionExpression: 'attribute_not_exists(pid)',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      translateAwsError(err, 'DynamoDB PutItem log head');
    }
  }

  /** The head item as stored (consistent read): every step of the protocol needs the latest. */
  private async readHeadItem(pid: string): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const result = await this.dynamo.send(
        new GetItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          ConsistentRead: true,
        }),
      );
      return result.Item;
    } catch (err) {
      translateAwsError(err, 'DynamoDB GetItem log head');
    }
  }

  async getHead(pid: string): Promise<PartitionHead | undefined> {
    const item = await this.readHeadItem(pid);
    return item ? parseHead(item) : undefined;
  }

  async reserve(pid: string, input: ReserveInput): Promise<number | undefined> {
    const r = input.reservationId;
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          // Operands of SET read the item before the update: rb_ gets the old logEndOffset, our base.
          UpdateExpression: `SET logEndOffset = logEndOffset + :count, rb_${r} = logEndOffset, rc_${r} = :count, rt_${r} = :now`,
          // No condition on anyone else's state: an atomic add never contends. attribute_not_exists(rb_)
          // makes the SDK's retry of a reserve whose answer was lost fail instead of reserving twice.
          ConditionExpression: `attribute_exists(logEndOffset) AND attribute_not_exists(deleted) AND attribute_not_exists(rb_${r})`,
          ExpressionAttributeValues: { ':count': n(input.count), ':now': n(input.now) },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes![`rb_${r}`]!.N);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB UpdateItem reserve');
    }
  }

  async getProducer(pid: string, producerId: number): Promise<ProducerState | undefined> {
    try {
      const result = await this.dynamo.send(
        new GetItemCommand({
          TableName: this.table,
          Key: this.key(producerKeyOf(pid, producerId), PRODUCER_SORT_KEY),
          ConsistentRead: true,
        }),
      );
      return result.Item ? parseProducer(producerId, result.Item) : undefined;
    } catch (err) {
      translateAwsError(err, 'DynamoDB GetItem producer state');
    }
  }

  async claimProducer(pid: string, claim: ProducerClaim): Promise<boolean> {
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
      condition = '#e = :epoch AND #f = :seq AND #b = :lastBase';
    } else {
      // The idempotent producer's guard: the next sequence of the current epoch, or sequence 0 of a
      // new producer or a newer epoch. Anything else is classified after reading the state. A producer
      // unknown to the partition must start at sequence 0, as in Kafka: otherwise a later batch
      // overtaking a lost first one would be accepted and the first could never be placed.
      const next = '#e = :epoch AND #s = :seq';
      condition = claim.baseSequence === 0 ? `(${next}) OR attribute_not_exists(#e) OR #e < :epoch` : next;
    }
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(producerKeyOf(pid, claim.producerId), PRODUCER_SORT_KEY),
          UpdateExpression:
            'SET #e = :epoch, #s = :next, #f = :seq, #b = :base, #c = :count, #t = :now, #exp = :exp',
          ConditionExpression: condition,
          ExpressionAttributeNames: PRODUCER_NAMES,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem producer claim');
    }
  }

  async putEntry(pid: string, entry: IndexEntry): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.table,
          Item: entryItem(pid, entry),
          // The commit point: one entry per base offset, ever. Loses only to a repair's aborted entry
          // (or to another attempt of the same idempotent batch).
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB PutItem index entry');
    }
  }

  async getEntry(pid: string, base: number): Promise<IndexEntry | undefined> {
    try {
      const result = await this.dynamo.send(
        new GetItemCommand({ TableName: this.table, Key: this.key(pid, base), ConsistentRead: true }),
      );
      return result.Item ? parseEntry(result.Item) : undefined;
    } catch (err) {
      translateAwsError(err, 'DynamoDB GetItem index entry');
    }
  }

  async advance(
    pid: string,
    from: number,
    to: number,
    removeReservations: readonly string[],
    now: number,
  ): Promise<PartitionHead | undefined> {
    const remove = reservationAttributes(removeReservations);
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: `SET highWatermark = :to, hwAt = :now${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          // Only the one who finds the high-water mark exactly at the end of the range before ours may
          // move it: so it never skips an open range, and never moves backwards.
          ConditionExpression: 'highWatermark = :from',
          ExpressionAttributeValues: { ':from': n(from), ':to': n(to), ':now': n(now) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return parseHead(result.Attributes!);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB UpdateItem advance');
    }
  }

  async removeReservations(pid: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: `REMOVE ${reservationAttributes(ids).join(', ')}`,
          ConditionExpression: 'attribute_exists(logEndOffset)',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      translateAwsError(err, 'DynamoDB UpdateItem remove reservations');
    }
  }

  async queryEntries(
    pid: string,
    from: number,
    to: number,
    limit: number,
    descending = false,
  ): Promise<IndexEntry[]> {
    if (to <= from) return [];
    try {
      const result = await this.dynamo.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pid = :pid AND sk BETWEEN :from AND :last',
          ExpressionAttributeValues: {
            ':pid': { S: pid },
            ':from': n(Math.max(0, from)),
            ':last': n(to - 1),
          },
          ConsistentRead: true,
          ScanIndexForward: !descending,
          Limit: limit,
        }),
      );
      return (result.Items ?? []).map(parseEntry);
    } catch (err) {
      translateAwsError(err, 'DynamoDB Query index');
    }
  }

  async entryAtOrBefore(pid: string, offset: number): Promise<IndexEntry | undefined> {
    try {
      const result = await this.dynamo.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pid = :pid AND sk BETWEEN :zero AND :offset',
          ExpressionAttributeValues: { ':pid': { S: pid }, ':zero': n(0), ':offset': n(offset) },
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: 1,
        }),
      );
      const item = result.Items?.[0];
      return item ? parseEntry(item) : undefined;
    } catch (err) {
      translateAwsError(err, 'DynamoDB Query index');
    }
  }

  async markDeleted(pid: string): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: 'SET deleted = :true',
          ConditionExpression: 'attribute_exists(logEndOffset)',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      translateAwsError(err, 'DynamoDB UpdateItem mark deleted');
    }
  }

  async advanceLogStartOffset(pid: string, to: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: 'SET logStartOffset = :to',
          ConditionExpression: 'logStartOffset < :to AND highWatermark >= :to',
          ExpressionAttributeValues: { ':to': n(to) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem log start offset');
    }
  }

  async deleteEntries(pid: string, bases: readonly number[]): Promise<void> {
    for (let i = 0; i < bases.length; i += 25) {
      let requests = bases.slice(i, i + 25).map((base) => ({ DeleteRequest: { Key: this.key(pid, base) } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        try {
          const result = await this.dynamo.send(
            new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }),
          );
          requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        } catch (err) {
          translateAwsError(err, 'DynamoDB BatchWriteItem index');
        }
        if (requests.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  // ---- cleanup (shared/retention) ------------------------------------------------------------

  async getHeadForCleanup(pid: string): Promise<CleanupHead | undefined> {
    const item = await this.readHeadItem(pid);
    if (!item) return undefined;
    const num = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));
    const below = num(item.dlo);
    const at = num(item.dat);
    return {
      ...parseHead(item),
      pendingDeletion: below !== undefined && at !== undefined ? { below, at } : undefined,
      deletedAt: num(item.delAt),
      mergeCheckpoint: num(item.mgo),
      legacyProducerAttributes: Object.keys(item).filter((name) => LEGACY_PRODUCER_ATTRIBUTE.test(name)),
    };
  }

  async recordPendingDeletion(pid: string, below: number, at: number): Promise<boolean> {
    return this.conditionalHeadUpdate(
      pid,
      'SET dlo = :below, dat = :at',
      // One pending range at a time, and only below a log start offset that really is there.
      'attribute_exists(logEndOffset) AND attribute_not_exists(dlo) AND logStartOffset >= :below',
      { ':below': n(below), ':at': n(at) },
      'record pending deletion',
    );
  }

  async clearPendingDeletion(pid: string, below: number): Promise<boolean> {
    return this.conditionalHeadUpdate(
      pid,
      'REMOVE dlo, dat',
      'dlo = :below',
      { ':below': n(below) },
      'clear pending deletion',
    );
  }

  async setMergeCheckpoint(pid: string, offset: number): Promise<boolean> {
    return this.conditionalHeadUpdate(
      pid,
      'SET mgo = :offset',
      'attribute_exists(logEndOffset) AND (attribute_not_exists(mgo) OR mgo < :offset)',
      { ':offset': n(offset) },
      'merge checkpoint',
    );
  }

  async markDeletedAt(pid: string, at: number): Promise<number | undefined> {
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          // The first pass to see the partition deleted starts the grace period; later passes keep it.
          UpdateExpression: 'SET deleted = :true, delAt = if_not_exists(delAt, :at)',
          ConditionExpression: 'attribute_exists(logEndOffset)',
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':at': n(at) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(result.Attributes!.delAt!.N);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB UpdateItem mark deleted at');
    }
  }

  async deleteHead(pid: string): Promise<boolean> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          // Only the head of a deleted topic: a live partition's head is never removed.
          ConditionExpression: 'deleted = :true',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB DeleteItem log head');
    }
  }

  async deleteIdleProducer(pid: string, producerId: number, updatedAt: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(producerKeyOf(pid, producerId), PRODUCER_SORT_KEY),
          // Only state still idle as read: a producer that wrote meanwhile keeps its sequence state.
          ConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': 't' },
          ExpressionAttributeValues: { ':t': n(updatedAt) },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB DeleteItem producer state');
    }
  }

  async removeLegacyProducerAttributes(pid: string, names: readonly string[]): Promise<void> {
    // 250 names of ~14 characters keep each REMOVE under DynamoDB's 4 KB expression limit.
    for (let i = 0; i < names.length; i += 250) {
      const chunk = names.slice(i, i + 250).filter((name) => LEGACY_PRODUCER_ATTRIBUTE.test(name));
      if (chunk.length === 0) continue;
      await this.conditionalHeadUpdate(
        pid,
        `REMOVE ${chunk.join(', ')}`,
        'attribute_exists(logEndOffset)',
        {},
        'remove legacy producer state',
      );
    }
  }

  async replaceWithMerged(pid: string, first: IndexEntry, merged: MergedRange): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, first.base),
          // The merged entry speaks for several batches (and producers): it keeps no producer fields.
          UpdateExpression:
            'SET #cnt = :cnt, #k = :k, #pos = :pos, #len = :len, #mts = :mts REMOVE #pr, #pe, #ps',
          // Only the entry as the merge read it: still committed, still pointing at its old bytes.
          ConditionExpression: '#st = :c AND #k = :oldK AND #pos = :oldPos AND #cnt = :oldCnt',
          ExpressionAttributeNames: ENTRY_NAMES,
          ExpressionAttributeValues: {
            ':cnt': n(merged.count),
            ':k': { S: merged.objectKey },
            ':pos': n(merged.position),
            ':len': n(merged.size),
            ':mts': n(merged.maxTimestamp),
            ':c': { S: 'c' },
            ':oldK': { S: first.objectKey ?? '' },
            ':oldPos': n(first.position ?? -1),
            ':oldCnt': n(first.count),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem merge');
    }
  }

  async deleteEntryIfUnchanged(pid: string, entry: IndexEntry): Promise<boolean> {
    try {
      await this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: this.key(pid, entry.base),
          // Only the entry as read: one another merge has since rewritten is not ours to delete.
          ConditionExpression: '#k = :k AND #pos = :pos AND #cnt = :cnt',
          ExpressionAttributeNames: { '#k': 'k', '#pos': 'pos', '#cnt': 'cnt' },
          ExpressionAttributeValues: {
            ':k': { S: entry.objectKey ?? '' },
            ':pos': n(entry.position ?? -1),
            ':cnt': n(entry.count),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB DeleteItem index entry');
    }
  }

  async scanForCollection(): Promise<ObjectReferences> {
    const referenced = new Set<string>();
    const candidates = new Map<string, number>();
    const producers: ProducerRef[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      try {
        const page = await this.dynamo.send(
          new ScanCommand({
            TableName: this.table,
            ConsistentRead: true,
            ProjectionExpression: '#pid, #sk, #k, #seen, #t',
            ExpressionAttributeNames: { '#pid': 'pid', '#sk': 'sk', '#k': 'k', '#seen': 'seen', '#t': 't' },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const pid = item.pid?.S ?? '';
          if (pid.startsWith(CANDIDATE_PREFIX)) {
            candidates.set(pid.slice(CANDIDATE_PREFIX.length), Number(item.seen?.N ?? 0));
          } else if (item.sk?.N === String(PRODUCER_SORT_KEY)) {
            const at = pid.lastIndexOf('#p');
            producers.push({
              pid: pid.slice(0, at),
              producerId: Number(pid.slice(at + 2)),
              updatedAt: Number(item.t?.N ?? 0),
            });
          } else if (item.k?.S !== undefined) {
            referenced.add(item.k.S);
          }
        }
        startKey = page.LastEvaluatedKey;
      } catch (err) {
        translateAwsError(err, 'DynamoDB Scan log');
      }
    } while (startKey);
    return { referenced, candidates, producers };
  }

  async putObjectCandidates(keys: readonly string[], seenAt: number): Promise<void> {
    await this.batchWrite(
      keys.map((key) => ({
        PutRequest: { Item: { ...this.key(CANDIDATE_PREFIX + key, 0), seen: n(seenAt) } },
      })),
    );
  }

  async deleteObjectCandidates(keys: readonly string[]): Promise<void> {
    await this.batchWrite(
      keys.map((key) => ({ DeleteRequest: { Key: this.key(CANDIDATE_PREFIX + key, 0) } })),
    );
  }

  async acquireCleanupLease(
    owner: string,
    now: number,
    until: number,
  ): Promise<{ cursor: string } | undefined> {
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(LEASE_PID, 0),
          UpdateExpression: 'SET #owner = :owner, #until = :until',
          // One pass at a time: two merges of overlapping runs would leave overlapping entries.
          ConditionExpression: 'attribute_not_exists(#until) OR #until < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':until': n(until), ':now': n(now) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { cursor: result.Attributes?.cursor?.S ?? '' };
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB UpdateItem cleanup lease');
    }
  }

  async releaseCleanupLease(owner: string, cursor: string): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(LEASE_PID, 0),
          UpdateExpression: 'SET #until = :zero, #cursor = :cursor',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until', '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':owner': { S: owner }, ':zero': n(0), ':cursor': { S: cursor } },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, 'DynamoDB UpdateItem cleanup lease');
    }
  }

  private async conditionalHeadUpdate(
    pid: string,
    update: string,
    condition: string,
    values: Record<string, AttributeValue>,
    what: string,
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: Object.keys(values).length > 0 ? values : undefined,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      translateAwsError(err, `DynamoDB UpdateItem ${what}`);
    }
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let pending = requests.slice(i, i + 25);
      for (let attempt = 0; pending.length > 0; attempt++) {
        try {
          const result = await this.dynamo.send(
            new BatchWriteItemCommand({
              RequestItems: { [this.table]: pending as never },
            }),
          );
          pending = (result.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        } catch (err) {
          translateAwsError(err, 'DynamoDB BatchWriteItem log');
        }
        if (pending.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }
}

// ---- cleanup (shared/retention) --------------------------------------------------------------
//
// Head attributes written only by the cleanup:
//   dlo, dat   a pending deletion: at `dat` (ms) the log start offset was at least `dlo`; index entries
//              ending at or below `dlo` may go once the grace period has passed (invariant 5).
//   delAt      when a pass first saw the partition's topic deleted (starts the same grace period).
//   mgo        merge checkpoint: entries below it were examined and are settled.
// Items of the cleanup's own, beside the partitions (no partition id starts with '#'):
//   pid '#cleanup', sk 0           the lease (owner, until) and the resume cursor of the passes.
//   pid '#gc#<object key>', sk 0   an object a pass found unreferenced, with when (`seen`, ms).

const CANDIDATE_PREFIX = '#gc#';
const ENTRY_NAMES = Object.fromEntries(
  ['cnt', 'k', 'pos', 'len', 'mts', 'pr', 'pe', 'ps', 'st'].map((name) => [`#${name}`, name]),
);
const LEASE_PID = '#cleanup';
