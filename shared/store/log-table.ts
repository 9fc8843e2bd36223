import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IndexEntry, OpenRange, PartitionHead, ProducerState } from '../log/ports';
import { DynamoTable, type Item } from './dynamo-table';
import { TABLE_KEYS } from './tables';

/**
 * The `log` table: per partition (`pid`, the log id `<topicId>#<partition>`) one head item at sk = -1 and one
 * segment-index entry per committed (or aborted) range of offsets, keyed by its base offset; beside
 * them, one producer-state item per (partition, idempotent producer id), under a partition key of its
 * own (`<logId>#p<producerId>`, sk = -2), and the cleanup's own items under keys no partition id has.
 *
 * Why producer state has a key of its own: producers never contend with each other or with the head,
 * the head stays small and of constant size whatever the number of producers (serverless producers get
 * a new id per instance), and DynamoDB spreads the items over its partitions.
 */

/** Sort key of a partition's head item. */
export const HEAD_SORT_KEY = -1;
/** Sort key of a producer-state item (its partition key is `<logId>#p<producerId>`). */
export const PRODUCER_SORT_KEY = -2;
/** Sort key of the cleanup's lease and candidate items. */
export const CLEANUP_SORT_KEY = 0;
/** The TTL attribute of the log table (epoch seconds); only producer-state items carry it. */
export const TTL_ATTRIBUTE = TABLE_KEYS.log.timeToLiveAttribute;

/**
 * Every attribute of the log table, by what it means, with the (short) name stored in DynamoDB. The
 * stored names are the data: they never change. Expressions refer to them as `#<meaning>` (see
 * DynamoTable). The same letters mean different things on different items — `at` is an entry's
 * append time, `dat` the head's pending-deletion time, `t` a producer's update time — so each meaning
 * has a name of its own.
 */
export const LOG_ATTRIBUTES = {
  // The key of every item.
  partitionId: TABLE_KEYS.log.partitionKey,
  /** The head: -1; an entry: its base offset; a producer-state item: -2; a cleanup item: 0. */
  sortKey: TABLE_KEYS.log.sortKey,

  // The head (constant size: nothing in it grows with the number of producers).
  logEndOffset: 'logEndOffset',
  highWatermark: 'highWatermark',
  logStartOffset: 'logStartOffset',
  /** When the high-water mark last moved (ms). */
  highWatermarkMovedAt: 'hwAt',
  /** The partition's topic was deleted. */
  deleted: 'deleted',
  // Written by the cleanup only:
  /** A pending deletion: entries ending at or below it may go once the grace period has passed (invariant 5). */
  pendingDeletionBelow: 'dlo',
  /** When the pending deletion was recorded: the log start offset was at least `dlo` then (ms). */
  pendingDeletionAt: 'dat',
  /** When a pass first saw the partition's topic deleted (starts the same grace period, ms). */
  deletedAt: 'delAt',
  /** Merge checkpoint: entries below it were examined and are settled. */
  mergeCheckpoint: 'mgo',

  // A segment-index entry (its base offset is the sort key).
  count: 'cnt',
  /** 'c' committed, 'a' aborted. */
  entryState: 'st',
  appendedAt: 'at',
  objectKey: 'k',
  /** Byte range of the entry's batches in the object: [position, position + size). */
  position: 'pos',
  size: 'len',
  maxTimestamp: 'mts',
  producerId: 'pr',
  producerEpoch: 'pe',
  baseSequence: 'ps',

  // A producer-state item (Kafka's ProducerStateEntry for one partition; about 100 bytes).
  epoch: 'e',
  /** The sequence the producer's next batch must start with. */
  nextSequence: 's',
  /** First sequence, base offset and record count of the producer's last batch. */
  lastFirstSequence: 'f',
  lastBase: 'b',
  lastCount: 'c',
  /** When the state was last written (ms): the cleanup's idle test. */
  updatedAt: 't',
  /** updatedAt + the idle window, in epoch seconds: DynamoDB TTL removes idle state on AWS. */
  expiresAt: TTL_ATTRIBUTE,

  // The cleanup's lease item.
  leaseOwner: 'owner',
  leaseUntil: 'until',
  /** Where the next pass resumes its visit of the partitions. */
  cursor: 'cursor',
  // An object-candidate item: when a pass first found the object unreferenced (ms).
  seenAt: 'seen',
} as const;

const A = LOG_ATTRIBUTES;

/** Entry states as stored. */
const COMMITTED = 'c';
const ABORTED = 'a';
export const COMMITTED_STATE: AttributeValue = { S: COMMITTED };

/**
 * An open range (design §4) is three head attributes named by its id, written by the reserve itself and
 * removed once the high-water mark passes it: base, count and reserved-at (ms). A repair reads them to
 * abort exactly the range a dead appender left open, and no more. Bounded by the appends in flight, not
 * by the producers.
 */
const OPEN_RANGE_PREFIX = { base: 'rb_', count: 'rc_', reservedAt: 'rt_' } as const;

export function openRangeAttributes(id: string) {
  return {
    base: `${OPEN_RANGE_PREFIX.base}${id}`,
    count: `${OPEN_RANGE_PREFIX.count}${id}`,
    reservedAt: `${OPEN_RANGE_PREFIX.reservedAt}${id}`,
  };
}

export const openRangesAttributes = (ids: readonly string[]) =>
  ids.flatMap((id) => Object.values(openRangeAttributes(id)));

/** Producer-state attributes a head written before they moved out of it may still hold (removed by cleanup). */
export const LEGACY_PRODUCER_ATTRIBUTE = /^p[esfbct]_\d+$/;

/** Partition keys of the cleanup's own items (no partition id starts with '#'). */
export const LEASE_PARTITION_ID = '#cleanup';
export const CANDIDATE_PREFIX = '#gc#';

export const producerKeyOf = (logId: string, producerId: number) => `${logId}#p${producerId}`;

/** The producer-state item's partition key, split back into partition id and producer id. */
export function parseProducerKey(key: string): { logId: string; producerId: number } {
  const at = key.lastIndexOf('#p');
  return { logId: key.slice(0, at), producerId: Number(key.slice(at + 2)) };
}

export const n = (value: number): AttributeValue => ({ N: String(value) });

export const optionalNumber = (v: AttributeValue | undefined) =>
  v?.N === undefined ? undefined : Number(v.N);
const numberOr = (v: AttributeValue | undefined, fallback: number) => optionalNumber(v) ?? fallback;

export function itemKey(logId: string, sortKey: number): Item {
  return { [A.partitionId]: { S: logId }, [A.sortKey]: n(sortKey) };
}

export const headKey = (logId: string) => itemKey(logId, HEAD_SORT_KEY);
export const producerItemKey = (logId: string, producerId: number) =>
  itemKey(producerKeyOf(logId, producerId), PRODUCER_SORT_KEY);

/** The log table of `name`, whose expressions name attributes by LOG_ATTRIBUTES. */
export const logTable = (dynamo: DynamoDBClient, name: string) =>
  new DynamoTable(dynamo, name, LOG_ATTRIBUTES);

export function parseHead(item: Item): PartitionHead {
  return {
    logEndOffset: numberOr(item[A.logEndOffset], 0),
    highWatermark: numberOr(item[A.highWatermark], 0),
    logStartOffset: numberOr(item[A.logStartOffset], 0),
    hwAt: numberOr(item[A.highWatermarkMovedAt], 0),
    deleted: item[A.deleted]?.BOOL === true,
    reservations: parseOpenRanges(item),
  };
}

function parseOpenRanges(item: Item): OpenRange[] {
  const ranges = new Map<string, { base?: number; count?: number; reservedAt?: number }>();
  for (const [name, value] of Object.entries(item)) {
    if (value.N === undefined) continue;
    const field = (Object.keys(OPEN_RANGE_PREFIX) as (keyof typeof OPEN_RANGE_PREFIX)[]).find((f) =>
      name.startsWith(OPEN_RANGE_PREFIX[f]),
    );
    if (field === undefined) continue;
    const id = name.slice(OPEN_RANGE_PREFIX[field].length);
    const range = ranges.get(id) ?? {};
    range[field] = Number(value.N);
    ranges.set(id, range);
  }
  return [...ranges.entries()]
    .filter(([, r]) => r.base !== undefined && r.count !== undefined)
    .map(([id, r]) => ({ id, base: r.base!, count: r.count!, reservedAt: r.reservedAt ?? 0 }))
    .sort((a, b) => a.base - b.base);
}

export function parseProducer(producerId: number, item: Item): ProducerState {
  return {
    producerId,
    epoch: numberOr(item[A.epoch], -1),
    nextSequence: numberOr(item[A.nextSequence], 0),
    lastFirstSequence: numberOr(item[A.lastFirstSequence], -1),
    lastBase: numberOr(item[A.lastBase], -1),
    lastCount: numberOr(item[A.lastCount], 0),
    updatedAt: numberOr(item[A.updatedAt], 0),
  };
}

export function entryItem(logId: string, entry: IndexEntry): Item {
  const item: Item = {
    ...itemKey(logId, entry.base),
    [A.count]: n(entry.count),
    [A.entryState]: { S: entry.state === 'committed' ? COMMITTED : ABORTED },
    [A.appendedAt]: n(entry.appendedAt),
  };
  if (entry.objectKey !== undefined) item[A.objectKey] = { S: entry.objectKey };
  const numbers = [
    [A.position, entry.position],
    [A.size, entry.size],
    [A.maxTimestamp, entry.maxTimestamp],
    [A.producerId, entry.producerId],
    [A.producerEpoch, entry.producerEpoch],
    [A.baseSequence, entry.baseSequence],
  ] as const;
  for (const [name, value] of numbers) if (value !== undefined) item[name] = n(value);
  return item;
}

export function parseEntry(item: Item): IndexEntry {
  return {
    base: Number(item[A.sortKey]!.N),
    count: Number(item[A.count]!.N),
    state: item[A.entryState]?.S === ABORTED ? 'aborted' : 'committed',
    objectKey: item[A.objectKey]?.S,
    position: optionalNumber(item[A.position]),
    size: optionalNumber(item[A.size]),
    maxTimestamp: optionalNumber(item[A.maxTimestamp]),
    producerId: optionalNumber(item[A.producerId]),
    producerEpoch: optionalNumber(item[A.producerEpoch]),
    baseSequence: optionalNumber(item[A.baseSequence]),
    appendedAt: numberOr(item[A.appendedAt], 0),
  };
}
