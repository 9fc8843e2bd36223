import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, translateAwsError } from './errors';

/**
 * The `log` table: per partition (`pid` = `<topicId>#<partition>`) one head item at sk = -1 and one
 * segment-index entry per committed (or aborted) range of offsets, keyed by its base offset.
 *
 * Head attributes:
 *   logEndOffset, highWatermark, logStartOffset, hwAt (ms of the last HW move), deleted (topic gone)
 *   rb_<id> rc_<id> rt_<id>   an open reservation: base, count, reserved-at ms. Written by the reserve
 *                             itself, removed once the high-water mark passes it; a repair reads them to
 *                             abort exactly the range a dead appender left open, and no more.
 *   pe_<p> ps_<p> pf_<p> pb_<p> pc_<p> pt_<p>
 *                             idempotent producer p: epoch, next expected sequence, first sequence,
 *                             base and count of its last batch, updated-at ms.
 */

export const HEAD_SORT_KEY = -1;

export interface Reservation {
  readonly id: string;
  readonly base: number;
  readonly count: number;
  readonly reservedAt: number;
}

export interface ProducerState {
  readonly producerId: number;
  readonly epoch: number;
  readonly nextSequence: number;
  readonly lastFirstSequence: number;
  readonly lastBase: number;
  readonly lastCount: number;
  readonly updatedAt: number;
}

export interface PartitionHead {
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly hwAt: number;
  readonly deleted: boolean;
  readonly reservations: readonly Reservation[];
  readonly producers: ReadonlyMap<number, ProducerState>;
}

export interface IndexEntry {
  readonly base: number;
  readonly count: number;
  /** committed: holds records; aborted: a range a dead or stalled appender left, holding none. */
  readonly state: 'committed' | 'aborted';
  readonly objectKey?: string;
  /** Byte range of the entry's batches in the object: [position, position + size). */
  readonly position?: number;
  readonly size?: number;
  readonly maxTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly appendedAt: number;
}

export interface ProducerClaim {
  readonly producerId: number;
  readonly epoch: number;
  readonly baseSequence: number;
  /** The sequence after this batch, wrapped as Kafka wraps int32 sequences. */
  readonly nextSequence: number;
}

export interface ReserveInput {
  readonly count: number;
  readonly reservationId: string;
  readonly now: number;
  readonly producer?: ProducerClaim;
  /** Retry of a duplicate whose first attempt was aborted: only valid while the state still says so. */
  readonly expectLastBase?: number;
}

export interface LogStore {
  createHead(pid: string): Promise<void>;
  getHead(pid: string): Promise<PartitionHead | undefined>;
  /** The reserve step: atomically add `count` to logEndOffset. Returns the base, or undefined if a condition failed. */
  reserve(pid: string, input: ReserveInput): Promise<number | undefined>;
  /** The commit step: put the entry unless one exists at its base. */
  putEntry(pid: string, entry: IndexEntry): Promise<boolean>;
  getEntry(pid: string, base: number): Promise<IndexEntry | undefined>;
  /** The advance step: move the high-water mark from `from` to `to`; the new head, or undefined if it was not at `from`. */
  advance(
    pid: string,
    from: number,
    to: number,
    removeReservations: readonly string[],
    now: number,
  ): Promise<PartitionHead | undefined>;
  removeReservations(pid: string, ids: readonly string[]): Promise<void>;
  /** Entries with from <= base < to, ascending (or descending, newest first). */
  queryEntries(
    pid: string,
    from: number,
    to: number,
    limit: number,
    descending?: boolean,
  ): Promise<IndexEntry[]>;
  /** The entry with the greatest base <= offset. */
  entryAtOrBefore(pid: string, offset: number): Promise<IndexEntry | undefined>;
  markDeleted(pid: string): Promise<void>;
  /** Raises logStartOffset (never past the high-water mark); false if it was already at or past `to`. */
  advanceLogStartOffset(pid: string, to: number): Promise<boolean>;
  deleteEntries(pid: string, bases: readonly number[]): Promise<void>;
  /** Removes idempotent-producer state idle since before `olderThan` (cleanup keeps the head small). */
  expireProducers(pid: string, producerIds: readonly number[]): Promise<void>;
}

const n = (value: number): AttributeValue => ({ N: String(value) });

function parseHead(item: Record<string, AttributeValue>): PartitionHead {
  const reservations = new Map<string, { base?: number; count?: number; reservedAt?: number }>();
  const producers = new Map<number, Partial<Record<string, number>>>();
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
    } else if (/^p[esfbct]_\d+$/.test(name)) {
      const producerId = Number(name.slice(3));
      const p = producers.get(producerId) ?? {};
      p[name[1]!] = Number(value.N);
      producers.set(producerId, p);
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
    producers: new Map(
      [...producers.entries()].map(([producerId, p]) => [
        producerId,
        {
          producerId,
          epoch: p.e ?? -1,
          nextSequence: p.s ?? 0,
          lastFirstSequence: p.f ?? -1,
          lastBase: p.b ?? -1,
          lastCount: p.c ?? 0,
          updatedAt: p.t ?? 0,
        },
      ]),
    ),
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

  async getHead(pid: string): Promise<PartitionHead | undefined> {
    try {
      const result = await this.dynamo.send(
        new GetItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          ConsistentRead: true,
        }),
      );
      return result.Item ? parseHead(result.Item) : undefined;
    } catch (err) {
      translateAwsError(err, 'DynamoDB GetItem log head');
    }
  }

  async reserve(pid: string, input: ReserveInput): Promise<number | undefined> {
    const r = input.reservationId;
    const sets = [
      'logEndOffset = logEndOffset + :count',
      `rb_${r} = logEndOffset`,
      `rc_${r} = :count`,
      `rt_${r} = :now`,
    ];
    const values: Record<string, AttributeValue> = { ':count': n(input.count), ':now': n(input.now) };
    let condition = 'attribute_exists(logEndOffset) AND attribute_not_exists(deleted)';
    const p = input.producer;
    if (p) {
      const id = p.producerId;
      // Operands of SET read the item before the update: pb_ gets the old logEndOffset, our base.
      sets.push(
        `pe_${id} = :epoch`,
        `ps_${id} = :next`,
        `pf_${id} = :seq`,
        `pb_${id} = logEndOffset`,
        `pc_${id} = :count`,
        `pt_${id} = :now`,
      );
      Object.assign(values, { ':epoch': n(p.epoch), ':next': n(p.nextSequence), ':seq': n(p.baseSequence) });
      if (input.expectLastBase !== undefined) {
        // A retry after an abort: only if nobody else has re-reserved for this batch since.
        values[':lastBase'] = n(input.expectLastBase);
        condition += ` AND pe_${id} = :epoch AND pf_${id} = :seq AND pb_${id} = :lastBase`;
      } else {
        // The idempotent producer's guard: an unknown producer, the next sequence of the current
        // epoch, or sequence 0 of a newer epoch. Anything else is classified after reading the head.
        const newEpoch = p.baseSequence === 0 ? ` OR pe_${id} < :epoch` : '';
        condition += ` AND (attribute_not_exists(pe_${id}) OR (pe_${id} = :epoch AND ps_${id} = :seq)${newEpoch})`;
      }
    }
    try {
      const result = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes![`rb_${r}`]!.N);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      translateAwsError(err, 'DynamoDB UpdateItem reserve');
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

  async expireProducers(pid: string, producerIds: readonly number[]): Promise<void> {
    if (producerIds.length === 0) return;
    const names = producerIds.flatMap((id) => ['e', 's', 'f', 'b', 'c', 't'].map((k) => `p${k}_${id}`));
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(pid, HEAD_SORT_KEY),
          UpdateExpression: `REMOVE ${names.join(', ')}`,
          ConditionExpression: 'attribute_exists(logEndOffset)',
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return;
      translateAwsError(err, 'DynamoDB UpdateItem expire producers');
    }
  }
}
