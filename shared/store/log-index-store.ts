import type { IndexEntry, LogIndexStore } from '../log/ports';
import type { DynamoTable } from './dynamo-table';
import { entryItem, itemKey, n, parseEntry } from './log-table';

/**
 * The segment index of the log table: per partition, one entry per committed (or aborted) range of
 * offsets at sort key = its base offset. Entries are written once (the commit point) and read in
 * base-offset order; only the cleanup rewrites or deletes them.
 */
export class DynamoLogIndexStore implements LogIndexStore {
  constructor(private readonly table: DynamoTable) {}

  putEntry(logId: string, entry: IndexEntry): Promise<boolean> {
    return this.table.put('PutItem index entry', entryItem(logId, entry), {
      // The commit point: one entry per base offset, ever. Loses only to a repair's aborted entry (or to
      // another attempt of the same idempotent batch).
      condition: 'attribute_not_exists(#sortKey)',
    });
  }

  async getEntry(logId: string, base: number): Promise<IndexEntry | undefined> {
    const item = await this.table.get('GetItem index entry', itemKey(logId, base));
    return item ? parseEntry(item) : undefined;
  }

  async queryEntries(
    logId: string,
    from: number,
    to: number,
    limit: number,
    descending = false,
  ): Promise<IndexEntry[]> {
    if (to <= from) return [];
    return this.entriesBetween(logId, Math.max(0, from), to - 1, limit, descending);
  }

  async entryAtOrBefore(logId: string, offset: number): Promise<IndexEntry | undefined> {
    const [entry] = await this.entriesBetween(logId, 0, offset, 1, true);
    return entry;
  }

  async deleteEntries(logId: string, bases: readonly number[]): Promise<void> {
    await this.table.batchWrite(
      'BatchWriteItem index',
      bases.map((base) => ({ DeleteRequest: { Key: itemKey(logId, base) } })),
    );
  }

  /** One page of the entries with first <= base <= last (the head and producer items sort below 0). */
  private async entriesBetween(
    logId: string,
    first: number,
    last: number,
    limit: number,
    descending: boolean,
  ): Promise<IndexEntry[]> {
    const page = await this.table.query('Query index', {
      KeyConditionExpression: '#partitionId = :pid AND #sortKey BETWEEN :first AND :last',
      ExpressionAttributeValues: { ':pid': { S: logId }, ':first': n(first), ':last': n(last) },
      ScanIndexForward: !descending,
      Limit: limit,
    });
    return page.items.map(parseEntry);
  }
}
