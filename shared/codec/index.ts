/** Kafka's wire formats: RecordBatch v2, its LZ4, Snappy and zstd data, CRC-32C, varints and the default partitioner. */
export { crc32c } from './crc32c';
export { type Lz4Implementation, lz4Implementation, useLz4Implementation } from './lz4';
export { murmur2, partitionForKey, StickyPartitioner, toPositive } from './partitioner';
export {
  BATCH_HEADER,
  type BatchSpan,
  batchSpans,
  type Compression,
  type DecodedBatch,
  type DecodedRecord,
  type DecodeOptions,
  decodeRecordBatch,
  decodeRecordBatches,
  type EncodeOptions,
  encodeRecordBatch,
  LOG_OVERHEAD,
  type ProducerRecord,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchHeader,
  type RecordHeader,
  readBatchHeader,
  stampBaseOffset,
  type ValidateLimits,
  validateBatches,
} from './record-batch';
export { type SnappyImplementation, snappyImplementation, useSnappyImplementation } from './snappy';
export { canCompressZstd, useZstdImplementation, type ZstdImplementation, zstdImplementation } from './zstd';
