/**
 * The fetch's byte budget: one rule for every cut of a fetch answer — the log's choice of index
 * entries (per partition, then for the whole answer) and the HTTP answers' cut at a batch boundary.
 */

export interface BudgetOptions {
  /** Bytes already taken from the same budget (by earlier partitions). @default 0 */
  readonly used?: number;
  /**
   * While nothing has been taken (`used` is 0), take the next item whole even when it alone is larger
   * than the limit, as Kafka does, so a consumer always progresses. @default true
   */
  readonly keepFirst?: boolean;
}

/** How many of `sizes`, in order, fit within `limit` bytes: the length of the prefix taken. */
export function countWithinBudget(
  sizes: Iterable<number>,
  limit: number,
  options: BudgetOptions = {},
): number {
  let used = options.used ?? 0;
  const keepFirst = options.keepFirst ?? true;
  let taken = 0;
  for (const size of sizes) {
    if (used + size > limit && !(keepFirst && used === 0)) break;
    used += size;
    taken++;
  }
  return taken;
}
