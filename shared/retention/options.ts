import { SluiceError } from '../errors';
import { DEFAULT_APPEND_TUNING } from '../log/append';
import { LOG_LIMITS } from '../model';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How the cleanup merges small index entries into larger objects (design §7). */
export interface MergeOptions {
  /** Committed entries smaller than this may be merged. @default 65_536 (64 KiB) */
  readonly smallEntryBytes?: number;
  /**
   * Largest merged entry. A fetch returns an entry whole, so it stays well under the fetch cap.
   * @default 1_048_576 (1 MiB); at most LOG_LIMITS.maxFetchBytes
   */
  readonly maxEntryBytes?: number;
  /** Most entries one merged entry replaces (each costs one conditional delete). @default 4096 */
  readonly maxRunEntries?: number;
  /** A merged object holds runs until it reaches this size. @default 8_388_608 (8 MiB) */
  readonly objectBytes?: number;
  /**
   * Only entries appended at least this long ago are merged, so an idempotent producer's retries
   * (Kafka's delivery.timeout.ms is 2 min by default) still find their batches' entries as written.
   * The entry at each producer's last base is never merged, whatever its age. It must also exceed, twice
   * over, the longest a storage write can take to land (a function's run): a repair that found no entry
   * at the mark may still be sending its aborted entry when the late commit lands, and that abort's
   * condition (no entry at its base) sees only its own item, so it must not arrive after a merge has
   * deleted the committed entry there (found by F13 with 1–1.2 s writes and a 1 s age). @default 900_000 (15 min)
   */
  readonly minAgeMs?: number;
  /** Index entries examined per partition per pass, from the merge checkpoint. @default 20_000 */
  readonly maxScanEntries?: number;
  /** Parallel S3 GETs while reading a run. @default 16 */
  readonly readConcurrency?: number;
}

export interface CleanupOptions {
  /** Partitions visited per pass; the next pass resumes after the last one. @default 1000 */
  readonly maxPartitions?: number;
  /** Deletions per pass (index entries, heads, objects). @default 20_000 */
  readonly maxDeletes?: number;
  /** Wall time of a pass; it stops between steps once spent. @default 60_000 (1 min) */
  readonly maxDurationMs?: number;
  /**
   * Index entries below logStartOffset are deleted only this long after a pass first saw them below it
   * (invariant 5: longer than any function runs, so no fetch that read the old logStartOffset is still
   * planning). Also the wait before a deleted topic's entries go. @default 900_000 (15 min)
   */
  readonly indexGraceMs?: number;
  /**
   * An object is deleted only when a pass at least this long ago already found it unreferenced, and it
   * still is: a fetch that read an entry just before a merge or a deletion removed it may still GET it.
   * @default 900_000 (15 min)
   */
  readonly objectGraceMs?: number;
  /**
   * Objects younger than this are never collected: an append in flight writes its object before its
   * entry commits. Far above the longest append (a function runs 15 min at most). @default 3_600_000 (1 h)
   */
  readonly orphanWindowMs?: number;
  /**
   * Idempotent-producer state idle this long is deleted (Kafka: producer.id.expiration.ms); a producer
   * whose state is gone must start again at sequence 0. On AWS, DynamoDB TTL also removes it (the claim
   * writes `expiresAt` with the appender's producerIdleMs, same default); dynalite has no TTL, so the
   * cleanup's table scan does it everywhere. @default DEFAULT_APPEND_TUNING.producerIdleMs (7 days)
   */
  readonly producerIdleMs?: number;
  /** A range reserved this long ago with no entry is aborted (design §4). @default DEFAULT_APPEND_TUNING.repairAfterMs */
  readonly repairAfterMs?: number;
  /** Merge small entries; false: never. @default {} (the MergeOptions defaults) */
  readonly merge?: MergeOptions | false;
  /** Run the object collection (a full scan of the index and a listing of the bucket). @default true */
  readonly collectObjects?: boolean;
  /** This pass's name in the lease. @default a random id */
  readonly owner?: string;
}

export type ResolvedMergeOptions = Required<MergeOptions>;

export interface ResolvedCleanupOptions extends Required<Omit<CleanupOptions, 'merge' | 'owner'>> {
  readonly merge: ResolvedMergeOptions | false;
  readonly owner?: string;
}

function check(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new SluiceError(
      'INVALID_CONFIG',
      `${name} must be an integer from ${min} to ${max}, but ${String(value)} was provided`,
    );
  }
  return value;
}

/** Fills the defaults and validates every value in one place. */
export function resolveCleanupOptions(options: CleanupOptions = {}): ResolvedCleanupOptions {
  const merge = options.merge === false ? false : resolveMergeOptions(options.merge ?? {});
  return {
    maxPartitions: check('maxPartitions', options.maxPartitions ?? 1000, 0),
    maxDeletes: check('maxDeletes', options.maxDeletes ?? 20_000, 0),
    maxDurationMs: check('maxDurationMs', options.maxDurationMs ?? MINUTE, 1),
    indexGraceMs: check('indexGraceMs', options.indexGraceMs ?? 15 * MINUTE, 0),
    objectGraceMs: check('objectGraceMs', options.objectGraceMs ?? 15 * MINUTE, 0),
    orphanWindowMs: check('orphanWindowMs', options.orphanWindowMs ?? HOUR, 0),
    producerIdleMs: check(
      'producerIdleMs',
      options.producerIdleMs ?? DEFAULT_APPEND_TUNING.producerIdleMs,
      0,
    ),
    repairAfterMs: check('repairAfterMs', options.repairAfterMs ?? DEFAULT_APPEND_TUNING.repairAfterMs, 0),
    collectObjects: options.collectObjects ?? true,
    merge,
    owner: options.owner,
  };
}

function resolveMergeOptions(options: MergeOptions): ResolvedMergeOptions {
  return {
    smallEntryBytes: check('merge.smallEntryBytes', options.smallEntryBytes ?? 64 * 1024, 1),
    maxEntryBytes: check(
      'merge.maxEntryBytes',
      options.maxEntryBytes ?? 1024 * 1024,
      1,
      LOG_LIMITS.maxFetchBytes,
    ),
    maxRunEntries: check('merge.maxRunEntries', options.maxRunEntries ?? 4096, 2),
    objectBytes: check('merge.objectBytes', options.objectBytes ?? 8 * 1024 * 1024, 1),
    minAgeMs: check('merge.minAgeMs', options.minAgeMs ?? 15 * MINUTE, 0),
    maxScanEntries: check('merge.maxScanEntries', options.maxScanEntries ?? 20_000, 1),
    readConcurrency: check('merge.readConcurrency', options.readConcurrency ?? 16, 1, 256),
  };
}
