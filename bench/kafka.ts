/**
 * The Kafka listener beside the HTTP door, in one run: produce throughput of kcat (librdkafka) through
 * the listener and of the Sluice SDK over HTTP, with the S3 PUTs and DynamoDB calls each makes per MB,
 * and end-to-end latency from a Kafka producer to a Kafka consumer (confluent-kafka). Everything runs
 * in this process against the embedded emulators on 127.0.0.1, bounded in records and time.
 *
 *   node --openssl-legacy-provider --import tsx bench/kafka.ts     (writes bench/kafka-results.md)
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Sluice } from '../client';
import { KafkaListener } from '../shared/kafka/listener';
import { startEphemeralStack } from '../shared/local/ephemeral';

export interface KafkaBenchOptions {
  /** Records per throughput row. @default 100_000 */
  readonly records?: number;
  /** Value bytes per record. @default 200 */
  readonly valueBytes?: number;
  readonly partitions?: number;
  /** Latency run: records per second and seconds. @default 200, 5 */
  readonly latencyRate?: number;
  readonly latencySeconds?: number;
  readonly log?: (line: string) => void;
}

export interface ThroughputRow {
  readonly door: string;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly s3Puts: number;
  readonly dynamoCalls: number;
  readonly requests: number;
}

export interface KafkaBenchResult {
  readonly rows: ThroughputRow[];
  readonly latency: { sent: number; received: number; p50: number; p99: number; max: number };
  readonly options: Required<Omit<KafkaBenchOptions, 'log'>>;
}

interface Counts {
  s3Puts: number;
  dynamo: number;
}

function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function runKafkaBench(options: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  const o = {
    records: options.records ?? 100_000,
    valueBytes: options.valueBytes ?? 200,
    partitions: options.partitions ?? 8,
    latencyRate: options.latencyRate ?? 200,
    latencySeconds: options.latencySeconds ?? 5,
  };
  const log = options.log ?? (() => {});
  const stack = await startEphemeralStack();
  const counts: Counts = { s3Puts: 0, dynamo: 0 };
  stack.clients.s3.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'PutObjectCommand') counts.s3Puts++;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountS3' },
  );
  stack.clients.dynamo.middlewareStack.add(
    (next) => (args) => {
      counts.dynamo++;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountDynamo' },
  );
  const listener = new KafkaListener({ services: stack.services, host: '127.0.0.1', port: 0 });
  const { port } = await listener.start();
  const bootstrap = `127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bench-'));
  const rows: ThroughputRow[] = [];
  const filler = 'x'.repeat(o.valueBytes);
  const key = (i: number) => `key-${i % 1000}`;
  const value = (i: number) => `${i}:${filler}`.slice(0, o.valueBytes);
  const payloadBytes = Array.from({ length: o.records }, (_, i) => key(i).length + value(i).length).reduce(
    (a, b) => a + b,
    0,
  );
  /** A throughput row for all the records, sent in `seconds`, with the AWS calls counted since `before`. */
  const row = (door: string, seconds: number, before: Counts, requests: number): ThroughputRow => ({
    door,
    records: o.records,
    bytes: payloadBytes,
    seconds,
    s3Puts: counts.s3Puts - before.s3Puts,
    dynamoCalls: counts.dynamo - before.dynamo,
    requests,
  });
  try {
    // kcat through the listener: the records from a file, keyed, uncompressed, acks=all.
    const kcatTopic = 'bench-kcat';
    await stack.services.log.createTopic({ name: kcatTopic, partitionCount: o.partitions });
    const file = join(dir, 'records.txt');
    await writeFile(file, Array.from({ length: o.records }, (_, i) => `${key(i)}:${value(i)}`).join('\n'));
    let before = { ...counts };
    const gathered = listener.gatherer.counters.requests;
    let started = performance.now();
    const produced = await run(
      'kcat',
      [
        '-b',
        bootstrap,
        '-P',
        '-t',
        kcatTopic,
        '-K:',
        '-l',
        '-z',
        'none',
        '-X',
        'partitioner=murmur2_random',
        '-X',
        'acks=all',
        file,
      ],
      120_000,
    );
    let seconds = (performance.now() - started) / 1000;
    if (produced.code !== 0) throw new Error(`kcat failed: ${produced.stderr}`);
    rows.push(row('kcat → Kafka listener', seconds, before, listener.gatherer.counters.requests - gathered));
    log(`kcat: ${(o.records / seconds).toFixed(0)} records/s`);

    // The Sluice SDK over HTTP: the same records, keyed, uncompressed, its default batching.
    const sdkTopic = 'bench-sdk';
    await stack.services.log.createTopic({ name: sdkTopic, partitionCount: o.partitions });
    const producer = new Sluice({ endpoint: stack.url }, {}).producer({ compression: 'none' });
    before = { ...counts };
    started = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < o.records; i += 1000) {
      sends.push(
        producer.send({
          topic: sdkTopic,
          messages: Array.from({ length: Math.min(1000, o.records - i) }, (_, j) => ({
            key: key(i + j),
            value: value(i + j),
          })),
        }),
      );
    }
    await Promise.all(sends);
    await producer.flush();
    seconds = (performance.now() - started) / 1000;
    const requests = producer.stats.requests;
    await producer.disconnect();
    rows.push(row('Sluice SDK → HTTP API', seconds, before, requests));
    log(`sdk: ${(o.records / seconds).toFixed(0)} records/s`);

    // Latency: confluent-kafka producer → confluent-kafka consumer (assigned), partition 0.
    const latencyTopic = 'bench-latency';
    await stack.services.log.createTopic({ name: latencyTopic, partitionCount: 1 });
    const script = new URL('./kafka_latency.py', import.meta.url).pathname;
    const lat = await run(
      '/usr/bin/python3',
      [script, bootstrap, latencyTopic, String(o.latencyRate), String(o.latencySeconds)],
      (o.latencySeconds + 40) * 1000,
    );
    if (lat.code !== 0) throw new Error(`latency run failed: ${lat.stderr}`);
    const parsed = JSON.parse(lat.stdout.trim().split('\n').pop()!) as {
      sent: number;
      received: number;
      latenciesMs: number[];
    };
    const sorted = [...parsed.latenciesMs].sort((a, b) => a - b);
    log(`latency: ${parsed.received}/${parsed.sent} received`);
    return {
      rows,
      latency: {
        sent: parsed.sent,
        received: parsed.received,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
      },
      options: o,
    };
  } finally {
    await listener.close();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatKafkaThroughputTable(result: KafkaBenchResult): string {
  const lines = [
    '| Door | Records | records/s | MB/s | Produce requests | S3 PUTs | S3 PUTs / MB | DynamoDB calls | DynamoDB calls / MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    const mb = r.bytes / 2 ** 20;
    lines.push(
      `| ${r.door} | ${r.records.toLocaleString('en-US')} | ${(r.records / r.seconds).toFixed(0)} | ${(mb / r.seconds).toFixed(2)} | ${r.requests} | ${r.s3Puts} | ${(r.s3Puts / mb).toFixed(2)} | ${r.dynamoCalls} | ${(r.dynamoCalls / mb).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

export function formatKafkaLatencyTable(result: KafkaBenchResult): string {
  const l = result.latency;
  return [
    '| Path | Records sent / received | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|',
    `| confluent-kafka producer → listener → confluent-kafka consumer (assign) | ${l.sent} / ${l.received} | ${l.p50.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.max.toFixed(1)} |`,
  ].join('\n');
}

export const KAFKA_BENCH_INTRO = (r: KafkaBenchResult) =>
  `One process: the local stack on the embedded emulators (in memory), a Kafka listener on its services (linger 10 ms, max flush 4 MiB), both on 127.0.0.1. ${r.options.records.toLocaleString('en-US')} keyed records of ${r.options.valueBytes}-byte values over ${r.options.partitions} partitions, uncompressed, per door: kcat (librdkafka defaults, acks=all) from a file, and the Sluice SDK (its defaults: idempotent, lingerMs 5, 1 MiB batches) over HTTP. MB = 2^20 bytes of keys and values. S3 PUTs and DynamoDB calls counted on the services' AWS clients. "Produce requests": Kafka Produce requests the listener's gatherer received, or the SDK's HTTP produce requests. Latency: a confluent-kafka producer at ${r.options.latencyRate} records/s for ${r.options.latencySeconds} s (linger.ms 5, acks=all) and a consumer assigned at the end (fetch.wait.max.ms 500), on one partition.`;

async function main(): Promise<void> {
  const result = await runKafkaBench({ log: (line) => console.error(`[kafka bench] ${line}`) });
  const md = [
    '# Kafka listener benchmark',
    '',
    `Written by \`bench/kafka.ts\` on ${new Date().toISOString()}.`,
    '',
    KAFKA_BENCH_INTRO(result),
    '',
    '## Produce throughput, both doors',
    '',
    formatKafkaThroughputTable(result),
    '',
    '## End-to-end latency, Kafka producer to Kafka consumer',
    '',
    formatKafkaLatencyTable(result),
    '',
  ].join('\n');
  writeFileSync(new URL('./kafka-results.md', import.meta.url), md);
  console.log(md);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
