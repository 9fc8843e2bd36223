/**
 * Bounded concurrency, for fan-outs over DynamoDB and S3: enough requests in flight to hide latency, few
 * enough not to be throttled or to exhaust sockets.
 */

/** Runs `task` over `items` with at most `limit` in flight; the results keep the order of the items. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}
