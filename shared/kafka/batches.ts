/**
 * What the Kafka listener needs to know of stored RecordBatches (v2, grammar in
 * shared/codec/record-batch.ts): where a run of batches ends, and an empty batch to cover offsets that
 * hold no records.
 *
 * Sluice's log may skip offsets (a range aborted after a stalled append holds no records). A Kafka
 * consumer only moves past offsets it is given batches for, so a fetch answer covers such a gap with
 * an empty batch (recordCount 0, lastOffsetDelta = gap − 1), as Kafka's own log does for a batch whose
 * records compaction removed: clients skip it and continue at its next offset.
 */
import { crc32c } from '../codec/crc32c';
import {
  BATCH_HEADER as AT,
  batchSpans,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_BYTES,
} from '../codec/record-batch';

/** The offset after the last batch of concatenated, stamped batches; undefined when there are none. */
export function nextOffsetAfter(records: Buffer): number | undefined {
  return batchSpans(records).at(-1)?.nextOffset;
}

/** A batch of no records covering [baseOffset, baseOffset + count). */
export function encodeEmptyBatch(baseOffset: number, count: number): Buffer {
  const b = Buffer.alloc(RECORD_BATCH_HEADER_BYTES);
  b.writeBigInt64BE(BigInt(baseOffset), AT.baseOffset);
  b.writeInt32BE(RECORD_BATCH_HEADER_BYTES - LOG_OVERHEAD, AT.batchLength);
  b.writeInt32BE(-1, AT.partitionLeaderEpoch);
  b.writeInt8(2, AT.magic);
  b.writeInt16BE(0, AT.attributes);
  b.writeInt32BE(count - 1, AT.lastOffsetDelta);
  b.writeBigInt64BE(-1n, AT.baseTimestamp);
  b.writeBigInt64BE(-1n, AT.maxTimestamp);
  b.writeBigInt64BE(-1n, AT.producerId);
  b.writeInt16BE(-1, AT.producerEpoch);
  b.writeInt32BE(-1, AT.baseSequence);
  b.writeInt32BE(0, AT.recordCount);
  // The CRC covers everything from the attributes on.
  b.writeUInt32BE(crc32c(b, AT.attributes, RECORD_BATCH_HEADER_BYTES), AT.crc);
  return b;
}
