import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import { DynamoLogCleanupStore } from './log-cleanup-store';
import { DynamoLogHeadStore } from './log-head-store';
import { DynamoLogIndexStore } from './log-index-store';
import { DynamoProducerStateStore } from './log-producer-store';
import { logTable } from './log-table';

export { HEAD_SORT_KEY, PRODUCER_SORT_KEY, producerKeyOf, TTL_ATTRIBUTE } from './log-table';
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

/** The four adapters over one log table, built before DynamoLogStore's bindings read them. */
class LogTableAdapters {
  readonly heads: DynamoLogHeadStore;
  readonly index: DynamoLogIndexStore;
  readonly producers: DynamoProducerStateStore;
  readonly cleanup: DynamoLogCleanupStore;

  constructor(dynamo: DynamoDBClient, table: string) {
    const log = logTable(dynamo, table);
    this.heads = new DynamoLogHeadStore(log);
    this.index = new DynamoLogIndexStore(log);
    this.producers = new DynamoProducerStateStore(log);
    this.cleanup = new DynamoLogCleanupStore(log, this.heads);
  }
}

/**
 * The log table (layout in log-table.ts) as the one store the log and the cleanup take: each method of
 * the ports (shared/log/ports.ts, shared/retention/ports.ts) is answered by the head, index,
 * producer-state or cleanup adapter. (A subclass's fields are initialised after its base constructor
 * ran: the bindings below find the adapters built.)
 */
export class DynamoLogStore extends LogTableAdapters implements CleanupLogStore {
  // LogHeadStore
  readonly createHead = this.heads.createHead.bind(this.heads);
  readonly getHead = this.heads.getHead.bind(this.heads);
  readonly getHeads = this.heads.getHeads.bind(this.heads);
  readonly reserve = this.heads.reserve.bind(this.heads);
  readonly advance = this.heads.advance.bind(this.heads);
  readonly removeOpenRanges = this.heads.removeOpenRanges.bind(this.heads);
  readonly markDeleted = this.heads.markDeleted.bind(this.heads);
  readonly advanceLogStartOffset = this.heads.advanceLogStartOffset.bind(this.heads);
  // LogIndexStore
  readonly putEntry = this.index.putEntry.bind(this.index);
  readonly getEntry = this.index.getEntry.bind(this.index);
  readonly queryEntries = this.index.queryEntries.bind(this.index);
  readonly entryAtOrBefore = this.index.entryAtOrBefore.bind(this.index);
  readonly deleteEntries = this.index.deleteEntries.bind(this.index);
  // ProducerStateStore
  readonly getProducer = this.producers.getProducer.bind(this.producers);
  readonly claimProducer = this.producers.claimProducer.bind(this.producers);
  // LogCleanupStore
  readonly getHeadForCleanup = this.cleanup.getHeadForCleanup.bind(this.cleanup);
  readonly recordPendingDeletion = this.cleanup.recordPendingDeletion.bind(this.cleanup);
  readonly clearPendingDeletion = this.cleanup.clearPendingDeletion.bind(this.cleanup);
  readonly setMergeCheckpoint = this.cleanup.setMergeCheckpoint.bind(this.cleanup);
  readonly markDeletedAt = this.cleanup.markDeletedAt.bind(this.cleanup);
  readonly deleteHead = this.cleanup.deleteHead.bind(this.cleanup);
  readonly deleteIdleProducer = this.cleanup.deleteIdleProducer.bind(this.cleanup);
  readonly removeLegacyProducerAttributes = this.cleanup.removeLegacyProducerAttributes.bind(this.cleanup);
  readonly replaceWithMerged = this.cleanup.replaceWithMerged.bind(this.cleanup);
  readonly deleteEntryIfUnchanged = this.cleanup.deleteEntryIfUnchanged.bind(this.cleanup);
  readonly scanForCollection = this.cleanup.scanForCollection.bind(this.cleanup);
  readonly putObjectCandidates = this.cleanup.putObjectCandidates.bind(this.cleanup);
  readonly deleteObjectCandidates = this.cleanup.deleteObjectCandidates.bind(this.cleanup);
  readonly acquireCleanupLease = this.cleanup.acquireCleanupLease.bind(this.cleanup);
  readonly releaseCleanupLease = this.cleanup.releaseCleanupLease.bind(this.cleanup);
}
