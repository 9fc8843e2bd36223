/**
 * Compression benchmark: stored bytes per record, as Sluice stores them (Kafka RecordBatch v2, headers
 * and framing included), for each workload of bench/workloads.ts:
 *
 *   raw            key + value bytes, no framing at all (the JSON as the application has it)
 *   none, alone    one record per batch, uncompressed (61-byte batch header per record)
 *   lz4, alone     one record per batch, compressed alone with lz4
 *   lz4 / gzip     batches cut at 16 KB, 256 KB and 1 MB of uncompressed key + value bytes
 *
 * Deterministic (seeded workloads, fixed timestamps); pure CPU, a few seconds.
 *   npx tsx bench/compression.ts
 */
import { fileURLToPath } from 'node:url';
import { type Compression, encodeRecordBatch, type ProducerRecord } from '../shared/codec';
import { generateEvents, WORKLOADS, type WorkloadName } from './workloads';

export const COMPRESSION_WORKLOADS: readonly WorkloadName[] = ['webAccessLog', 'iotReading', 'orderEvent'];
export const BATCH_SIZES = [
  { label: '16 KB', bytes: 16 * 1024 },
  { label: '256 KB', bytes: 256 * 1024 },
  { label: '1 MB', bytes: 1024 * 1024 },
] as const;

export interface CompressionRow {
  readonly workload: WorkloadName;
  readonly records: number;
  /** key + value bytes per record. */
  readonly rawBytes: number;
  readonly noneAlone: number;
  readonly lz4Alone: number;
  /** Stored bytes per record by codec and batch size label. */
  readonly batched: Readonly<Record<'lz4' | 'gzip', Readonly<Record<string, number>>>>;
}

export interface CompressionBenchOptions {
  /** Uncompressed key + value bytes generated per workload. @default 4 MiB (four 1 MB batches) */
  readonly bytesPerWorkload?: number;
  readonly seed?: number;
}

const BASE_TIME = Date.UTC(2026, 0, 15, 9, 0, 0);

function recordsOf(name: WorkloadName, bytes: number, seed: number): ProducerRecord[] {
  const approx = WORKLOADS[name].approxValueBytes + 16;
  const events = generateEvents(name, Math.ceil(bytes / approx), seed);
  return events.map((e, i) => ({ key: e.key, value: e.value, timestamp: BASE_TIME + i * 10 }));
}

const payload = (r: ProducerRecord) => (r.key?.length ?? 0) + (r.value?.length ?? 0);

/** Stored bytes per record when `records` are cut into batches of `batchBytes` uncompressed bytes. */
function batchedBytesPerRecord(
  records: readonly ProducerRecord[],
  batchBytes: number,
  compression: Compression,
): number {
  let stored = 0;
  let batch: ProducerRecord[] = [];
  let size = 0;
  const flush = () => {
    if (batch.length === 0) return;
    stored += encodeRecordBatch(batch, { compression, now: BASE_TIME }).length;
    batch = [];
    size = 0;
  };
  for (const r of records) {
    if (size > 0 && size + payload(r) > batchBytes) flush();
    batch.push(r);
    size += payload(r);
  }
  flush();
  return stored / records.length;
}

function aloneBytesPerRecord(records: readonly ProducerRecord[], compression: Compression): number {
  let stored = 0;
  for (const r of records) stored += encodeRecordBatch([r], { compression, now: BASE_TIME }).length;
  return stored / records.length;
}

export function runCompressionBench(options: CompressionBenchOptions = {}): CompressionRow[] {
  const bytes = options.bytesPerWorkload ?? 4 * 1024 * 1024;
  const seed = options.seed ?? 42;
  return COMPRESSION_WORKLOADS.map((workload) => {
    const records = recordsOf(workload, bytes, seed);
    const batched = { lz4: {} as Record<string, number>, gzip: {} as Record<string, number> };
    for (const codec of ['lz4', 'gzip'] as const) {
      for (const size of BATCH_SIZES)
        batched[codec][size.label] = batchedBytesPerRecord(records, size.bytes, codec);
    }
    return {
      workload,
      records: records.length,
      rawBytes: records.reduce((sum, r) => sum + payload(r), 0) / records.length,
      noneAlone: aloneBytesPerRecord(records, 'none'),
      lz4Alone: aloneBytesPerRecord(records, 'lz4'),
      batched,
    };
  });
}

/** Compression ratio (raw ÷ stored) of the given cell; for the cost model and the summary. */
export function compressionRatio(row: CompressionRow, codec: 'lz4' | 'gzip', size: string): number {
  return row.rawBytes / (row.batched[codec][size] ?? row.rawBytes);
}

export function formatCompressionTable(rows: readonly CompressionRow[]): string {
  const sizes = BATCH_SIZES.map((s) => s.label);
  const lines = [
    `| workload | raw | none, alone | lz4, alone | ${sizes.map((s) => `lz4 ${s}`).join(' | ')} | ${sizes.map((s) => `gzip ${s}`).join(' | ')} | lz4 1 MB vs lz4 alone |`,
    `|---|--:|--:|--:|${sizes.map(() => '--:').join('|')}|${sizes.map(() => '--:').join('|')}|--:|`,
  ];
  for (const r of rows) {
    const cells = (codec: 'lz4' | 'gzip') =>
      sizes.map((s) => (r.batched[codec][s] ?? 0).toFixed(1)).join(' | ');
    lines.push(
      `| ${r.workload} | ${r.rawBytes.toFixed(1)} | ${r.noneAlone.toFixed(1)} | ${r.lz4Alone.toFixed(1)} | ${cells('lz4')} | ${cells('gzip')} | ` +
        `${(r.lz4Alone / (r.batched.lz4['1 MB'] ?? r.lz4Alone)).toFixed(1)}× fewer |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatCompressionTable(runCompressionBench()));
}
