/**
 * Counting the records of fetch answers from the batch headers only (codec's batchSpans). The bytes come
 * from the log service, which validated them on produce; this never decompresses. (Fetch answers are
 * cut to their byte budget in framing.ts.)
 */
import { batchSpans } from '../codec/record-batch';

export function countRecords(buf: Buffer): number {
  return batchSpans(buf).reduce((n, span) => n + span.recordCount, 0);
}
