/**
 * Cutting fetch answers at a batch boundary and counting their records, from the batch headers only
 * (codec's batchSpans). The bytes come from the log service, which validated them on produce; this never
 * decompresses.
 */
import { batchSpans } from '../codec/record-batch';

/**
 * Cuts `buf` after the last whole batch that fits in `budget` bytes. With `keepFirst`, the first batch
 * is kept even when it alone is larger (as Kafka does, so a consumer always progresses).
 */
export function takeBatches(buf: Buffer, budget: number, keepFirst: boolean): Buffer {
  let end = 0;
  for (const span of batchSpans(buf)) {
    if (span.end > budget && !(keepFirst && span.start === 0)) break;
    end = span.end;
  }
  return end === buf.length ? buf : buf.subarray(0, end);
}

export function countRecords(buf: Buffer): number {
  return batchSpans(buf).reduce((n, span) => n + span.recordCount, 0);
}
