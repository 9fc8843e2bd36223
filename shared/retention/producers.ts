import type { PassContext } from './context';
import type { ProducerRef } from './ports';

/**
 * Idle expiry of idempotent-producer state (Kafka's producer.id.expiration.ms). Each state is an item of
 * its own (one per partition and producer id), so a partition visit cannot list them: the pass's table
 * scan finds them, and each one idle for producerIdleMs is deleted on condition that it is still as
 * read (same updated-at), so a producer that wrote meanwhile keeps its state. On AWS the items also
 * carry a TTL attribute and DynamoDB deletes them itself; the scan is what works everywhere (dynalite
 * has no TTL) and what bounds the wait (TTL deletes within days, not at once).
 *
 * A producer whose state is gone starts afresh: its next batch must have sequence 0 (UNKNOWN_PRODUCER_ID
 * otherwise), as in Kafka. Returns false when the pass's budget ran out first.
 */
export async function expireIdleProducers(
  ctx: PassContext,
  producers: readonly ProducerRef[],
): Promise<boolean> {
  const idle = producers.filter((p) => ctx.now() - p.updatedAt >= ctx.options.producerIdleMs);
  for (const producer of idle) {
    if (!ctx.hasTime) return ctx.stop();
    if (!ctx.reserveDeletes(1)) return false;
    if (await ctx.log.deleteIdleProducer(producer.logId, producer.producerId, producer.updatedAt)) {
      ctx.summary.producersExpired++;
    } else {
      ctx.returnDeletes(1);
    }
  }
  return true;
}
