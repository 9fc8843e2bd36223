/**
 * What cleanup needs of the log table beyond the log's own port: heads with their pending deletions
 * and merge checkpoints, producer items, object references, candidates for collection and the lease.
 * shared/store/log-cleanup-store.ts implements it (shared/store/log-store.ts joins it to the log's).
 */
import type { IndexEntry, LogStore, PartitionHead } from '../log/ports';

export interface CleanupHead extends PartitionHead {
  readonly pendingDeletion?: { readonly below: number; readonly at: number };
  readonly deletedAt?: number;
  readonly mergeCheckpoint?: number;
  /** Producer state a head written before it moved to producer items still holds (`pe_<p>` …). */
  readonly legacyProducerAttributes: readonly string[];
}

/** A producer-state item found by the table scan. */
export interface ProducerRef {
  readonly logId: string;
  readonly producerId: number;
  readonly updatedAt: number;
}

/** Where a merged run of entries now lives: one byte range of one new object. */
export interface MergedRange {
  readonly count: number;
  readonly objectKey: string;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
}

export interface ObjectReferences {
  /** Every object key an index entry points at. */
  readonly referenced: Set<string>;
  /** Objects earlier passes found unreferenced, with when they first did (ms). */
  readonly candidates: Map<string, number>;
  /** Every producer-state item, with when it was last written (for the idle expiry). */
  readonly producers: ProducerRef[];
}

/** The cleanup's own reads and writes of the log table. */
export interface LogCleanupStore {
  /** The head with the cleanup's own attributes. */
  getHeadForCleanup(logId: string): Promise<CleanupHead | undefined>;
  /** Records that entries ending at or below `below` may be deleted after a grace period from `at`. */
  recordPendingDeletion(logId: string, below: number, at: number): Promise<boolean>;
  clearPendingDeletion(logId: string, below: number): Promise<boolean>;
  /** Raises the merge checkpoint (never lowers it). */
  setMergeCheckpoint(logId: string, offset: number): Promise<boolean>;
  /** Marks a head deleted and returns when a pass first did; undefined when there is no head. */
  markDeletedAt(logId: string, at: number): Promise<number | undefined>;
  /** Deletes the head of a deleted partition; false if absent or not deleted. */
  deleteHead(logId: string): Promise<boolean>;
  /** Deletes a producer's state if it is still as read (same updated-at); false otherwise. */
  deleteIdleProducer(logId: string, producerId: number, updatedAt: number): Promise<boolean>;
  /** Removes producer-state attributes left in a head by a version that kept them there. */
  removeLegacyProducerAttributes(logId: string, names: readonly string[]): Promise<void>;
  /** The merge's swap: the run's first entry covers the whole run, if it still points at its old bytes. */
  replaceWithMerged(logId: string, first: IndexEntry, merged: MergedRange): Promise<boolean>;
  /** Deletes an entry only if it still points at the same bytes. */
  deleteEntryIfUnchanged(logId: string, entry: IndexEntry): Promise<boolean>;
  /** A consistent scan of the whole table: referenced object keys, recorded candidates, producer states. */
  scanForCollection(): Promise<ObjectReferences>;
  putObjectCandidates(keys: readonly string[], seenAt: number): Promise<void>;
  deleteObjectCandidates(keys: readonly string[]): Promise<void>;
  /** Takes the cleanup lease until `until` unless another owner holds it; returns the resume cursor. */
  acquireCleanupLease(owner: string, now: number, until: number): Promise<{ cursor: string } | undefined>;
  releaseCleanupLease(owner: string, cursor: string): Promise<boolean>;
}

/** The log store as the cleanup uses it (shared/retention): the log's own port and the cleanup's. */
export interface CleanupLogStore extends LogStore, LogCleanupStore {}
