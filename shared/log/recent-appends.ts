import { contiguousRun, type EntryPlan, planWithin } from './entry-plan';
import type { IndexEntry } from './ports';

export interface RecentPlan extends EntryPlan {
  /** The end of the contiguous run: a high-water mark this process saw acknowledged. */
  readonly highWatermark: number;
}

export interface RecentAppendsTuning {
  /** Entries kept per partition. @default 64 */
  readonly perPartition: number;
  /** Partitions kept (the least recently appended are forgotten first). @default 10_000 */
  readonly partitions: number;
  /** Entries older than this are not planned from. @default 10_000 */
  readonly maxAgeMs: number;
}

export const DEFAULT_RECENT_APPENDS: RecentAppendsTuning = {
  perPartition: 64,
  partitions: 10_000,
  maxAgeMs: 10_000,
};

/**
 * The index entries this process committed lately, per partition, so that a long poll woken by one of
 * them (HighWatermarkSignal) can plan its read without reading the head and querying the index again.
 *
 * Only what is known for sure is kept: an entry goes in once its append was acknowledged (the high-water
 * mark is past it, invariant 1), and a plan is made only from entries that run contiguously from the
 * offset asked for. A range committed by another process, or aborted by a repair, breaks the run, and
 * the fetch falls back to the head and the index. Entries are immutable and their objects outlive any
 * fetch that read them (retention's grace periods), so a plan made from here reads the same bytes as one
 * made from the table; it may only see less, never more, than the table would show.
 */
export class RecentAppends {
  /** Partition log id → its recent entries, ascending by base. A Map keeps insertion order: oldest first. */
  private readonly byPartition = new Map<string, IndexEntry[]>();

  constructor(
    private readonly tuning: RecentAppendsTuning = DEFAULT_RECENT_APPENDS,
    private readonly now: () => number = Date.now,
  ) {}

  /** An acknowledged append of this process: its committed entry. */
  committed(logId: string, entry: IndexEntry): void {
    if (entry.state !== 'committed') return;
    let entries = this.byPartition.get(logId);
    if (entries) {
      this.byPartition.delete(logId); // re-inserted below: most recently appended last
    } else {
      entries = [];
      if (this.byPartition.size >= this.tuning.partitions) {
        const oldest = this.byPartition.keys().next().value;
        if (oldest !== undefined) this.byPartition.delete(oldest);
      }
    }
    // Appends of one process to one partition are acknowledged in order, so this is nearly always a push.
    let at = entries.length;
    while (at > 0 && entries[at - 1]!.base > entry.base) at--;
    if (entries[at - 1]?.base !== entry.base) entries.splice(at, 0, entry);
    if (entries.length > this.tuning.perPartition)
      entries.splice(0, entries.length - this.tuning.perPartition);
    this.byPartition.set(logId, entries);
  }

  /**
   * The entries from the one holding `offset`, contiguous up to `highWatermark` (when given) and within
   * `maxBytes` (the first one always, as a fetch returns its first batch even when larger), or
   * undefined if this process does not know them all.
   */
  plan(
    logId: string,
    offset: number,
    maxBytes: number,
    highWatermark = Number.POSITIVE_INFINITY,
  ): RecentPlan | undefined {
    const entries = this.byPartition.get(logId);
    if (!entries) return undefined;
    const first = entries.findIndex((e) => e.base <= offset && offset < e.base + e.count);
    if (first < 0 || entries[first]!.appendedAt < this.now() - this.tuning.maxAgeMs) return undefined;
    // All that this process knows from the offset on: to the first gap (a range it did not append).
    const run = contiguousRun(entries.slice(first), offset, highWatermark);
    const last = run.at(-1)!;
    return { ...planWithin(run, offset, maxBytes), highWatermark: last.base + last.count };
  }
}
