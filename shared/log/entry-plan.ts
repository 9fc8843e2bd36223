import { countWithinBudget } from '../model/fetch-budget';
import type { IndexEntry } from './ports';

/** The index entries a fetch reads for one partition, their bytes, and the offset after them. */
export interface EntryPlan {
  readonly entries: IndexEntry[];
  readonly bytes: number;
  readonly nextOffset: number;
}

/** Bytes an entry adds to a fetch answer: an aborted range holds none. */
export const bytesOf = (entry: IndexEntry) => (entry.state === 'committed' ? (entry.size ?? 0) : 0);

/**
 * The entries that continue one another from the first (the one holding the offset), up to the
 * high-water mark: a fetch never returns across a gap.
 */
export function contiguousRun(entries: readonly IndexEntry[], offset: number, hw: number): IndexEntry[] {
  const run: IndexEntry[] = [];
  let next = offset;
  for (const entry of entries) {
    // An entry inside one already taken: a merge replaced a run of entries by one and has not yet
    // deleted the old ones. The wider entry holds the same records.
    if (run.length > 0 && entry.base < next) continue;
    if (run.length > 0 && entry.base > next) break; // not contiguous: stop at the gap
    run.push(entry);
    next = entry.base + entry.count;
    if (next >= hw) break;
  }
  return run;
}

/** The prefix of a contiguous run within `maxBytes` (the first entry always, as Kafka does). */
export function planWithin(run: readonly IndexEntry[], offset: number, maxBytes: number): EntryPlan {
  const entries = run.slice(0, countWithinBudget(run.map(bytesOf), maxBytes));
  const last = entries.at(-1);
  return {
    entries,
    bytes: entries.reduce((sum, entry) => sum + bytesOf(entry), 0),
    nextOffset: last ? last.base + last.count : offset,
  };
}
