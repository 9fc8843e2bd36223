/**
 * Walking stored RecordBatches by their headers only, for fetch answers: counting records for metrics
 * and cutting an answer at a batch boundary to respect a byte limit. The bytes come from the log
 * service, which validated them on produce; this never decompresses.
 *
 * RecordBatch => baseOffset:i64 batchLength:i32 (bytes after this field) ... lastOffsetDelta:i32 @23
 *                ... recordCount:i32 @57 records (61-byte header)
 */

const HEADER_BYTES = 61;
const LENGTH_OFFSET = 8;

export interface BatchSpan {
  readonly start: number;
  readonly end: number;
  readonly baseOffset: number;
  /** The offset after the batch's last record. */
  readonly nextOffset: number;
  readonly recordCount: number;
}

/** The complete batches at the start of `buf` (a trailing partial batch is ignored). */
export function batchSpans(buf: Buffer): BatchSpan[] {
  const spans: BatchSpan[] = [];
  let pos = 0;
  while (pos + HEADER_BYTES <= buf.length) {
    const end = pos + 12 + buf.readInt32BE(pos + LENGTH_OFFSET);
    if (end > buf.length || end < pos + HEADER_BYTES) break;
    const baseOffset = Number(buf.readBigInt64BE(pos));
    spans.push({
      start: pos,
      end,
      baseOffset,
      nextOffset: baseOffset + buf.readInt32BE(pos + 23) + 1,
      recordCount: buf.readInt32BE(pos + 57),
    });
    pos = end;
  }
  return spans;
}

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
