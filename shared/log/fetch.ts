import { batchSpans, stampBaseOffset } from '../codec/record-batch';
import { mapLimit } from '../concurrency';
import { SluiceError } from '../errors';
import { LOG_LIMITS } from '../model';
import { countWithinBudget } from '../model/fetch-budget';
import type { LogAppendInfo } from './append';
import { bytesOf, contiguousRun, type EntryPlan, planWithin } from './entry-plan';
import { HighWatermarkSignal } from './high-watermark-signal';
import type { IndexEntry, LogStore, PartitionHead, SegmentStore } from './ports';
import { RangeCache } from './range-cache';
import { RecentAppends } from './recent-appends';
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
  readonly logId: string;
  readonly offset: number;
  readonly maxBytes: number;
}

/** What a fetch read from one partition (Kafka's FetchDataInfo). */
export interface FetchDataInfo {
  readonly head?: PartitionHead;
  readonly records: Buffer;
  readonly nextOffset: number;
  readonly error?: SluiceError;
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
  private readonly recent: RecentAppends;

  constructor(
    private readonly log: LogStore,
    private readonly segments: SegmentStore,
    private readonly repairer: RangeRepairer,
    private readonly tuning: FetchTuning = DEFAULT_FETCH_TUNING,
    private readonly now: () => number = Date.now,
    readonly highWatermarks: HighWatermarkSignal = new HighWatermarkSignal(),
  ) {
    this.cache = new RangeCache(tuning.cacheBytes);
    this.recent = new RecentAppends(undefined, now);
  }

  /**
   * An append of this process was acknowledged: the entry it committed (none for a duplicate, stored
   * earlier) is kept for the tail fetches this process serves, and the fetches waiting on its
   * partition wake (deferred by the signal).
   */
  acknowledged(logId: string, append: LogAppendInfo): void {
    if (append.baseOffset < 0) return;
    if (append.entry) this.recent.committed(logId, append.entry);
    this.highWatermarks.advanced(logId, append.baseOffset + append.count);
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
  ): Promise<FetchDataInfo[]> {
    const deadline = this.now() + Math.min(options.maxWaitMs, LOG_LIMITS.maxWaitMsCap);
    let pause = this.tuning.minPollMs;
    let seen: (number | undefined)[] = [];
    let plans: (EntryPlan | undefined)[] = [];
    let heads: (PartitionHead | undefined)[] = [];
    // After a wake-up, only the heads of the partitions this process advanced are read again: the
    // others were read a moment ago, and commits made elsewhere are the next timed poll's to notice.
    let advanced: ReadonlySet<string> | undefined;
    for (;;) {
      const previous = heads;
      // Woken by an append of this process: what it appended is known here, contiguously from the
      // offset asked for, so neither the head nor the index need be read again.
      const known = parts.map((part, i) =>
        advanced?.has(part.logId) && previous[i]
          ? this.recent.plan(part.logId, part.offset, part.maxBytes)
          : undefined,
      );
      // The heads to read again, all in one request.
      const stale = parts.filter((part, i) => (!advanced || advanced.has(part.logId)) && !known[i]);
      const read = await this.log.getHeads(stale.map((part) => part.logId));
      let next = 0;
      heads = parts.map((part, i) => {
        const head = previous[i];
        if (advanced && !advanced.has(part.logId)) return head;
        const plan = known[i];
        if (!plan || !head) return read[next++];
        const highWatermark = Math.max(head.highWatermark, plan.highWatermark);
        return { ...head, highWatermark, logEndOffset: Math.max(head.logEndOffset, highWatermark) };
      });
      const errors = parts.map((part, i) => this.checkOffset(part, heads[i]));
      // Re-plan only partitions whose high-water mark moved since the last round.
      plans = await Promise.all(
        parts.map(async (part, i) => {
          const head = heads[i];
          if (errors[i] || !head) return undefined;
          const plan = known[i];
          if (plan) return plan;
          if (head.highWatermark < head.logEndOffset) await this.repairer.repairIfStalled(part.logId, head);
          if (head.highWatermark <= part.offset) return undefined;
          if (seen[i] === head.highWatermark && plans[i]) return plans[i];
          // Everything from the offset up to the mark was appended by this process (a consumer a few
          // requests behind its producer): no need to query the index for it.
          const own = this.recent.plan(part.logId, part.offset, part.maxBytes, head.highWatermark);
          if (own && own.highWatermark >= head.highWatermark) return own;
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
        if (hw !== undefined) watched.set(part.logId, hw);
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
  private async plan(part: PartitionFetch, head: PartitionHead): Promise<EntryPlan> {
    const hw = head.highWatermark;
    let entries = await this.log.queryEntries(part.logId, part.offset, hw, this.tuning.entriesPerFetch);
    if (entries[0]?.base !== part.offset) {
      // The offset lies inside an earlier entry (a consumer that stopped mid-batch, or a rewind).
      const holding = await this.log.entryAtOrBefore(part.logId, part.offset);
      if (holding && holding.base + holding.count > part.offset) entries = [holding, ...entries];
    }
    return planWithin(contiguousRun(entries, part.offset, hw), part.offset, part.maxBytes);
  }

  private async read(
    parts: readonly PartitionFetch[],
    heads: (PartitionHead | undefined)[],
    errors: (SluiceError | undefined)[],
    plans: (EntryPlan | undefined)[],
    maxBytes: number,
  ): Promise<FetchDataInfo[]> {
    // Trim plans to the response budget, partition by partition (the first entry of the answer is
    // taken whole, so one large batch never blocks a consumer).
    let used = 0;
    const trimmed = plans.map((plan) => {
      if (!plan) return undefined;
      const sizes = plan.entries.map(bytesOf);
      const taken = countWithinBudget(sizes, maxBytes, { used });
      for (const size of sizes.slice(0, taken)) used += size;
      const entries = plan.entries.slice(0, taken);
      const last = entries.at(-1);
      return { entries, nextOffset: last ? last.base + last.count : (plan.entries[0]?.base ?? 0) };
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
