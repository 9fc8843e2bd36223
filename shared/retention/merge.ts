import { validateBatches } from '../codec/record-batch';
import { mapLimit } from '../concurrency';
import { newObjectKey } from '../log/log-service';
import type { IndexEntry } from '../log/ports';
import type { PassContext } from './context';
import type { ResolvedMergeOptions } from './options';
import { entryTime } from './partition';
import type { CleanupHead } from './ports';

/**
 * Merging small segments (design §7). A consumer catching up on a partition written in small batches
 * pays one S3 GET per batch; merged, it pays one per several megabytes.
 *
 *   plan     scan the partition's entries from the merge checkpoint up to HW; a run is
 *            consecutive committed entries, each small and appended at least minAgeMs ago; an aborted,
 *            large or young entry ends a run. (An idempotent producer's last batch may be merged too:
 *            a retry of it finds the merged entry covering its recorded base and gets its offsets.) A run is at most maxEntryBytes and maxRunEntries.
 *   write    read the runs' bytes and PUT them as ONE new object, batches exactly as stored (base
 *            offsets too: a fetch stamps them). Runs go into one object up to objectBytes.
 *   replace  per run: UpdateItem the run's first entry to cover the whole run (count, the new
 *            object's range, max timestamp), CONDITION it still points at its old bytes.
 *   delete   then the run's other entries, one by one in ascending order, each CONDITION it still
 *            points at its old bytes.
 *
 * Why readers never see a gap, an overlap or a duplicate: every state between the steps holds the same
 * records. Before the replace, the old entries; after it, the merged entry plus old entries inside it,
 * which the fetch skips (an entry whose base lies inside one already taken). Deleting in ascending
 * order keeps one more property: for any offset of the run, the entry at or before it that the fetch
 * looks up either holds it (an old entry not yet deleted) or is the merged entry, never an old entry
 * that ends before it. Old objects stay until the object collection finds them unreferenced for
 * objectGraceMs, longer than any fetch that read an old entry runs.
 *
 * A pass that dies after the write leaves an orphan (collected after the orphan window); one that dies
 * after the replace leaves old entries inside the merged one: the next pass deletes them first
 * ("leftovers"). Only one pass runs at a time (the cleanup lease), so two merges never overlap.
 */

interface Run {
  readonly entries: IndexEntry[];
  bytes: number;
}

interface MergePlan {
  readonly runs: Run[];
  /** Old entries covered by the merged entry before them: an earlier merge died before deleting them. */
  readonly leftovers: IndexEntry[];
  /** Everything below this was examined and is settled (the next scan starts here). */
  readonly checkpoint: number;
  readonly overlap: boolean;
}

const PAGE = 1000;

export interface MergeOutcome {
  /** No old entries of an interrupted merge are left in the part scanned: the entries tile (I8). */
  readonly tiled: boolean;
  /** Every run found was merged (false: the budget ran out first). */
  readonly done: boolean;
}

/**
 * Merges one partition's small entries within the pass's budget; entries whose records are older than
 * `expiredBefore` (time retention is about to drop them) are left alone. The scan starts at the merge
 * checkpoint, never at logStartOffset: the checkpoint always lies between entries of the tiling, so a
 * merged entry is met before the old entries inside it, which tells them apart.
 */
export async function mergePartition(
  ctx: PassContext,
  logId: string,
  head: CleanupHead,
  options: ResolvedMergeOptions,
  expiredBefore?: number,
): Promise<MergeOutcome> {
  const start = head.mergeCheckpoint ?? 0;
  if (start >= head.highWatermark) return { tiled: true, done: true };
  const plan = await planMerge(ctx, logId, start, head, options, expiredBefore);
  if (plan.overlap) ctx.summary.overlapsFound++;

  // Finish an interrupted merge first, in ascending order as the merge itself deletes.
  for (const leftover of plan.leftovers) {
    if (!ctx.hasTime || !ctx.reserveDeletes(1)) {
      ctx.stop();
      return { tiled: false, done: false };
    }
    if (await ctx.log.deleteEntryIfUnchanged(logId, leftover)) ctx.summary.mergeLeftoversDeleted++;
    else ctx.returnDeletes(1);
  }

  let unmerged: number | undefined;
  let next = 0;
  while (next < plan.runs.length) {
    if (!ctx.hasTime) {
      ctx.stop();
      break;
    }
    const group: Run[] = [];
    let bytes = 0;
    while (next < plan.runs.length) {
      const run = plan.runs[next]!;
      if (group.length > 0 && bytes + run.bytes > options.objectBytes) break;
      if (!ctx.reserveDeletes(run.entries.length - 1)) break;
      group.push(run);
      bytes += run.bytes;
      next++;
    }
    if (group.length === 0) break; // the delete budget ran out
    const failed = await writeAndReplace(ctx, logId, group, options);
    if (failed !== undefined) unmerged ??= failed;
  }
  if (next < plan.runs.length) unmerged ??= plan.runs[next]!.entries[0]!.base;

  const checkpoint = Math.min(plan.checkpoint, unmerged ?? Number.POSITIVE_INFINITY);
  if (checkpoint > (head.mergeCheckpoint ?? -1)) await ctx.log.setMergeCheckpoint(logId, checkpoint);
  return { tiled: !plan.overlap, done: next >= plan.runs.length };
}

async function planMerge(
  ctx: PassContext,
  logId: string,
  start: number,
  head: CleanupHead,
  options: ResolvedMergeOptions,
  expiredBefore = Number.NEGATIVE_INFINITY,
): Promise<MergePlan> {
  const { highWatermark, logStartOffset } = head;
  const now = ctx.now();
  const runs: Run[] = [];
  const leftovers: IndexEntry[] = [];
  let current: Run = { entries: [], bytes: 0 };
  const close = () => {
    if (current.entries.length >= 2) runs.push(current);
    current = { entries: [], bytes: 0 };
  };
  let end: number | undefined; // end of the last entry passed
  let settled = start;
  let overlap = false;
  let from = start;
  scan: for (let examined = 0; from < highWatermark && examined < options.maxScanEntries; ) {
    const limit = Math.min(PAGE, options.maxScanEntries - examined);
    const entries = await ctx.log.queryEntries(logId, from, highWatermark, limit);
    for (const entry of entries) {
      if (end !== undefined && entry.base < end) {
        if (entry.base + entry.count <= end) {
          leftovers.push(entry);
          continue;
        }
        overlap = true; // two entries overlap without one covering the other: leave it alone
        break scan;
      }
      if (end !== undefined && entry.base > end) close(); // not contiguous (not expected below HW)
      // Young entries (and all after them) wait: an idempotent producer may still retry them.
      if (now - entry.appendedAt < options.minAgeMs) break scan;
      end = entry.base + entry.count;
      settled = end;
      const mergeable =
        entry.state === 'committed' &&
        entry.objectKey !== undefined &&
        entry.position !== undefined &&
        entry.size !== undefined &&
        entry.size < options.smallEntryBytes &&
        entry.base >= logStartOffset && // below it, the entry is on its way out
        entryTime(entry) >= expiredBefore; // so is one retention is about to drop
      if (!mergeable) {
        close();
        continue;
      }
      if (
        current.entries.length > 0 &&
        (current.bytes + entry.size! > options.maxEntryBytes ||
          current.entries.length >= options.maxRunEntries)
      ) {
        close();
      }
      current.entries.push(entry);
      current.bytes += entry.size!;
    }
    if (entries.length < limit) break;
    examined += entries.length;
    from = entries[entries.length - 1]!.base + 1;
  }
  // The run in progress when the scan stopped may grow with later entries: the next scan starts there.
  const trailing = current.entries[0]?.base;
  close();
  return { runs, leftovers, checkpoint: trailing ?? settled, overlap };
}

/**
 * Writes the runs as one object and replaces each run's entries. Returns the base of the first run
 * left unmerged (its replace condition failed, or the pass ran late), if any.
 */
async function writeAndReplace(
  ctx: PassContext,
  logId: string,
  runs: Run[],
  options: ResolvedMergeOptions,
): Promise<number | undefined> {
  const bodies = await readRuns(ctx, runs, options);
  let unmerged: number | undefined;
  const kept: { run: Run; body: Buffer }[] = [];
  runs.forEach((run, i) => {
    const body = bodies[i];
    if (body) {
      kept.push({ run, body });
    } else {
      ctx.summary.runsSkipped++;
      ctx.returnDeletes(run.entries.length - 1);
      unmerged ??= run.entries[0]!.base;
    }
  });
  if (kept.length === 0) return unmerged;
  const key = newObjectKey();
  await ctx.segments.put(key, Buffer.concat(kept.map((k) => k.body)));
  const writtenAt = ctx.now();
  ctx.summary.mergeObjectsWritten++;
  await ctx.step('merge-object-written', logId);
  let position = 0;
  for (const { run, body } of kept) {
    const first = run.entries[0]!;
    const at = position;
    position += body.length;
    // The object is referenced only from the replace on; until then it is an orphan to the collection,
    // safe only within the orphan window. A pass running that late leaves the rest unmerged.
    if (ctx.now() - writtenAt > ctx.options.orphanWindowMs / 2) {
      ctx.returnDeletes(run.entries.length - 1);
      unmerged ??= first.base;
      continue;
    }
    const replaced = await ctx.log.replaceWithMerged(logId, first, {
      count: run.entries.reduce((sum, e) => sum + e.count, 0),
      objectKey: key,
      position: at,
      size: body.length,
      maxTimestamp: Math.max(-1, ...run.entries.map((e) => e.maxTimestamp ?? -1)),
    });
    if (!replaced) {
      ctx.returnDeletes(run.entries.length - 1);
      unmerged ??= first.base;
      continue;
    }
    await ctx.step('merge-entry-replaced', logId);
    for (const entry of run.entries.slice(1)) {
      if (await ctx.log.deleteEntryIfUnchanged(logId, entry)) ctx.summary.entriesDeleted++;
      else ctx.returnDeletes(1);
      await ctx.step('merge-entry-deleted', logId);
    }
    ctx.summary.runsMerged++;
    ctx.summary.entriesMerged += run.entries.length;
  }
  return unmerged;
}

/**
 * The stored bytes of each run, its entries' ranges concatenated in offset order. Ranges of one object
 * that touch are read with one GET. A run whose bytes do not match its entries (batch framing, CRC,
 * record counts) comes back undefined and is left as it is.
 */
async function readRuns(ctx: PassContext, runs: Run[], options: ResolvedMergeOptions) {
  const reads = new Map<string, { key: string; start: number; end: number }[]>();
  for (const run of runs) {
    for (const e of run.entries) {
      const list = reads.get(e.objectKey!) ?? [];
      list.push({ key: e.objectKey!, start: e.position!, end: e.position! + e.size! });
      reads.set(e.objectKey!, list);
    }
  }
  const ranges: { key: string; start: number; end: number }[] = [];
  for (const list of reads.values()) {
    list.sort((a, b) => a.start - b.start);
    let current: { key: string; start: number; end: number } | undefined;
    for (const r of list) {
      if (current && r.start <= current.end) current.end = Math.max(current.end, r.end);
      else {
        current = { ...r };
        ranges.push(current);
      }
    }
  }
  const buffers = await mapLimit(ranges, options.readConcurrency, (r) =>
    ctx.segments.getRange(r.key, r.start, r.end),
  );
  const byKey = new Map<string, { start: number; end: number; bytes: Buffer }[]>();
  ranges.forEach((r, i) => {
    const list = byKey.get(r.key) ?? [];
    list.push({ start: r.start, end: r.end, bytes: buffers[i]! });
    byKey.set(r.key, list);
  });
  const slice = (e: IndexEntry) => {
    const range = byKey
      .get(e.objectKey!)!
      .find((r) => r.start <= e.position! && r.end >= e.position! + e.size!)!;
    return range.bytes.subarray(e.position! - range.start, e.position! - range.start + e.size!);
  };
  return runs.map((run) => {
    const pieces = run.entries.map(slice);
    if (!run.entries.every((e, i) => matchesEntry(pieces[i]!, e))) return undefined;
    return Buffer.concat(pieces);
  });
}

/** The bytes are whole batches with a valid CRC whose record counts add up to the entry's. */
function matchesEntry(bytes: Buffer, entry: IndexEntry): boolean {
  try {
    const headers = validateBatches(bytes);
    return headers.reduce((sum, h) => sum + h.recordCount, 0) === entry.count;
  } catch {
    return false;
  }
}
