import { expect } from 'vitest';
import { createServices } from '../../shared/app';
import { decodeRecordBatches, encodeRecordBatch, validateBatches } from '../../shared/codec/record-batch';
import { logIdOf } from '../../shared/log/log-service';
import type { PartitionError, ProducePartitionResult } from '../../shared/log/types';
import type { CleanupDeps, CleanupHooks, CleanupOptions } from '../../shared/retention';
import type { CleanupHead, DynamoLogStore, IndexEntry } from '../../shared/store/log-store';
import { S3SegmentStore } from '../../shared/store/segment-store';
import { MINUTE, type TestClock } from '../support/clock';
import type { LogHarness } from '../support/log';
import type { TestStorage } from '../support/storage';

/** Cleanup with windows of a minute or two, so a test moves its clock past them. */
export function fastCleanup(options: CleanupOptions): CleanupOptions {
  return { indexGraceMs: MINUTE, objectGraceMs: MINUTE, orphanWindowMs: 2 * MINUTE, ...options };
}

export function cleanupDeps(storage: TestStorage, clock: TestClock, hooks?: CleanupHooks): CleanupDeps {
  return createServices(storage.config, storage.clients, { cleanup: { now: clock.now, hooks } }).cleanup;
}

/** One batch of records, each stamped `timestamp` (ms), LZ4 by default. */
export function batchAt(
  values: string[],
  timestamp: number,
  options: Parameters<typeof encodeRecordBatch>[1] = {},
) {
  return encodeRecordBatch(
    values.map((v, i) => ({
      key: i % 2 === 0 ? null : Buffer.from(`key-${v}`),
      value: Buffer.from(v),
      headers: [{ key: 'h', value: Buffer.from(v.slice(0, 2)) }],
      timestamp,
    })),
    { compression: 'lz4', ...options },
  );
}

export const ok = (r: ProducePartitionResult | PartitionError | undefined): ProducePartitionResult => {
  if (!r || r.error) throw r?.error ?? new Error('no result');
  return r;
};

export interface PartitionRead {
  /** Every record from logStartOffset to HW: offset and value, in order. */
  readonly records: { offset: number; value: string }[];
  /** The fetched bytes, concatenated as returned (base offsets stamped). */
  readonly bytes: Buffer;
  readonly head: CleanupHead;
  /** Every index entry of the partition, ascending. */
  readonly entries: IndexEntry[];
  /** Fetches it took. */
  readonly fetches: number;
}

/** Reads a partition from its logStartOffset to its high-water mark as a consumer catching up would. */
export async function readPartition(
  h: LogHarness,
  topic: string,
  partition = 0,
  options: { maxBytes?: number; from?: number } = {},
): Promise<PartitionRead> {
  const t = await h.log.requireTopic(topic, true);
  const logId = logIdOf(t, partition);
  const head = (await h.log.log.getHead(logId))!;
  let offset = options.from ?? head.logStartOffset;
  const records: { offset: number; value: string }[] = [];
  const pieces: Buffer[] = [];
  let fetches = 0;
  while (offset < head.highWatermark) {
    const [r] = await h.log.fetch({
      partitions: [{ topic, partition, offset }],
      ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
    });
    fetches++;
    if (r!.error) throw r!.error;
    pieces.push(r!.records);
    for (const batch of decodeRecordBatches(r!.records).batches) {
      for (const record of batch.records) {
        if (record.offset < offset) continue; // the first batch may start before the offset asked
        expect(records.at(-1)?.offset ?? -1, 'offsets in order, each once').toBeLessThan(record.offset);
        records.push({ offset: record.offset, value: record.value!.toString() });
      }
    }
    expect(r!.nextOffset, `fetch from ${offset} made no progress`).toBeGreaterThan(offset);
    offset = r!.nextOffset;
  }
  const store = h.log.log as DynamoLogStore;
  const entries = await h.log.log.queryEntries(logId, 0, Number.MAX_SAFE_INTEGER, 100_000);
  return {
    records,
    bytes: Buffer.concat(pieces),
    head: (await store.getHeadForCleanup(logId))!,
    entries,
    fetches,
  };
}

/** Keys of every object in the bucket. */
export async function listObjects(storage: TestStorage): Promise<Set<string>> {
  const segments = new S3SegmentStore(storage.clients.s3, storage.config.bucket);
  const keys = new Set<string>();
  for await (const object of segments.list('')) keys.add(object.key);
  return keys;
}

/**
 * I8, the storage audit: the entries ending above logStartOffset tile [logStartOffset, HW) without gap
 * or overlap (the first may start below it); HW ≤ LEO; each committed entry points at an existing
 * object whose bytes there are whole batches passing CRC, with the entry's record count.
 */
export async function auditStorage(storage: TestStorage, read: PartitionRead): Promise<void> {
  const { head, entries } = read;
  expect(head.highWatermark).toBeLessThanOrEqual(head.logEndOffset);
  const live = entries.filter((e) => e.base + e.count > head.logStartOffset && e.base < head.highWatermark);
  let at = live[0]?.base ?? head.logStartOffset;
  expect(at).toBeLessThanOrEqual(head.logStartOffset);
  for (const e of live) {
    expect(e.base, 'entries tile without gap or overlap').toBe(at);
    at = e.base + e.count;
  }
  expect(at).toBe(head.highWatermark);
  const segments = new S3SegmentStore(storage.clients.s3, storage.config.bucket);
  for (const e of live.filter((x) => x.state === 'committed')) {
    const bytes = await segments.getRange(e.objectKey!, e.position!, e.position! + e.size!);
    const headers = validateBatches(bytes);
    expect(headers.reduce((sum, x) => sum + x.recordCount, 0)).toBe(e.count);
  }
}
