import { randomBytes } from 'node:crypto';
import { DEFAULT_APPEND_TUNING } from '../log/append';
import { RangeRepairer } from '../log/repair';
import type { Topic } from '../model';
import { parsePartitionLabel, partitionLabel } from '../model/partitions';
import { collectObjects } from './collect';
import { type CleanupDeps, type CleanupSummary, PassContext } from './context';
import { finishDeletedTopics } from './deleted-topics';
import { type CleanupOptions, resolveCleanupOptions } from './options';
import { cleanPartition } from './partition';
import { expireIdleProducers } from './producers';

/** How long past its own time budget a pass's lease lasts, should the pass die holding it. */
const LEASE_MARGIN_MS = 60_000;

/**
 * One bounded cleanup pass (design §7): finish deleted topics; visit up to maxPartitions partitions,
 * resuming after the last one the previous pass finished (repair, retention, merging); then, from one
 * scan of the log table, expire idle producer state and collect unreferenced objects. It stops between steps when its time or delete budget
 * is spent, and the next pass goes on from there. Every step is idempotent and conditional, so a pass
 * may die anywhere; correctness never depends on DynamoDB TTL.
 *
 * Passes take a lease (an item of the log table) so that only one runs at a time; one that finds it
 * held returns at once with `skipped: 'locked'`.
 */
export async function runCleanup(deps: CleanupDeps, options: CleanupOptions = {}): Promise<CleanupSummary> {
  const resolved = resolveCleanupOptions(options);
  const now = deps.now ?? Date.now;
  const repairer = new RangeRepairer(
    deps.log,
    { chainBatch: DEFAULT_APPEND_TUNING.chainBatch, repairAfterMs: resolved.repairAfterMs },
    now,
  );
  const ctx = new PassContext(deps, resolved, repairer, now);
  const started = now();
  const owner = resolved.owner ?? randomBytes(8).toString('hex');
  const lease = await deps.log.acquireCleanupLease(
    owner,
    started,
    started + resolved.maxDurationMs + LEASE_MARGIN_MS,
  );
  if (!lease) return { ...ctx.summary, complete: false, skipped: 'locked', durationMs: now() - started };
  const progress = { cursor: lease.cursor };
  try {
    if (await finishDeletedTopics(ctx)) {
      await visitPartitions(ctx, progress);
      // One consistent scan of the log table serves both table-wide steps.
      if (ctx.hasTime && ctx.deletesRemaining > 0) {
        const scan = await deps.log.scanForCollection();
        if (await expireIdleProducers(ctx, scan.producers)) {
          if (ctx.options.collectObjects && ctx.hasTime && ctx.deletesRemaining > 0) {
            await collectObjects(ctx, scan);
          } else if (ctx.options.collectObjects) {
            ctx.stop();
          }
        }
      } else {
        ctx.stop();
      }
    }
  } finally {
    await deps.log.releaseCleanupLease(owner, progress.cursor);
  }
  ctx.summary.durationMs = now() - started;
  return ctx.summary;
}

interface PartitionRef {
  readonly topic: Topic;
  readonly partition: number;
}

/** The cursor stored in the lease: the label of the last partition a pass finished. */
const cursorOf = (ref: PartitionRef) => partitionLabel(ref.topic.name, ref.partition);

/** Orders partitions as the cursor does: by topic name (as TopicStore.list sorts), then number. */
function compareToCursor(ref: PartitionRef, cursor: string): number {
  const { topic, partition } = parsePartitionLabel(cursor);
  return ref.topic.name.localeCompare(topic) || ref.partition - partition;
}

/** Visits partitions from just after the cursor, wrapping around, and moves the cursor past each one finished. */
async function visitPartitions(ctx: PassContext, progress: { cursor: string }): Promise<void> {
  const topics = await ctx.deps.topics.list();
  const all: PartitionRef[] = topics.flatMap((topic) =>
    Array.from({ length: topic.partitionCount }, (_, partition) => ({ topic, partition })),
  );
  if (all.length === 0) return;
  let start = progress.cursor === '' ? 0 : all.findIndex((ref) => compareToCursor(ref, progress.cursor) > 0);
  if (start < 0) start = 0;
  const visits = Math.min(all.length, ctx.options.maxPartitions);
  if (visits < all.length) ctx.summary.complete = false;
  for (let i = 0; i < visits; i++) {
    if (!ctx.hasTime) {
      ctx.stop();
      return;
    }
    const ref = all[(start + i) % all.length]!;
    ctx.summary.partitionsVisited++;
    // A partition the budget cut short is visited first by the next pass.
    if (!(await cleanPartition(ctx, ref.topic, ref.partition))) {
      ctx.stop();
      return;
    }
    progress.cursor = cursorOf(ref);
  }
}
