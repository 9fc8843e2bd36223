/**
 * Wakes the long polls of this process when this process advances a partition's high-water mark.
 *
 * A fetch waiting for records reads the partition heads, finds too little, and pauses before reading
 * again (design §5). Commits made by another process (another Lambda, another listener) are only seen
 * by that polling; but when the commit happened here — the local stack, a Kafka listener serving both
 * its producers and its consumers — the waiting fetch need not wait for its next poll: the log service
 * calls `advanced` after each acknowledged append, and every waiter on that partition whose offset is
 * now below the high-water mark wakes and reads its heads at once.
 *
 * Waking is deferred (setImmediate), never on the produce's response path: the producer's answer goes
 * out first, then the consumers' reads start.
 */

const LATEST_LIMIT = 100_000;

interface Waiter {
  /** Partition id → the high-water mark the fetch last read: it wakes when one moves past it. */
  readonly seen: ReadonlyMap<string, number>;
  readonly wake: (advanced: readonly string[]) => void;
}

export interface HighWatermarkSignalStats {
  /** Waits that ended because a partition advanced, and waits that ran their full pause. */
  readonly woken: number;
  readonly timedOut: number;
}

export class HighWatermarkSignal {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /**
   * The last high-water mark advanced here per partition, so that a fetch that read its heads just
   * before an advance and starts waiting just after it is not left to its full pause.
   */
  private readonly latest = new Map<string, number>();
  private pending = new Map<string, number>();
  private scheduled = false;
  private woken = 0;
  private timedOut = 0;

  /** Tells the waiters of `logId` that its high-water mark is now at least `highWatermark`. */
  advanced(logId: string, highWatermark: number): void {
    // Bounded: only a race is lost when it is forgotten.
    if (this.latest.size >= LATEST_LIMIT && !this.latest.has(logId)) this.latest.clear();
    this.latest.set(logId, Math.max(highWatermark, this.latest.get(logId) ?? -1));
    if (!this.waiters.has(logId)) return;
    this.pending.set(logId, Math.max(highWatermark, this.pending.get(logId) ?? -1));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Resolves after `ms`, or earlier once this process advances one of the partitions past the
   * high-water mark the caller last read (`seen`: partition id → high-water mark). Resolves with the
   * partitions that advanced; none when the pause ran out.
   */
  wait(seen: ReadonlyMap<string, number>, ms: number): Promise<readonly string[]> {
    const already = [...seen].filter(
      ([logId, highWatermark]) => (this.latest.get(logId) ?? -1) > highWatermark,
    );
    if (already.length > 0) {
      this.woken++;
      return Promise.resolve(already.map(([logId]) => logId));
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        seen,
        wake: (advanced) => {
          clearTimeout(timer);
          this.remove(waiter);
          this.woken++;
          resolve(advanced);
        },
      };
      for (const logId of seen.keys()) {
        let set = this.waiters.get(logId);
        if (!set) {
          set = new Set();
          this.waiters.set(logId, set);
        }
        set.add(waiter);
      }
      timer = setTimeout(() => {
        this.remove(waiter);
        this.timedOut++;
        resolve([]);
      }, ms);
    });
  }

  get stats(): HighWatermarkSignalStats {
    return { woken: this.woken, timedOut: this.timedOut };
  }

  /** Partitions with a waiting fetch (for tests and metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    const due = new Map<Waiter, string[]>();
    for (const [logId, highWatermark] of pending) {
      for (const waiter of this.waiters.get(logId) ?? []) {
        if (highWatermark <= (waiter.seen.get(logId) ?? Number.POSITIVE_INFINITY)) continue;
        const advanced = due.get(waiter) ?? [];
        advanced.push(logId);
        due.set(waiter, advanced);
      }
    }
    for (const [waiter, advanced] of due) waiter.wake(advanced);
  }

  private remove(waiter: Waiter): void {
    for (const logId of waiter.seen.keys()) {
      const set = this.waiters.get(logId);
      if (!set) continue;
      set.delete(waiter);
      if (set.size === 0) this.waiters.delete(logId);
    }
  }
}
