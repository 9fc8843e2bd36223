import type { LogHeadStore, PartitionHead, ReserveInput } from '../log/ports';
import type { DynamoTable, Expression, Item } from './dynamo-table';
import {
  LOG_ATTRIBUTES as A,
  headKey,
  n,
  openRangeAttributes,
  openRangesAttributes,
  parseHead,
} from './log-table';

/** Holds for a head that exists: an update must never create a head. */
export const HEAD_EXISTS = 'attribute_exists(#logEndOffset)';

/**
 * The partition heads of the log table (design §4): logEndOffset, highWatermark, logStartOffset, when
 * the mark last moved, the deleted flag, and the open ranges. Reads are consistent: every step of the
 * protocol needs the latest.
 */
export class DynamoLogHeadStore implements LogHeadStore {
  constructor(private readonly table: DynamoTable) {}

  async createHead(logId: string): Promise<void> {
    const head: Item = {
      ...headKey(logId),
      [A.logEndOffset]: n(0),
      [A.highWatermark]: n(0),
      [A.logStartOffset]: n(0),
      [A.highWatermarkMovedAt]: n(Date.now()),
    };
    // A head that exists is kept as it is.
    await this.table.put('PutItem log head', head, { condition: 'attribute_not_exists(#partitionId)' });
  }

  /** The head item as stored, with the attributes only the cleanup reads. */
  readItem(logId: string): Promise<Item | undefined> {
    return this.table.get('GetItem log head', headKey(logId));
  }

  async getHead(logId: string): Promise<PartitionHead | undefined> {
    const item = await this.readItem(logId);
    return item ? parseHead(item) : undefined;
  }

  /** Several heads in one request (a fetch's partitions), in the order asked. */
  async getHeads(logIds: readonly string[]): Promise<(PartitionHead | undefined)[]> {
    if (logIds.length === 1) return [await this.getHead(logIds[0]!)];
    const items = await this.table.getMany('BatchGetItem log heads', logIds.map(headKey));
    return items.map((item) => (item ? parseHead(item) : undefined));
  }

  async reserve(logId: string, input: ReserveInput): Promise<number | undefined> {
    const range = openRangeAttributes(input.reservationId);
    const updated = await this.table.update(
      'UpdateItem reserve',
      headKey(logId),
      // Operands of SET read the item before the update: the range's base gets the old logEndOffset.
      `SET #logEndOffset = #logEndOffset + :count, ${range.base} = #logEndOffset, ${range.count} = :count, ${range.reservedAt} = :now`,
      {
        // No condition on anyone else's state: an atomic add never contends. attribute_not_exists on the
        // range makes the SDK's retry of a reserve whose answer was lost fail instead of reserving twice.
        condition: `${HEAD_EXISTS} AND attribute_not_exists(#deleted) AND attribute_not_exists(${range.base})`,
        values: { ':count': n(input.count), ':now': n(input.now) },
        returnValues: 'UPDATED_NEW',
      },
    );
    return updated === undefined ? undefined : Number(updated[range.base]!.N);
  }

  async advance(
    logId: string,
    from: number,
    to: number,
    passedRanges: readonly string[],
    now: number,
  ): Promise<PartitionHead | undefined> {
    const remove = openRangesAttributes(passedRanges);
    const head = await this.table.update(
      'UpdateItem advance',
      headKey(logId),
      `SET #highWatermark = :to, #highWatermarkMovedAt = :now${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      {
        // Only the one who finds the high-water mark exactly at the end of the range before ours may
        // move it: so it never skips an open range, and never moves backwards.
        condition: '#highWatermark = :from',
        values: { ':from': n(from), ':to': n(to), ':now': n(now) },
        returnValues: 'ALL_NEW',
      },
    );
    return head === undefined ? undefined : parseHead(head);
  }

  async removeOpenRanges(logId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.updateIf(logId, 'remove open ranges', `REMOVE ${openRangesAttributes(ids).join(', ')}`, {
      condition: HEAD_EXISTS,
    });
  }

  async markDeleted(logId: string): Promise<void> {
    await this.updateIf(logId, 'mark deleted', 'SET #deleted = :true', {
      condition: HEAD_EXISTS,
      values: { ':true': { BOOL: true } },
    });
  }

  advanceLogStartOffset(logId: string, to: number): Promise<boolean> {
    return this.updateIf(logId, 'log start offset', 'SET #logStartOffset = :to', {
      condition: '#logStartOffset < :to AND #highWatermark >= :to',
      values: { ':to': n(to) },
    });
  }

  /** A conditional update of the head (the cleanup's head writes too); false when the condition failed. */
  async updateIf(logId: string, what: string, update: string, expression: Expression): Promise<boolean> {
    return (await this.table.update(`UpdateItem ${what}`, headKey(logId), update, expression)) !== undefined;
  }
}
