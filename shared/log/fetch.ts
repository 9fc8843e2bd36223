import { batchSpans, stampBaseOffset } from '../codec/record-batch';
import { mapLimit } from '../concurrency';
import { SluiceError } from '../errors';
import { LOG_LIMITS } from '../model';
import { HighWatermarkSignal } from './high-watermark-signal';
import type { IndexEntry, LogStore, PartitionHead, SegmentStore } from './ports';
import { RangeCache } from './range-cache';
import type { RangeRepairer } from './repair';

export interface FetchTuning {
  /** First and longest pause between head reads of a long poll. @default 20, 250 */
  readonly minPollMs: number;
  readonly maxPollMs: number;
  /** Index entries read per partition per fetch. @default 200 */
  readonly entriesPerFetch: number;
  /** Parallel S3 GETs per fetch. @default 8 */
  readonly getConcurrency: number;
  /** Ranges of one object closer than this are read with one GET. @default 65536 */
  readonly coalesceGapBytes: number;
  /** Size of the warm function's cache of object ranges (and of objects it wrote). @default 64 MiB */
  readonly cacheBytes: number;
  /**
   * Keep the objects this process writes in that cache, so a tail fetch served here needs no GET.
   * @default true
   */
  readonly cacheWrites: boolean;
}

export const DEFAULT_FETCH_TUNING: FetchTuning = {
  minPollMs: 20,
  maxPollMs: 250,
  entriesPerFetch: 200,
  getConcurrency: 8,
  coalesceGapBytes: 64 * 1024,
  cacheBytes: 64 * 1024 * 1024,
  cacheWrites: true,
};

export interface PartitionFetch {
  readonly pid: string;
  readonly offset: number;
  readonly maxBytes: number;
}

export interface PartitionFetchOutcome {
  readonly head?: PartitionHead;
  readonly records: Buffer;
  readonly nextOffset: number;
  readonly error?: SluiceError;
}

interface Plan {
  readonly entries: IndexEntry[];
  readonly bytes: number;
  readonly nextOffset: number;
}

/**
 * The fetch of design §5: read heads, long-poll until minBytes are committed or maxWaitMs passes,
 * find the index entries from each offset, GET their byte ranges (coalesced, parallel, cached) and
 * return the batches as stored with base offsets stamped. A long poll's pause ends early when this
 * process commits to one of its partitions (`highWatermarks`); commits made elsewhere are seen by the
 * next head read.
 */
export class Fetcher {
  private readonly cache: RangeCache;

  constructor(
    private readonly log: LogStore,
    private readonly segments: SegmentStore,
    private readonly repairer: RangeRepairer,
    private readonly tuning: FetchTuning = DEFAULT_FETCH_TUNING,
    private readonly now: () => number = Date.now,
    readonly highWatermarks: HighWatermarkSignal = new HighWatermarkSignal(),
  ) {
    this.cache = new RangeCache(tuning.cacheBytes);
  }

  /**
   * An object this process just wrote, kept for the tail fetches it will serve. The buffer must not be
   * modified afterwards (reads copy out of it).
   */
  written(objectKey: string, body: Buffer): void {
    if (this.tuning.cacheWrites) this.cache.setObject(objectKey, body);
  }

  async fetch(
    parts: readonly PartitionFetch[],
    options: { maxWaitMs: number; minBytes: number; maxBytes: number },
  ): Promise<PartitionFetchOutcome[]> {
    const deadline = this.now() + Math.min(options.maxWaitMs, LOG_LIMITS.maxWaitMsCap);
    let pause = this.tuning.minPollMs;
    let seen: (number | undefined)[] = [];
    let plans: (Plan | undefined)[] = [];
    let heads: (PartitionHead | undefined)[] = [];
    // After a wake-up, only the heads of the partitions this process advanced are read again: the
    // others were read a moment ago, and commits made elsewhere are the next timed poll's to notice.
    let advanced: ReadonlySet<string> | undefined;
    for (;;) {
      const previous = heads;
      heads = await Promise.all(
        parts.map((part, i) =>
          advanced && !advanced.has(part.pid) ? previous[i] : this.log.getHead(part.pid),
        ),
      );
      const errors = parts.map((part, i) => this.checkOffset(part, heads[i]));
      // Re-plan only partitions whose high-water mark moved since the last round.
      plans = await Promise.all(
        parts.map(async (part, i) => {
          const head = heads[i];
          if (errors[i] || !head) return undefined;
          if (head.highWatermark < head.logEndOffset) await this.repairer.repairIfStalled(part.pid, head);
          if (head.highWatermark <= part.offset) return undefined;
          if (seen[i] === head.highWatermark && plans[i]) return plans[i];
          return this.plan(part, head);
        }),
      );
      seen = heads.map((head) => head?.highWatermark);
      const available = plans.reduce((sum, plan) => sum + (plan?.bytes ?? 0), 0);
      // Only aborted ranges ahead: answer now, so the consumer's next offset moves past them.
      const skippable = plans.some((plan) => plan && plan.entries.length > 0 && plan.bytes === 0);
      if (errors.some(Boolean) || available >= options.minBytes || skippable || this.now() >= deadline) {
        return this.read(parts, heads, errors, plans, options.maxBytes);
      }
      const watched = new Map<string, number>();
      parts.forEach((part, i) => {
        const hw = heads[i]?.highWatermark;
        if (hw !== undefined) watched.set(part.pid, hw);
      });
      const woken = await this.highWatermarks.wait(
        watched,
        Math.min(pause, Math.max(1, deadline - this.now())),
      );
      // Back off only while nothing happens here; an advance in this process is worth reading at once.
      advanced = woken.length > 0 ? new Set(woken) : undefined;
      if (!advanced) pause = Math.min(pause * 2, this.tuning.maxPollMs);
    }
  }

  private checkOffset(part: PartitionFetch, head: PartitionHead | undefined): SluiceError | undefined {
    if (!head || head.deleted) {
      return new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', 'The topic or partition does not exist');
    }
    if (part.offset < head.logStartOffset || part.offset > head.highWatermark) {
      return new SluiceError(
        'OFFSET_OUT_OF_RANGE',
        `Offset ${part.offset} is outside [${head.logStartOffset}, ${head.highWatermark}]`,
        { details: { logStartOffset: head.logStartOffset, highWatermark: head.highWatermark } },
      );
    }
    return undefined;
  }

  /** The entries to return for one partition: from the one holding `offset`, contiguous, within maxBytes. */
  private async plan(part: PartitionFetch, head: PartitionHead): Promise<Plan> {
    const hw = head.highWatermark;
    let entries = await this.log.queryEntries(part.pid, part.offset, hw, this.tuning.entriesPerFetch);
    if (entries[0]?.base !== part.offset) {
      // The offset lies inside an earlier entry (a consumer that stopped mid-batch, or a rewind).
      const holding = await this.log.entryAtOrBefore(part.pid, part.offset);
      if (holding && holding.base + holding.count > part.offset) entries = [holding, ...entries];
    }
    const taken: IndexEntry[] = [];
    let bytes = 0;
    let nextOffset = part.offset;
    for (const entry of entries) {
      // An entry inside one already taken: a merge replaced a run of entries by one and has not yet
      // deleted the old ones. The wider entry holds the same records.
      if (taken.length > 0 && entry.base < nextOffset) continue;
      if (entry.base > nextOffset && taken.length > 0) break; // not contiguous: stop at the gap
      if (entry.state === 'committed') {
        const size = entry.size ?? 0;
        // Like Kafka, the first batch is returned even when larger than maxBytes, so consumers progress.
        if (bytes > 0 && bytes + size > part.maxBytes) break;
        bytes += size;
      }
      taken.push(entry);
      nextOffset = entry.base + entry.count;
      if (nextOffset >= hw) break;
    }
    return { entries: taken, bytes, nextOffset };
  }

  private async read(
    parts: readonly PartitionFetch[],
    heads: (PartitionHead | undefined)[],
    errors: (SluiceError | undefined)[],
    plans: (Plan | undefined)[],
    maxBytes: number,
  ): Promise<PartitionFetchOutcome[]> {
    // Trim plans to the response budget, partition by partition (each gets at least its first batch
    // while the answer is empty, so one large batch never blocks a consumer).
    let budget = maxBytes;
    const trimmed = plans.map((plan) => {
      if (!plan) return undefined;
      const entries: IndexEntry[] = [];
      let nextOffset = plan.entries[0]?.base ?? 0;
      for (const entry of plan.entries) {
        const size = entry.state === 'committed' ? (entry.size ?? 0) : 0;
        if (size > budget && budget < maxBytes) break;
        budget -= size;
        entries.push(entry);
        nextOffset = entry.base + entry.count;
      }
      return { entries, nextOffset };
    });
    const ranges = new Map<string, { start: number; end: number }[]>();
    for (const plan of trimmed) {
      for (const entry of plan?.entries ?? []) {
        if (entry.state !== 'committed') continue;
        const list = ranges.get(entry.objectKey!) ?? [];
        list.push({ start: entry.position!, end: entry.position! + entry.size! });
        ranges.set(entry.objectKey!, list);
      }
    }
    const reads: { key: string; start: number; end: number }[] = [];
    for (const [key, list] of ranges) {
      list.sort((a, b) => a.start - b.start);
      let current: { key: string; start: number; end: number } | undefined;
      for (const range of list) {
        if (current && range.start <= current.end + this.tuning.coalesceGapBytes) {
          current.end = Math.max(current.end, range.end);
        } else {
          current = { key, start: range.start, end: range.end };
          reads.push(current);
        }
      }
    }
    const buffers = await mapLimit(reads, this.tuning.getConcurrency, (r) =>
      this.getRange(r.key, r.start, r.end),
    );
    const slice = (entry: IndexEntry): Buffer => {
      const i = reads.findIndex(
        (r) =>
          r.key === entry.objectKey && r.start <= entry.position! && r.end >= entry.position! + entry.size!,
      );
      const from = entry.position! - reads[i]!.start;
      // A copy: the cached bytes stay as stored, and the stamp goes on the copy.
      return Buffer.from(buffers[i]!.subarray(from, from + entry.size!));
    };
    return parts.map((part, i) => {
      const error = errors[i];
      const plan = trimmed[i];
      if (error) return { head: heads[i], records: Buffer.alloc(0), nextOffset: part.offset, error };
      if (!plan || plan.entries.length === 0)
        return { head: heads[i], records: Buffer.alloc(0), nextOffset: part.offset };
      const pieces = plan.entries
        .filter((e) => e.state === 'committed')
        .map((e) => dropBatchesBefore(stampEntry(slice(e), e), part.offset));
      return { head: heads[i], records: Buffer.concat(pieces), nextOffset: plan.nextOffset };
    });
  }

  private async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const cached = this.cache.getRange(key, start, end);
    if (cached) return cached;
    const bytes = await this.segments.getRange(key, start, end);
    this.cache.setRange(key, start, end, bytes);
    return bytes;
  }
}

/**
 * Stamps each batch of an entry with its base offset: the entry's base plus the records before it.
 * The CRC does not cover the base offset, so the stored bytes stay valid (as a Kafka broker does it).
 */
export function stampEntry(bytes: Buffer, entry: IndexEntry): Buffer {
  let offset = entry.base;
  let end = 0;
  for (const span of batchSpans(bytes)) {
    stampBaseOffset(bytes, span.start, offset);
    offset += span.recordCount;
    end = span.end;
  }
  if (end !== bytes.length || offset !== entry.base + entry.count) {
    throw new SluiceError(
      'STORAGE_UNAVAILABLE',
      `Stored batches at offset ${entry.base} of ${entry.objectKey} do not match their index entry`,
    );
  }
  return bytes;
}

/**
 * Drops the leading batches of an entry that end at or before `offset`: an entry may hold several
 * batches, and a consumer asking from the middle of it needs none of the earlier ones (a batch that
 * holds the offset is kept whole; the client skips its earlier records, as Kafka clients do).
 */
export function dropBatchesBefore(bytes: Buffer, offset: number): Buffer {
  const at = batchSpans(bytes).find((span) => span.nextOffset > offset)?.start ?? bytes.length;
  return at === 0 ? bytes : bytes.subarray(at);
}
