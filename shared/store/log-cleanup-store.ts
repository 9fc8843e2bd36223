import type { IndexEntry } from '../log/ports';
import type {
  CleanupHead,
  LogCleanupStore,
  MergedRange,
  ObjectReferences,
  ProducerRef,
} from '../retention/ports';
import type { DynamoTable } from './dynamo-table';
import { type DynamoLogHeadStore, HEAD_EXISTS } from './log-head-store';
import {
  LOG_ATTRIBUTES as A,
  CANDIDATE_PREFIX,
  CLEANUP_SORT_KEY,
  COMMITTED_STATE,
  headKey,
  itemKey,
  LEASE_PARTITION_ID,
  LEGACY_PRODUCER_ATTRIBUTE,
  n,
  optionalNumber,
  PRODUCER_SORT_KEY,
  parseHead,
  parseProducerKey,
  producerItemKey,
} from './log-table';

/** 250 names of ~14 characters keep each REMOVE under DynamoDB's 4 KB expression limit. */
const LEGACY_NAMES_PER_REMOVE = 250;

const candidateKey = (objectKey: string) => itemKey(CANDIDATE_PREFIX + objectKey, CLEANUP_SORT_KEY);
const LEASE_KEY = itemKey(LEASE_PARTITION_ID, CLEANUP_SORT_KEY);

/**
 * What the cleanup (shared/retention) writes in the log table beyond the log's own steps: its head
 * attributes (pending deletion, deleted-at, merge checkpoint; see LOG_ATTRIBUTES), the merge's swap of
 * index entries, idle producer state, and its own items beside the partitions:
 *   pid '#cleanup', sk 0           the lease (owner, until) and the resume cursor of the passes.
 *   pid '#gc#<object key>', sk 0   an object a pass found unreferenced, with when (`seen`, ms).
 */
export class DynamoLogCleanupStore implements LogCleanupStore {
  constructor(
    private readonly table: DynamoTable,
    private readonly heads: DynamoLogHeadStore,
  ) {}

  async getHeadForCleanup(logId: string): Promise<CleanupHead | undefined> {
    const item = await this.heads.readItem(logId);
    if (!item) return undefined;
    const below = optionalNumber(item[A.pendingDeletionBelow]);
    const at = optionalNumber(item[A.pendingDeletionAt]);
    return {
      ...parseHead(item),
      pendingDeletion: below !== undefined && at !== undefined ? { below, at } : undefined,
      deletedAt: optionalNumber(item[A.deletedAt]),
      mergeCheckpoint: optionalNumber(item[A.mergeCheckpoint]),
      legacyProducerAttributes: Object.keys(item).filter((name) => LEGACY_PRODUCER_ATTRIBUTE.test(name)),
    };
  }

  recordPendingDeletion(logId: string, below: number, at: number): Promise<boolean> {
    return this.heads.updateIf(
      logId,
      'record pending deletion',
      'SET #pendingDeletionBelow = :below, #pendingDeletionAt = :at',
      {
        // One pending range at a time, and only below a log start offset that really is there.
        condition: `${HEAD_EXISTS} AND attribute_not_exists(#pendingDeletionBelow) AND #logStartOffset >= :below`,
        values: { ':below': n(below), ':at': n(at) },
      },
    );
  }

  clearPendingDeletion(logId: string, below: number): Promise<boolean> {
    return this.heads.updateIf(
      logId,
      'clear pending deletion',
      'REMOVE #pendingDeletionBelow, #pendingDeletionAt',
      { condition: '#pendingDeletionBelow = :below', values: { ':below': n(below) } },
    );
  }

  setMergeCheckpoint(logId: string, offset: number): Promise<boolean> {
    return this.heads.updateIf(logId, 'merge checkpoint', 'SET #mergeCheckpoint = :offset', {
      condition: `${HEAD_EXISTS} AND (attribute_not_exists(#mergeCheckpoint) OR #mergeCheckpoint < :offset)`,
      values: { ':offset': n(offset) },
    });
  }

  async markDeletedAt(logId: string, at: number): Promise<number | undefined> {
    const head = await this.table.update(
      'UpdateItem mark deleted at',
      headKey(logId),
      // The first pass to see the partition deleted starts the grace period; later passes keep it.
      'SET #deleted = :true, #deletedAt = if_not_exists(#deletedAt, :at)',
      { condition: HEAD_EXISTS, values: { ':true': { BOOL: true }, ':at': n(at) }, returnValues: 'ALL_NEW' },
    );
    return head === undefined ? undefined : Number(head[A.deletedAt]!.N);
  }

  deleteHead(logId: string): Promise<boolean> {
    return this.table.delete('DeleteItem log head', headKey(logId), {
      // Only the head of a deleted topic: a live partition's head is never removed.
      condition: '#deleted = :true',
      values: { ':true': { BOOL: true } },
    });
  }

  deleteIdleProducer(logId: string, producerId: number, updatedAt: number): Promise<boolean> {
    return this.table.delete('DeleteItem producer state', producerItemKey(logId, producerId), {
      // Only state still idle as read: a producer that wrote meanwhile keeps its sequence state.
      condition: '#updatedAt = :t',
      values: { ':t': n(updatedAt) },
    });
  }

  async removeLegacyProducerAttributes(logId: string, names: readonly string[]): Promise<void> {
    for (let i = 0; i < names.length; i += LEGACY_NAMES_PER_REMOVE) {
      const chunk = names
        .slice(i, i + LEGACY_NAMES_PER_REMOVE)
        .filter((name) => LEGACY_PRODUCER_ATTRIBUTE.test(name));
      if (chunk.length === 0) continue;
      await this.heads.updateIf(logId, 'remove legacy producer state', `REMOVE ${chunk.join(', ')}`, {
        condition: HEAD_EXISTS,
      });
    }
  }

  async replaceWithMerged(logId: string, first: IndexEntry, merged: MergedRange): Promise<boolean> {
    const updated = await this.table.update(
      'UpdateItem merge',
      itemKey(logId, first.base),
      // The merged entry speaks for several batches (and producers): it keeps no producer fields.
      'SET #count = :cnt, #objectKey = :k, #position = :pos, #size = :len, #maxTimestamp = :mts REMOVE #producerId, #producerEpoch, #baseSequence',
      {
        // Only the entry as the merge read it: still committed, still pointing at its old bytes.
        condition: '#entryState = :c AND #objectKey = :oldK AND #position = :oldPos AND #count = :oldCnt',
        values: {
          ':cnt': n(merged.count),
          ':k': { S: merged.objectKey },
          ':pos': n(merged.position),
          ':len': n(merged.size),
          ':mts': n(merged.maxTimestamp),
          ':c': COMMITTED_STATE,
          ':oldK': { S: first.objectKey ?? '' },
          ':oldPos': n(first.position ?? -1),
          ':oldCnt': n(first.count),
        },
      },
    );
    return updated !== undefined;
  }

  deleteEntryIfUnchanged(logId: string, entry: IndexEntry): Promise<boolean> {
    return this.table.delete('DeleteItem index entry', itemKey(logId, entry.base), {
      // Only the entry as read: one another merge has since rewritten is not ours to delete.
      condition: '#objectKey = :k AND #position = :pos AND #count = :cnt',
      values: {
        ':k': { S: entry.objectKey ?? '' },
        ':pos': n(entry.position ?? -1),
        ':cnt': n(entry.count),
      },
    });
  }

  async scanForCollection(): Promise<ObjectReferences> {
    const referenced = new Set<string>();
    const candidates = new Map<string, number>();
    const producers: ProducerRef[] = [];
    const pages = this.table.scan('Scan log', {
      ProjectionExpression: '#partitionId, #sortKey, #objectKey, #seenAt, #updatedAt',
    });
    for await (const items of pages) {
      for (const item of items) {
        const logId = item[A.partitionId]?.S ?? '';
        if (logId.startsWith(CANDIDATE_PREFIX)) {
          candidates.set(logId.slice(CANDIDATE_PREFIX.length), Number(item[A.seenAt]?.N ?? 0));
        } else if (item[A.sortKey]?.N === String(PRODUCER_SORT_KEY)) {
          producers.push({ ...parseProducerKey(logId), updatedAt: Number(item[A.updatedAt]?.N ?? 0) });
        } else {
          const objectKey = item[A.objectKey]?.S;
          if (objectKey !== undefined) referenced.add(objectKey);
        }
      }
    }
    return { referenced, candidates, producers };
  }

  async putObjectCandidates(keys: readonly string[], seenAt: number): Promise<void> {
    await this.table.batchWrite(
      'BatchWriteItem log',
      keys.map((key) => ({ PutRequest: { Item: { ...candidateKey(key), [A.seenAt]: n(seenAt) } } })),
    );
  }

  async deleteObjectCandidates(keys: readonly string[]): Promise<void> {
    await this.table.batchWrite(
      'BatchWriteItem log',
      keys.map((key) => ({ DeleteRequest: { Key: candidateKey(key) } })),
    );
  }

  async acquireCleanupLease(
    owner: string,
    now: number,
    until: number,
  ): Promise<{ cursor: string } | undefined> {
    const lease = await this.table.update(
      'UpdateItem cleanup lease',
      LEASE_KEY,
      'SET #leaseOwner = :owner, #leaseUntil = :until',
      {
        // One pass at a time: two merges of overlapping runs would leave overlapping entries.
        condition: 'attribute_not_exists(#leaseUntil) OR #leaseUntil < :now OR #leaseOwner = :owner',
        values: { ':owner': { S: owner }, ':until': n(until), ':now': n(now) },
        returnValues: 'ALL_NEW',
      },
    );
    return lease === undefined ? undefined : { cursor: lease[A.cursor]?.S ?? '' };
  }

  async releaseCleanupLease(owner: string, cursor: string): Promise<boolean> {
    const released = await this.table.update(
      'UpdateItem cleanup lease',
      LEASE_KEY,
      'SET #leaseUntil = :zero, #cursor = :cursor',
      {
        condition: '#leaseOwner = :owner',
        values: { ':owner': { S: owner }, ':zero': n(0), ':cursor': { S: cursor } },
      },
    );
    return released !== undefined;
  }
}
