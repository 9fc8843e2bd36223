/**
 * Codec benchmark: Sluice's RecordBatch v2 encoder and decoder against kafkajs 2.2.4's, in one run, on
 * the same batches of ~200-byte JSON events (1,000 records with keys per batch).
 *
 *   npm run bench:codec      prints a markdown table and writes it to bench/codec-results.md
 *
 * Throughput counts records and their uncompressed key + value bytes. kafkajs encodes through its
 * `Record` and `RecordBatch` builders (what its producer runs), with an LZ4 codec on the npm `lz4` frame
 * API (kafkajs ships none); both sides decode the same bytes. "lz4 (pure JS)" forces the lz4js fallback
 * that Lambda bundles use. Sluice and kafkajs take turns in 100 ms rounds and rates are per second of CPU
 * time (see `measure`); the time per cell is fixed, so the whole run is bounded (~25 s).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type Compression,
  decodeRecordBatch,
  encodeRecordBatch,
  type ProducerRecord,
  useLz4Implementation,
} from '../shared/codec';
import { KafkajsCompression, kafkajsDecodeBatch, kafkajsEncodeBatch } from '../test/codec/kafkajs';
import { generateEvents } from './workloads';

export interface CodecBenchRow {
  readonly operation: 'encode' | 'decode';
  readonly compression: string;
  readonly sluiceRecordsPerSec: number;
  readonly sluiceMBPerSec: number;
  /** null when kafkajs has no counterpart (the pure-JS LZ4 row). */
  readonly kafkajsRecordsPerSec: number | null;
  readonly kafkajsMBPerSec: number | null;
  /** Sluice ÷ kafkajs records/s. */
  readonly ratio: number | null;
}

export interface CodecBenchOptions {
  /** Measured time per cell, in ms. @default 1500 */
  readonly durationMs?: number;
  /** Records per batch. @default 1000 */
  readonly batchSize?: number;
}

const NOW = Date.UTC(2026, 0, 15, 9, 0, 0);

type Subject = () => unknown;

/** Calls `fn` for `ms` of wall time (awaiting it); returns the calls and the CPU time they took, in µs. */
async function round(fn: Subject, ms: number): Promise<{ calls: number; cpuMicros: number }> {
  let calls = 0;
  const cpu = process.cpuUsage();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await fn();
    calls++;
  }
  const used = process.cpuUsage(cpu);
  return { calls, cpuMicros: used.user + used.system };
}

/**
 * Calls per CPU-second of each subject. After a warm-up the subjects take turns in rounds of ~100 ms,
 * `durationMs` each. Rates are per second of this process's CPU time, not of wall time: on a shared
 * machine other processes take the CPU away at random, which wall-clock rates would count against
 * whichever side was running; taking turns also gives both sides the same caches and GC conditions.
 */
async function measure(subjects: readonly Subject[], durationMs: number): Promise<number[]> {
  for (const fn of subjects) await round(fn, Math.min(300, durationMs / 4));
  const calls = subjects.map(() => 0);
  const cpuMicros = subjects.map(() => 0);
  const rounds = Math.max(1, Math.round(durationMs / 100));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const result = await round(subjects[i]!, 100);
      calls[i]! += result.calls;
      cpuMicros[i]! += result.cpuMicros;
    }
  }
  return calls.map((n, i) => n / (cpuMicros[i]! / 1e6));
}

export async function runCodecBench(options: CodecBenchOptions = {}): Promise<CodecBenchRow[]> {
  const durationMs = options.durationMs ?? 1500;
  const batchSize = options.batchSize ?? 1000;
  const events = generateEvents('jsonEvent', batchSize, 7);
  const records: ProducerRecord[] = events.map((e, i) => ({
    key: e.key,
    value: e.value,
    timestamp: NOW + i,
  }));
  const payloadBytes = events.reduce((sum, e) => sum + e.key.length + e.value.length, 0);
  const rows: CodecBenchRow[] = [];

  const cases: { label: string; compression: Compression; kafkajs: number | null; pureJs: boolean }[] = [
    { label: 'none', compression: 'none', kafkajs: KafkajsCompression.None, pureJs: false },
    { label: 'lz4', compression: 'lz4', kafkajs: KafkajsCompression.LZ4, pureJs: false },
    { label: 'lz4 (pure JS)', compression: 'lz4', kafkajs: null, pureJs: true },
  ];
  for (const c of cases) {
    useLz4Implementation(c.pureJs ? 'js' : 'auto');
    try {
      const encoded = encodeRecordBatch(records, { compression: c.compression, now: NOW });
      const sluiceEncode: Subject = () =>
        encodeRecordBatch(records, { compression: c.compression, now: NOW });
      const sluiceDecode: Subject = () => decodeRecordBatch(encoded);
      let encode: (number | null)[];
      let decode: (number | null)[];
      if (c.kafkajs === null) {
        encode = [...(await measure([sluiceEncode], durationMs)), null];
        decode = [...(await measure([sluiceDecode], durationMs)), null];
      } else {
        const compression = c.kafkajs;
        const kafkajsEncode: Subject = () =>
          kafkajsEncodeBatch({
            compression,
            firstOffset: 0,
            firstTimestamp: NOW,
            maxTimestamp: NOW + batchSize - 1,
            lastOffsetDelta: batchSize - 1,
            producerEpoch: -1,
            firstSequence: -1,
            partitionLeaderEpoch: -1,
            records: events.map((e, i) => ({
              offsetDelta: i,
              timestampDelta: i,
              key: e.key,
              value: e.value,
            })),
          });
        encode = await measure([sluiceEncode, kafkajsEncode], durationMs);
        decode = await measure([sluiceDecode, () => kafkajsDecodeBatch(encoded)], durationMs);
      }
      const row = (
        operation: 'encode' | 'decode',
        sluice: number,
        kafkajs: number | null,
      ): CodecBenchRow => ({
        operation,
        compression: c.label,
        sluiceRecordsPerSec: sluice * batchSize,
        sluiceMBPerSec: (sluice * payloadBytes) / 1e6,
        kafkajsRecordsPerSec: kafkajs === null ? null : kafkajs * batchSize,
        kafkajsMBPerSec: kafkajs === null ? null : (kafkajs * payloadBytes) / 1e6,
        ratio: kafkajs === null ? null : sluice / kafkajs,
      });
      rows.push(row('encode', encode[0]!, encode[1]!), row('decode', decode[0]!, decode[1]!));
    } finally {
      useLz4Implementation('auto');
    }
  }
  return rows.sort((a, b) => (a.operation === b.operation ? 0 : a.operation === 'encode' ? -1 : 1));
}

function formatRate(n: number | null): string {
  if (n === null) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  return `${Math.round(n / 1e3)} k`;
}

function formatMB(n: number | null): string {
  return n === null ? '—' : n.toFixed(0);
}

export function formatCodecTable(rows: readonly CodecBenchRow[]): string {
  const lines = [
    '| Operation | Compression | Sluice records/s | Sluice MB/s | kafkajs records/s | kafkajs MB/s | Sluice ÷ kafkajs |',
    '|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.operation} | ${r.compression} | ${formatRate(r.sluiceRecordsPerSec)} | ${formatMB(r.sluiceMBPerSec)} | ` +
        `${formatRate(r.kafkajsRecordsPerSec)} | ${formatMB(r.kafkajsMBPerSec)} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(1)}×`} |`,
    );
  }
  return lines.join('\n');
}

function environment(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Node ${process.version}, ${cpu} (${os.cpus().length} cores), ${os.platform()}/${os.arch()}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const rows = await runCodecBench();
  const table = formatCodecTable(rows);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(table);
  console.log(`\n(${seconds} s; ${environment()})`);
  const section = [
    '## Codec benchmark',
    '',
    'Encoding and decoding one Kafka RecordBatch v2 of 1,000 keyed JSON events (~214-byte values,',
    '`bench/workloads.ts` `jsonEvent`, seed 7), Sluice (`shared/codec`) against kafkajs 2.2.4 in the same',
    'process. MB/s counts uncompressed key and value bytes. kafkajs has no LZ4 codec of its own; it is given',
    "one on the npm `lz4` frame API. Sluice's LZ4 writes Kafka's frame around the native `lz4` block",
    'functions; the "pure JS" row forces the `lz4js` fallback used where the native addon is absent (Lambda).',
    'Both decoders read the same bytes; Sluice also verifies the CRC-32C and every record, kafkajs does not',
    '(for uncompressed batches the CRC over every byte is about half of Sluice’s decoding time). Sluice and',
    'kafkajs take turns in 100 ms rounds, and rates are per second of the process’s CPU time, so that other',
    'jobs on a shared machine do not skew them; expect ±15 % between runs.',
    '',
    table,
    '',
    `Measured with \`npm run bench:codec\` (${seconds} s) on ${environment()}.`,
    '',
  ].join('\n');
  writeFileSync(new URL('./codec-results.md', import.meta.url), section);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
