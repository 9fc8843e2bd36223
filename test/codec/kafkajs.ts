/**
 * kafkajs 2.2.4 as an independent implementation of Kafka's formats, reached through deep requires
 * (see /work/shared/facts.md). Its encoder defaults lastOffsetDelta, producerEpoch and firstSequence to 0
 * where Java writes −1, so callers set them; its decoder checks neither CRC nor magic.
 */
import { createRequire } from 'node:module';
import lz4 from 'lz4';
import snappy from 'snappy';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: kafkajs's internals are untyped JavaScript
type Untyped = any;

export interface KafkajsLong {
  toString(): string;
}

export interface KafkajsRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
}

export interface KafkajsBatchInput {
  compression: number;
  firstOffset: number;
  firstTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch: number;
  firstSequence: number;
  records: KafkajsRecordInput[];
}

export interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
}

export interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  records: KafkajsDecodedRecord[];
}

const Long: Untyped = require('kafkajs/src/utils/long');
const Encoder: Untyped = require('kafkajs/src/protocol/encoder');
const Decoder: Untyped = require('kafkajs/src/protocol/decoder');
const { RecordBatch }: Untyped = require('kafkajs/src/protocol/recordBatch/v0');
const RecordBatchDecoder: Untyped = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const Record: Untyped = require('kafkajs/src/protocol/recordBatch/record/v0');
const { CompressionCodecs, CompressionTypes }: Untyped = require('kafkajs');

export const kafkajsCrc32c: (buf: Buffer) => number = require('kafkajs/src/protocol/recordBatch/crc32C');
export const kafkajsMurmur2: (
  key: Buffer | string,
) => number = require('kafkajs/src/producer/partitioners/default/murmur2');
export const KafkajsCompression: { None: number; GZIP: number; Snappy: number; LZ4: number } =
  CompressionTypes;

// kafkajs ships no LZ4 codec; register one on the npm lz4 frame API, with Kafka's frame settings.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) =>
    lz4.encode(encoder.buffer, { blockMaxSize: 65536, streamChecksum: false }),
  decompress: async (buf: Buffer) => lz4.decode(buf),
});

// Nor a Snappy codec (kafkajs-snappy is a separate package); register one on the native `snappy`, raw
// streams as librdkafka writes them.
CompressionCodecs[CompressionTypes.Snappy] = () => ({
  compress: async (encoder: { buffer: Buffer }) => snappy.compressSync(encoder.buffer),
  decompress: async (buf: Buffer) => snappy.uncompressSync(buf) as Buffer,
});

export async function kafkajsEncodeBatch(input: KafkajsBatchInput): Promise<Buffer> {
  const encoder = await RecordBatch({
    ...input,
    firstOffset: Long.fromNumber(input.firstOffset),
    producerId: Long.fromNumber(input.producerId ?? -1),
    records: input.records.map((r) => Record(r)),
  });
  return encoder.buffer;
}

export async function kafkajsDecodeBatch(buf: Buffer): Promise<KafkajsDecodedBatch> {
  return RecordBatchDecoder(new Decoder(buf));
}

export function kafkajsVarint(n: number): Buffer {
  return new Encoder().writeVarInt(n).buffer;
}

export function kafkajsVarlong(n: bigint): Buffer {
  return new Encoder().writeVarLong(new Long(n)).buffer;
}

export function kafkajsReadVarlong(buf: Buffer): bigint {
  return new Decoder(buf).readVarLong().value;
}
