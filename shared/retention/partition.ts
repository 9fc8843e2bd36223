import { logIdOf } from '../log/log-service';
import type { IndexEntry } from '../log/ports';
import type { Topic } from '../model';
import type { PassContext } from './context';
import { mergePartition } from './merge';
import type { CleanupHead } from './ports';

/** Index entries read per query while scanning a partition. */
const PAGE = 1000;
/** Entries a retention scan reads per partition per pass; the next pass goes on from the new logStartOffset. */
const MAX_RETENTION_SCAN = 20_000;

/**
 * The time an entry's records were written, as retention counts it: Kafka's largest timestamp of the
 * segment, and the append time when the batches carry none.
 */
export const entryTime = (entry: IndexEntry) =>
  entry.maxTimestamp !== undefined && entry.maxTimestamp >= 0 ? entry.maxTimestamp : entry.appendedAt;

/**
 * Deletes the entries ending at or below `below`, oldest first, within the pass's budget. An entry that
 * straddles `below` stays. True when none is left; false when the budget ran out first.
 */
export async function deleteEntriesBelow(ctx: PassContext, logId: string, below: number): Promise<boolean> {
  for (;;) {
    if (!ctx.hasTime) return ctx.stop();
    const entries = await ctx.log.queryEntries(logId, 0, below, PAGE);
    const gone = entries.filter((e) => e.base + e.count <= below).map((e) => e.base);
    if (gone.length === 0) return true;
    const granted = ctx.takeDeletes(gone.length);
    if (granted > 0) {
      await ctx.log.deleteEntries(logId, gone.slice(0, granted));
      ctx.summary.entriesDeleted += granted;
    }
    if (granted < gone.length) return false;
  }
}

/**
 * One live partition's cleanup, in this order:
 *   1. repair a range stalled between reserve and commit (design §4), so HW can reach LEO;
 *   2. delete the entries of a pending deletion once its grace period has passed (invariant 5);
 *   3. merge small entries, first finishing a merge an earlier pass left half done, so that
 *   4. retention: advance logStartOffset by time and size, never past HW, never inside an entry;
 *   5. record entries newly below logStartOffset as a pending deletion, starting its grace period;
 *   6. remove producer state a head of an earlier version still holds (it lives in items of its own
 *      now, expired by the table sweep: see producers.ts).
 * Returns false when the pass's budget ran out before the partition was done.
 */
export async function cleanPartition(ctx: PassContext, topic: Topic, partition: number): Promise<boolean> {
  const logId = logIdOf(topic, partition);
  let head = await ctx.log.getHeadForCleanup(logId);
  if (!head || head.deleted) return true;

  if (head.highWatermark < head.logEndOffset && (await ctx.repairer.repairIfStalled(logId, head))) {
    ctx.summary.rangesRepaired++;
    head = (await ctx.log.getHeadForCleanup(logId)) ?? head;
  }

  let pending = head.pendingDeletion;
  if (pending && ctx.now() - pending.at >= ctx.options.indexGraceMs) {
    if (!(await deleteEntriesBelow(ctx, logId, pending.below))) return false;
    await ctx.log.clearPendingDeletion(logId, pending.below);
    pending = undefined;
  }

  let merged = { tiled: true, done: true };
  if (ctx.options.merge) {
    const expiredBefore = topic.retentionMs === null ? undefined : ctx.now() - topic.retentionMs;
    merged = await mergePartition(ctx, logId, head, ctx.options.merge, expiredBefore);
    if (!merged.tiled) return merged.done;
  }

  let logStartOffset = head.logStartOffset;
  const target = await retentionTarget(ctx, logId, head, topic);
  if (target > logStartOffset) {
    // Conditional: never backwards, never past the high-water mark.
    if (await ctx.log.advanceLogStartOffset(logId, target)) {
      ctx.summary.logStartOffsetsAdvanced++;
      logStartOffset = target;
      await ctx.step('log-start-offset-advanced', logId);
    } else {
      logStartOffset = (await ctx.log.getHead(logId))?.logStartOffset ?? logStartOffset;
    }
  }

  if (!pending && logStartOffset > 0) {
    // The grace period starts when a pass first sees entries below logStartOffset: no earlier than
    // the move itself, whoever made it, so a crash between the move and this write is harmless.
    const [oldest] = await ctx.log.queryEntries(logId, 0, logStartOffset, 1);
    if (oldest && oldest.base + oldest.count <= logStartOffset) {
      await ctx.log.recordPendingDeletion(logId, logStartOffset, ctx.now());
    }
  }

  if (head.legacyProducerAttributes.length > 0) {
    await ctx.log.removeLegacyProducerAttributes(logId, head.legacyProducerAttributes);
  }

  return merged.done;
}

/**
 * Retention: the new logStartOffset. Kafka's two rules, per partition:
 *   time  records older than retentionMs go: pass every entry whose largest timestamp is older (and
 *         aborted ranges, which hold none); stop at the first committed entry still within it;
 *   size  retention.bytes: keep the newest entries until they reach retentionBytes, the older ones go.
 * The size rule only bounds the walk: the target always comes from walking up from logStartOffset,
 * which meets each merged entry before any old entries left inside it, so it is always a boundary
 * between entries, never past HW. A walk too long for one pass stops early; the next goes on.
 */
async function retentionTarget(ctx: PassContext, logId: string, head: CleanupHead, topic: Topic) {
  const cutoff = topic.retentionMs === null ? undefined : ctx.now() - topic.retentionMs;
  const sizeBound = await sizeRetentionBound(ctx, logId, head, topic);
  if (cutoff === undefined && sizeBound <= head.logStartOffset) return head.logStartOffset;
  const expired = (entry: IndexEntry) =>
    cutoff !== undefined && (entry.state === 'aborted' || entryTime(entry) < cutoff);
  let target = head.logStartOffset;
  let end: number | undefined;
  let from = head.logStartOffset;
  for (let examined = 0; from < head.highWatermark && examined < MAX_RETENTION_SCAN; ) {
    const entries = await ctx.log.queryEntries(logId, from, head.highWatermark, PAGE);
    for (const entry of entries) {
      // Inside a merged entry already passed: old entries of a merge not yet finished.
      if (end !== undefined && entry.base < end) continue;
      if (end !== undefined && entry.base > end) return target; // not contiguous: decide next pass
      if (!expired(entry) && entry.base + entry.count > sizeBound) return target;
      end = entry.base + entry.count;
      target = end;
    }
    if (entries.length < PAGE) break;
    examined += entries.length;
    from = entries[entries.length - 1]!.base + 1;
  }
  return Math.min(target, head.highWatermark);
}

/**
 * Size retention's bound: the base of the newest entries that together reach retentionBytes, scanning
 * down from HW (logStartOffset when they do not, or when the scan finds entries out of line: a merge
 * not yet finished, decided on a later pass).
 */
async function sizeRetentionBound(ctx: PassContext, logId: string, head: CleanupHead, topic: Topic) {
  if (topic.retentionBytes === null) return head.logStartOffset;
  let total = 0;
  let lowest = head.highWatermark;
  for (let examined = 0; lowest > head.logStartOffset && examined < MAX_RETENTION_SCAN; ) {
    const entries = await ctx.log.queryEntries(logId, head.logStartOffset, lowest, PAGE, true);
    for (const entry of entries) {
      if (entry.base + entry.count !== lowest) return head.logStartOffset;
      lowest = entry.base;
      if (entry.state === 'committed') total += entry.size ?? 0;
      if (total >= topic.retentionBytes) return entry.base;
    }
    if (entries.length < PAGE) break;
    examined += entries.length;
  }
  return head.logStartOffset;
}
