/**
 * The end of every run: with faults removed, wait until each partition's high-water mark reaches its
 * log end offset (invariant 4: stalled ranges are repaired within T), read every partition from
 * logStartOffset to HW with a fresh reader, and audit storage directly (I8): the head item, every index
 * entry, and for each committed entry its object's bytes (CRC, framing, record count, the values).
 */

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { decodeRecordBatches, validateBatches } from '../../shared/codec/record-batch';
import { mapLimit } from '../../shared/concurrency';
import type { StorageConfig } from '../../shared/config';
import { logIdOf } from '../../shared/log/log-service';
import type { AwsClients } from '../../shared/store/aws-clients';
import { DynamoLogStore, type IndexEntry, type PartitionHead } from '../../shared/store/log-store';
import { DynamoTopicStore } from '../../shared/store/topic-store';
import type { AuditEntry, FinalRead, KnownAbortedRange, PartitionAudit } from './checker';
import type { LogTransport } from './transport';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DirectStorage {
  readonly config: StorageConfig;
  readonly clients: AwsClients;
}

/** Storage as it is, read without Sluice in between (straight to the emulators, not through a proxy). */
export class StorageAuditor {
  private readonly topics: DynamoTopicStore;
  private readonly log: DynamoLogStore;
  private readonly objects = new Map<string, Promise<Buffer | undefined>>();

  constructor(private readonly storage: DirectStorage) {
    this.topics = new DynamoTopicStore(storage.clients.dynamo, storage.config.topicsTable);
    this.log = new DynamoLogStore(storage.clients.dynamo, storage.config.logTable);
  }

  private async logIds(topicName: string): Promise<string[]> {
    const topic = await this.topics.get(topicName);
    if (!topic) throw new Error(`audit: topic ${topicName} does not exist`);
    return Array.from({ length: topic.partitionCount }, (_, p) => logIdOf(topic, p));
  }

  async heads(topicName: string): Promise<PartitionHead[]> {
    const logIds = await this.logIds(topicName);
    return mapLimit(logIds, 16, async (logId) => {
      const head = await this.log.getHead(logId);
      if (!head) throw new Error(`audit: no head for ${logId}`);
      return head;
    });
  }

  private object(key: string): Promise<Buffer | undefined> {
    let got = this.objects.get(key);
    if (!got) {
      got = (async () => {
        try {
          const answer = await this.storage.clients.s3.send(
            new GetObjectCommand({ Bucket: this.storage.config.bucket, Key: key }),
          );
          return Buffer.from(await answer.Body!.transformToByteArray());
        } catch (err) {
          if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
          throw err;
        }
      })();
      this.objects.set(key, got);
    }
    return got;
  }

  private async entries(logId: string): Promise<IndexEntry[]> {
    const all: IndexEntry[] = [];
    let from = 0;
    for (;;) {
      const page = await this.log.queryEntries(logId, from, Number.MAX_SAFE_INTEGER, 1000);
      all.push(...page);
      if (page.length < 1000) return all;
      from = page[page.length - 1]!.base + 1;
    }
  }

  private async auditEntry(entry: IndexEntry): Promise<AuditEntry> {
    const base = { base: entry.base, count: entry.count, state: entry.state };
    if (entry.state !== 'committed') return base;
    const object = await this.object(entry.objectKey!);
    if (!object) return { ...base, objectExists: false };
    const start = entry.position ?? 0;
    const end = start + (entry.size ?? 0);
    if (end > object.length) {
      return {
        ...base,
        objectExists: true,
        problem: `byte range [${start}, ${end}) beyond the object's ${object.length} bytes`,
      };
    }
    const bytes = Buffer.from(object.subarray(start, end));
    try {
      const headers = validateBatches(bytes);
      const records = headers.reduce((n, h) => n + h.recordCount, 0);
      if (records !== entry.count) {
        return {
          ...base,
          objectExists: true,
          problem: `its batches hold ${records} records, the entry says ${entry.count}`,
        };
      }
      const values = decodeRecordBatches(bytes).batches.flatMap((b) =>
        b.records.map((r) => r.value?.toString('utf8') ?? ''),
      );
      return { ...base, objectExists: true, values };
    } catch (err) {
      return { ...base, objectExists: true, problem: (err as Error).message };
    }
  }

  /** The aborted ranges in the index now: retention deletes them later, so runs with retention keep a record. */
  async abortedRanges(topicName: string): Promise<KnownAbortedRange[]> {
    const logIds = await this.logIds(topicName);
    const ranges = await mapLimit(logIds, 8, async (logId) =>
      (await this.entries(logId))
        .filter((e) => e.state === 'aborted')
        .map((e) => ({
          topic: topicName,
          partition: Number(logId.slice(logId.lastIndexOf('#') + 1)),
          base: e.base,
          count: e.count,
        })),
    );
    return ranges.flat();
  }

  async audit(topicName: string): Promise<PartitionAudit[]> {
    const logIds = await this.logIds(topicName);
    return mapLimit(logIds, 8, async (logId) => {
      const head = await this.log.getHead(logId);
      if (!head) throw new Error(`audit: no head for ${logId}`);
      const entries = await mapLimit(await this.entries(logId), 8, (e) => this.auditEntry(e));
      return {
        topic: topicName,
        partition: Number(logId.slice(logId.lastIndexOf('#') + 1)),
        logStartOffset: head.logStartOffset,
        highWatermark: head.highWatermark,
        logEndOffset: head.logEndOffset,
        entries,
      };
    });
  }
}

/**
 * Waits until every partition's HW equals its LEO, nudging stalled ones with a fetch at the mark (a
 * fetch repairs a range stalled past T). False if some partition did not settle within `timeoutMs`.
 */
export async function settle(
  auditor: StorageAuditor,
  transport: LogTransport,
  topic: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const heads = await auditor.heads(topic);
    const open = heads.map((h, p) => ({ h, p })).filter(({ h }) => h.highWatermark < h.logEndOffset);
    if (open.length === 0) return true;
    if (Date.now() > deadline) return false;
    await transport.fetch({
      partitions: open.slice(0, 500).map(({ h, p }) => ({ topic, partition: p, offset: h.highWatermark })),
      maxWaitMs: 0,
    });
    await sleep(250);
  }
}

/** Reads every partition from logStartOffset to HW with the given (fresh) transport. */
export async function readAll(transport: LogTransport, topic: string): Promise<FinalRead[]> {
  let bounds: { partition: number; logStartOffset: number; highWatermark: number }[] | undefined;
  for (let attempt = 0; !bounds; attempt++) {
    const described = await transport.describe(topic);
    if (described.type === 'ok') bounds = described.value;
    else if (attempt > 20) throw new Error(`final read: describe ${topic} failed: ${described.error}`);
    else await sleep(200);
  }
  return mapLimit(bounds, 8, async (b): Promise<FinalRead> => {
    const records = new Map<number, string>();
    let offset = b.logStartOffset;
    let failures = 0;
    let error: string | undefined;
    while (offset < b.highWatermark) {
      const got = await transport.fetch({
        partitions: [{ topic, partition: b.partition, offset }],
        maxWaitMs: 0,
      });
      const r = got.type === 'ok' ? got.value[0] : undefined;
      if (!r || r.error) {
        if (++failures > 20) {
          error = got.type === 'ok' ? (r?.error?.code ?? 'no result') : got.error;
          break;
        }
        await sleep(100);
        continue;
      }
      try {
        for (const batch of decodeRecordBatches(r.records).batches) {
          for (const record of batch.records) {
            if (record.offset < offset || record.offset >= b.highWatermark) continue;
            records.set(record.offset, record.value?.toString('utf8') ?? '');
          }
        }
      } catch (err) {
        error = `undecodable batches at ${offset}: ${(err as Error).message}`;
        break;
      }
      if (r.nextOffset <= offset) {
        error = `no progress at offset ${offset} (nextOffset ${r.nextOffset})`;
        break;
      }
      offset = r.nextOffset;
    }
    return {
      topic,
      partition: b.partition,
      logStartOffset: b.logStartOffset,
      highWatermark: b.highWatermark,
      records,
      ...(error ? { error } : {}),
    };
  });
}
