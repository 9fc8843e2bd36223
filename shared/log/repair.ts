import type { LogStore, OpenRange, PartitionHead } from './ports';

/**
 * Range repair (design §4, invariant 4): once appends stop, the high-water mark reaches the log end
 * offset within repairAfterMs, even when appenders died. Whoever notices the mark stuck below the log
 * end — a fetch's long poll, an appender waiting for earlier ranges, the cleanup — calls
 * repairIfStalled. Cheap when the partition is healthy: it reads only when the range at the mark has
 * been open for a while.
 *
 * The range at the mark is either committed by an appender that died before advancing (anyone may
 * carry the mark over its entry), or has no entry: its appender died or stalled between reserve and
 * commit, and after repairAfterMs it is aborted — an aborted entry of exactly its open range's size,
 * put with the same condition as a commit, so a late appender finds it and acknowledges nothing.
 */

export interface RepairTuning {
  /** A range open longer than this, with no entry, is aborted by whoever notices. */
  readonly repairAfterMs: number;
  /** Index entries read per chain step. */
  readonly chainBatch: number;
}

/** What the repair reads and writes of the log table. */
export type RepairStore = Pick<
  LogStore,
  'getHead' | 'getEntry' | 'putEntry' | 'queryEntries' | 'advance' | 'removeOpenRanges'
>;

/** Stalled ranges repaired in one call at most (several dead appenders leave several ranges). */
const MAX_ROUNDS = 100;

export class RangeRepairer {
  constructor(
    private readonly store: RepairStore,
    private readonly tuning: RepairTuning,
    private readonly now: () => number = Date.now,
  ) {}

  /** Repairs the ranges stalled at the high-water mark of `head`; true when it moved the mark. */
  async repairIfStalled(logId: string, head: PartitionHead): Promise<boolean> {
    let moved = false;
    for (let round = 0; round < MAX_ROUNDS && head.highWatermark < head.logEndOffset; round++) {
      const next = await this.repairOnce(logId, head);
      if (!next || next.highWatermark === head.highWatermark) break;
      moved = true;
      head = next;
    }
    return moved;
  }

  /** Repairs the range at the high-water mark if it is stalled; returns the head after, if it did. */
  private async repairOnce(logId: string, head: PartitionHead): Promise<PartitionHead | undefined> {
    const hw = head.highWatermark;
    const now = this.now();
    const open = head.reservations.find((r) => r.base === hw) ?? inferOpenRange(head);
    const age = now - open.reservedAt;
    // An entry at the mark whose appender died before advancing: anyone may advance over it. Live
    // appenders advance over their own (see PartitionAppender): a second is far beyond their pace.
    if (age < Math.min(1000, this.tuning.repairAfterMs / 4)) return undefined;
    const atMark = await this.store.getEntry(logId, hw);
    if (!atMark) {
      if (age < this.tuning.repairAfterMs) return undefined;
      // Abort exactly the open range: later ranges belong to appenders that may be alive.
      await this.store.putEntry(logId, { base: hw, count: open.count, state: 'aborted', appendedAt: now });
    }
    const fresh = await this.store.getHead(logId);
    if (!fresh) return undefined;
    if (fresh.highWatermark === hw) await this.chain(logId, fresh);
    return this.store.getHead(logId);
  }

  /**
   * Carries the mark of `head` over the entries that follow it contiguously (committed, or aborted by a
   * repair), at once: what an appender does for the ranges after its own (PartitionAppender's bounded
   * help). Never aborts.
   */
  async carryOver(logId: string, head: PartitionHead): Promise<void> {
    await this.chain(logId, head);
  }

  /**
   * Carries the high-water mark over every entry committed contiguously after it. Whoever moves the
   * mark to X looks for an entry at X; an appender whose advance failed committed before trying, so
   * either its advance succeeds or the one who later reaches its base finds its entry.
   */
  private async chain(logId: string, head: PartitionHead): Promise<void> {
    for (;;) {
      const hw = head.highWatermark;
      const passed = head.reservations.filter((r) => r.base + r.count <= hw).map((r) => r.id);
      if (head.logEndOffset <= hw) {
        await this.store.removeOpenRanges(logId, passed);
        return;
      }
      const entries = await this.store.queryEntries(logId, hw, head.logEndOffset, this.tuning.chainBatch);
      let end = hw;
      for (const entry of entries) {
        if (entry.base !== end) break;
        end = entry.base + entry.count;
      }
      if (end === hw) {
        // The range at the mark is still open: its appender advances when it commits.
        await this.store.removeOpenRanges(logId, passed);
        return;
      }
      const covered = head.reservations.filter((r) => r.base < end).map((r) => r.id);
      const next = await this.store.advance(logId, hw, end, covered, this.now());
      if (!next) return; // someone else moved it, and carries on from there
      head = next;
    }
  }
}

/** A range at the mark with no open range recorded (should not happen): it ends at the next one. */
function inferOpenRange(head: PartitionHead): OpenRange {
  const next = head.reservations.find((r) => r.base > head.highWatermark);
  return {
    id: '',
    base: head.highWatermark,
    count: (next?.base ?? head.logEndOffset) - head.highWatermark,
    reservedAt: head.hwAt,
  };
}
