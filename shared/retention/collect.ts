import type { PassContext } from './context';
import type { ObjectReferences } from './ports';

/** Where segment objects live: newObjectKey() writes under this prefix, and nothing else does. */
export const SEGMENT_PREFIX = 'segments/';

/**
 * The object collection: a mark and sweep over the bucket (design §3: an object no index entry
 * references is garbage). Objects hold batches of several partitions, so references are counted across
 * the whole log table.
 *
 *   scan    every index entry's object key (a consistent Scan of the log table), and the candidates
 *           recorded by earlier passes;
 *   list    the bucket's segment objects;
 *   mark    an object older than orphanWindowMs that nothing references becomes a candidate, with the
 *           time this pass saw it so;
 *   sweep   a candidate recorded at least objectGraceMs ago and still unreferenced is deleted.
 *
 * Why it never deletes a referenced object: an object older than the orphan window never gains a
 * reference (appends reference only the object they have just written; a merge references only its new
 * object, and gives up on it after half the window). So an old object this scan found unreferenced
 * stays so, and the one the scan saw referenced is kept. The grace period between mark and sweep
 * covers a fetch that read an entry just before a merge or retention removed it and GETs the object a
 * moment later.
 */
export async function collectObjects(ctx: PassContext, scan: ObjectReferences): Promise<boolean> {
  const { referenced, candidates } = scan;
  const now = ctx.now();
  const mark: string[] = [];
  const sweep: string[] = [];
  const forget: string[] = [];
  const listed = new Set<string>();
  for await (const object of ctx.segments.list(SEGMENT_PREFIX)) {
    listed.add(object.key);
    const seen = candidates.get(object.key);
    if (referenced.has(object.key)) {
      if (seen !== undefined) forget.push(object.key);
      continue;
    }
    // An append in flight writes its object before its entry commits: young objects are left alone.
    if (now - object.lastModified < ctx.options.orphanWindowMs) continue;
    if (seen === undefined) mark.push(object.key);
    else if (now - seen >= ctx.options.objectGraceMs) sweep.push(object.key);
  }
  // Candidates whose object is gone: a pass died between deleting the object and its record.
  for (const key of candidates.keys()) if (!listed.has(key)) forget.push(key);

  if (mark.length > 0) {
    await ctx.log.putObjectCandidates(mark, now);
    ctx.summary.objectsMarked += mark.length;
    await ctx.step('object-candidates-recorded', '');
  }
  const granted = ctx.takeDeletes(sweep.length);
  const deleting = sweep.slice(0, granted);
  if (deleting.length > 0) {
    await ctx.segments.deleteMany(deleting);
    ctx.summary.objectsDeleted += deleting.length;
  }
  // The records go after their objects: a record without its object is forgotten next pass.
  if (deleting.length + forget.length > 0) await ctx.log.deleteObjectCandidates([...deleting, ...forget]);
  return granted === sweep.length;
}
