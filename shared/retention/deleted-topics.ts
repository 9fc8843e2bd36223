import { logIdOf } from '../log/log-service';
import type { PassContext } from './context';
import { deleteEntriesBelow } from './partition';

/**
 * Finishes deleting deleted topics: LogService.deleteTopic leaves a tombstone and marks the heads
 * deleted (appends and fetches fail from then on). The first pass to see a partition so records when
 * (delAt on its head); once indexGraceMs has passed, the partition's index entries go, then its head,
 * and once every partition is gone, the tombstone. The objects follow through the object collection.
 * Returns false when the pass's budget ran out first.
 */
export async function finishDeletedTopics(ctx: PassContext): Promise<boolean> {
  for (const topic of await ctx.deps.topics.listTombstones()) {
    if (!ctx.hasTime) return ctx.stop();
    // A tombstone beside the live topic: a delete died between its two writes. Its caller sees the
    // failure and deletes again; nothing of the live topic may go.
    const live = await ctx.deps.topics.get(topic.name);
    if (live?.topicId === topic.topicId) continue;
    let finished = true;
    for (let p = 0; p < topic.partitionCount; p++) {
      const logId = logIdOf(topic, p);
      const deletedAt = await ctx.log.markDeletedAt(logId, ctx.now());
      if (deletedAt !== undefined && ctx.now() - deletedAt < ctx.options.indexGraceMs) {
        finished = false;
        continue;
      }
      if (!(await deleteEntriesBelow(ctx, logId, Number.MAX_SAFE_INTEGER))) return false;
      if (deletedAt !== undefined) {
        if (!ctx.reserveDeletes(1)) return false;
        if (await ctx.log.deleteHead(logId)) ctx.summary.headsDeleted++;
        else ctx.returnDeletes(1);
      }
    }
    if (finished) {
      await ctx.deps.topics.deleteTombstone(topic.topicId);
      ctx.summary.topicsFinished++;
    }
  }
  return true;
}
