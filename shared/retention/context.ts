import type { SegmentStore, TopicStore } from '../log/ports';
import type { RangeRepairer } from '../log/repair';
import type { ResolvedCleanupOptions } from './options';
import type { CleanupLogStore } from './ports';

/** The stores a cleanup pass works on. */
export interface CleanupDeps {
  readonly topics: TopicStore;
  readonly log: CleanupLogStore;
  readonly segments: SegmentStore;
  /** @default Date.now */
  readonly now?: () => number;
  readonly hooks?: CleanupHooks;
}

/**
 * Named steps of the cleanup. Tests install a hook to look at the log between steps (a fetch racing a
 * merge) or to throw and play a pass that dies there; production installs none.
 */
export type CleanupStep =
  | 'merge-object-written'
  | 'merge-entry-replaced'
  | 'merge-entry-deleted'
  | 'log-start-offset-advanced'
  | 'object-candidates-recorded';

export interface CleanupHooks {
  readonly step?: (step: CleanupStep, logId: string) => void | Promise<void>;
}

/** What one pass did. Counts, so repeated passes can be compared and logged. */
export interface CleanupSummary {
  /** False when the pass stopped on a budget (time, deletes, partitions) with work left, or was locked out. */
  complete: boolean;
  /** Set when another pass held the lease: this one did nothing. */
  skipped?: 'locked';
  partitionsVisited: number;
  rangesRepaired: number;
  logStartOffsetsAdvanced: number;
  entriesDeleted: number;
  producersExpired: number;
  runsMerged: number;
  entriesMerged: number;
  mergeObjectsWritten: number;
  mergeLeftoversDeleted: number;
  /** Entries overlapping without one covering the other: never expected; merging stops there. */
  overlapsFound: number;
  /** Runs left unmerged because their stored bytes did not match their entries. */
  runsSkipped: number;
  objectsMarked: number;
  objectsDeleted: number;
  headsDeleted: number;
  topicsFinished: number;
  durationMs: number;
}

export const emptySummary = (): CleanupSummary => ({
  complete: true,
  partitionsVisited: 0,
  rangesRepaired: 0,
  logStartOffsetsAdvanced: 0,
  entriesDeleted: 0,
  producersExpired: 0,
  runsMerged: 0,
  entriesMerged: 0,
  mergeObjectsWritten: 0,
  mergeLeftoversDeleted: 0,
  overlapsFound: 0,
  runsSkipped: 0,
  objectsMarked: 0,
  objectsDeleted: 0,
  headsDeleted: 0,
  topicsFinished: 0,
  durationMs: 0,
});

/** One pass's stores, options, clock and budget. */
export class PassContext {
  readonly summary = emptySummary();
  private deletesLeft: number;
  private readonly deadline: number;

  constructor(
    readonly deps: CleanupDeps,
    readonly options: ResolvedCleanupOptions,
    readonly repairer: RangeRepairer,
    readonly now: () => number,
  ) {
    this.deletesLeft = options.maxDeletes;
    this.deadline = now() + options.maxDurationMs;
  }

  get log(): CleanupLogStore {
    return this.deps.log;
  }

  get segments(): SegmentStore {
    return this.deps.segments;
  }

  async step(step: CleanupStep, logId: string): Promise<void> {
    await this.deps.hooks?.step?.(step, logId);
  }

  /** True while the pass may start more work. */
  get hasTime(): boolean {
    return this.now() < this.deadline;
  }

  /** Takes up to `wanted` deletions from the budget; returns how many were granted. */
  takeDeletes(wanted: number): number {
    const granted = Math.max(0, Math.min(wanted, this.deletesLeft));
    this.deletesLeft -= granted;
    if (granted < wanted) this.summary.complete = false;
    return granted;
  }

  /** Takes exactly `wanted` deletions, or none (and marks the pass incomplete). */
  reserveDeletes(wanted: number): boolean {
    if (wanted > this.deletesLeft) {
      this.summary.complete = false;
      return false;
    }
    this.deletesLeft -= wanted;
    return true;
  }

  /** Gives back deletions granted but not used. */
  returnDeletes(unused: number): void {
    this.deletesLeft += unused;
  }

  get deletesRemaining(): number {
    return this.deletesLeft;
  }

  /** Stops the pass here with work left (a budget ran out). */
  stop(): false {
    this.summary.complete = false;
    return false;
  }
}
