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

const HEADER_BYTES = 61;

/** The offset after the last batch of concatenated, stamped batches; undefined when there are none. */
export function nextOffsetAfter(records: Buffer): number | undefined {
  let at = 0;
  let next: number | undefined;
  while (at + HEADER_BYTES <= records.length) {
    const base = Number(records.readBigInt64BE(at));
    const length = records.readInt32BE(at + 8);
    next = base + records.readInt32BE(at + 23) + 1;
    at += 12 + length;
  }
  return next;
}

/** A batch of no records covering [baseOffset, baseOffset + count). */
export function encodeEmptyBatch(baseOffset: number, count: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeBigInt64BE(BigInt(baseOffset), 0);
  b.writeInt32BE(HEADER_BYTES - 12, 8);
  b.writeInt32BE(-1, 12); // partitionLeaderEpoch
  b.writeInt8(2, 16); // magic
  b.writeInt16BE(0, 21); // attributes
  b.writeInt32BE(count - 1, 23); // lastOffsetDelta
  b.writeBigInt64BE(-1n, 27); // baseTimestamp
  b.writeBigInt64BE(-1n, 35); // maxTimestamp
  b.writeBigInt64BE(-1n, 43); // producerId
  b.writeInt16BE(-1, 51); // producerEpoch
  b.writeInt32BE(-1, 53); // baseSequence
  b.writeInt32BE(0, 57); // recordCount
  b.writeUInt32BE(crc32c(b, 21, HEADER_BYTES), 17);
  return b;
}
