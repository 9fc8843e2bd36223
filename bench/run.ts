/**
 * Every benchmark, each bounded in time, then the cost model; writes bench/results.md and
 * bench/results.svg and prints the tables.
 *
 *   npm run bench
 *
 * On a 2-core machine the whole run takes a few minutes. Every number comes from this run, except the
 * list prices and published latencies of bench/prices.ts.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { appendTable, BASE_COMMIT, runAppendBench } from './append';
import { barChartSvg } from './chart';
import { formatCodecTable, runCodecBench } from './codec';
import { formatCompressionTable, runCompressionBench } from './compression';
import { costReport, costSections } from './cost';
import {
  formatAccountingTable,
  formatCatchUpTable,
  formatFloorTable,
  formatLatencyTable,
  formatOperationsTable,
  formatThroughputTable,
  runE2EBench,
} from './e2e';
import {
  formatKafkaLatencyTable,
  formatKafkaThroughputTable,
  KAFKA_BENCH_INTRO,
  runKafkaBench,
} from './kafka';
import { mergeTable, runMergeBench } from './merge';
import { PIPELINE_BASE_COMMIT, pipelineTable, runPipelineBench } from './pipeline';
import { PRICES, PRICES_CHECKED, PRICES_REGION } from './prices';

interface Section {
  readonly key: string;
  readonly title: string;
  readonly intro: string;
  readonly table: string;
}

const sections: Section[] = [];

const CAVEATS = [
  "- **Emulators on one machine are not AWS.** The local numbers (throughput, latency) come from the client, the gateway, the handlers, dynalite and s3rver sharing this machine's cores; on AWS each request is served by its own Lambda and by S3 and DynamoDB, with their own latencies. Other work on the machine shows up as noise.",
  '- **What carries over is the request accounting**: how many S3 and DynamoDB calls (and capacity units) each produce and fetch makes, counted on the wire. The cost model prices those counts; the request *rates* of the scenarios are modelled from the producer and consumer settings, not measured on AWS.',
  '- **The AWS latencies are an estimate** from published typical latencies (S3 tens of ms, DynamoDB single-digit ms, API Gateway 10–30 ms), warm functions only.',
  '- **Prices** are us-east-1 list prices on the date in `bench/prices.ts`, some marked unverified there; no free tiers, no savings plans. Kinesis is priced with KPL-aggregated records and Kinesis provisioned with shards sized exactly for the peak (no headroom), both favourable to Kinesis; MSK Serverless with lz4-compressed clients.',
  '- **Sluice is priced per request**: API Gateway, Lambda, an S3 PUT and three DynamoDB writes per partition for every produce request. It is cheap only when requests are large (lingerMs, few producers, few partitions per request); with small requests it costs several times Kinesis.',
];

/** The README's benchmark section: the command, the headline tables as printed, the caveats. */
function readmeSection(date: string, host: string, seconds: number): string {
  const pick = (key: string) => sections.find((x) => x.key === key);
  const parts = [
    'codec',
    'compression',
    'throughput',
    'latency',
    'scenarios',
    'knobs',
    'estimate',
    'append',
    'pipeline',
    'merge',
  ]
    .map(pick)
    .filter((x): x is Section => x !== undefined);
  return [
    '## Benchmarks',
    '',
    '```sh',
    'npm run bench',
    '```',
    '',
    `runs every benchmark in \`bench/\` (each bounded in time; ${seconds.toFixed(0)} s on ${host}) and writes \`bench/results.md\` (all tables, the machine, the prices used) and \`bench/results.svg\`. The tables below are from the run of ${date.slice(0, 10)}.`,
    '',
    ...parts.flatMap((x) => [`### ${x.title}`, '', x.intro, '', x.table, '']),
    '### Caveats',
    '',
    ...CAVEATS,
    '',
  ].join('\n');
}
const timings: string[] = [];

function say(line: string): void {
  console.error(`[bench] ${line}`);
}

async function timed<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  say(`${name}…`);
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  timings.push(`${name} ${seconds.toFixed(0)} s`);
  say(`${name} done in ${seconds.toFixed(1)} s`);
  return result;
}

function add(key: string, title: string, intro: string, table: string): void {
  sections.push({ key, title, intro, table });
  console.log(`\n## ${title}\n\n${table}`);
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `Node ${process.version}, ${os.platform()}/${os.arch()}`,
    `load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ].join('; ');
}

async function main(): Promise<void> {
  const started = performance.now();
  const date = new Date().toISOString();
  const host = machine();
  say(host);

  const codecRows = await timed('codec', () => runCodecBench({ durationMs: 1000 }));
  add(
    'codec',
    'Codec: Sluice vs kafkajs',
    'One RecordBatch v2 of 1,000 keyed JSON events (~214-byte values), encoded and decoded in the same process; MB/s of uncompressed key + value bytes. kafkajs gets an LZ4 codec on the npm `lz4` frame API; "pure JS" forces the `lz4js` fallback Lambda bundles use.',
    formatCodecTable(codecRows),
  );

  const compressionRows = await timed('compression', () => runCompressionBench());
  add(
    'compression',
    'Compression: stored bytes per record',
    'Bytes per record as stored (Kafka RecordBatch v2, 61-byte batch header included), 4 MiB of each seeded workload. "alone": one record per batch. Batches are cut at 16 KB / 256 KB / 1 MB of uncompressed key + value bytes. LZ4 uses 64 KB independent blocks (Kafka\'s frame), so batches above 64 KB gain little more; gzip keeps a 32 KB window.',
    formatCompressionTable(compressionRows),
  );

  const appendRows = await timed('append', () => runAppendBench(480));
  add(
    'append',
    'Append protocol: commits on one partition',
    `From \`bench/append.ts\`: LogService directly (no HTTP) over dynalite in a process of its own, as DynamoDB is to separate Lambdas; objects in memory, so the rows measure the append protocol's DynamoDB calls alone. One-record batches, 480 commits per row; the appenders contend as separate processes would. "before" is commit ${BASE_COMMIT}'s shared/ (producer state in the head, eager chains), "after" today's.`,
    appendTable(appendRows),
  );

  const pipelineRows = await timed('pipeline', () => runPipelineBench(320));
  add(
    'pipeline',
    "Append pipeline: one process's appends to a partition",
    `From \`bench/pipeline.ts\`: the same setting, but the appenders are one process's (a Kafka listener's connections, an SDK producer with several requests in flight), 320 commits per row. "before" is commit ${PIPELINE_BASE_COMMIT}'s shared/, where they ran wholly one after another; "after" pipelines them (reserve and claim in arrival order, commits at once, each advance after the earlier ones, carrying the mark over later appends already committed). The delayed rows add a random 1–11 ms to every DynamoDB call, for DynamoDB's latency and its spread.`,
    pipelineTable(pipelineRows),
  );

  const merge = await timed('merge', () => runMergeBench(100_000, 40_000));
  add(
    'merge',
    'Merging small segments',
    "From `bench/merge.ts` (retention): a cold consumer's catch-up over many one-batch objects, before and after the cleanup merged them.",
    mergeTable(merge),
  );

  const e2e = await timed('end to end', () => runE2EBench({ log: say }));
  add(
    'throughput',
    'Local stack end to end: produce throughput',
    `\`startLocalStack\` (the \`npm start\` server) in a child process; dynalite and s3rver each in a process of their own, exactly as \`npm start\` runs them (the stack's own AWS clients count its storage calls); the client in this process over HTTP on 127.0.0.1. Closed-loop producers, one request in flight each, ${e2e.requestBytes / 1024} KB of records per request (lz4, keyed over ${e2e.partitions} partitions), 5 s per row. Ack = request sent → acknowledged. Every request writes every partition, so the producers' appends meet on each partition, where the server pipelines them (\`bench/pipeline.ts\`): more producers add throughput, and latency, as they share two cores.`,
    formatThroughputTable(e2e),
  );
  add(
    'catchup',
    'Local stack end to end: catch-up consume',
    'One consumer-group member reads the throughput topic from offset 0, fetches of up to 4 MiB, no wait.',
    formatCatchUpTable(e2e),
  );
  const l = e2e.latency;
  add(
    'latency',
    'Local stack end to end: latency',
    `The client SDK (client/): a producer paced at ${l.recordsPerSec} records/s (webAccessLog), profile latency, lingerMs ${l.lingerMs} (set explicitly), ${l.maxInFlight} request in flight (requests carry every partition with records); a group consumer (\`consumer.run\`) tailing with long polls (maxWaitMs ${l.maxWaitMs}, minBytes 1). ${l.records} records over ${l.seconds.toFixed(1)} s, ${l.produceRequests} produce requests, ${l.fetches} fetches, measured after ${l.warmupSeconds} s of the same load on a topic of its own (a warm process, as a running \`npm start\` is). The floor, measured in the same run between the two on the idle stack: lingerMs plus the calls of today's sequence made one at a time (an HTTP hop, the S3 PUT and the three DynamoDB writes of an ack; then a hop, the head GetItem, the index Query and the S3 GET of a tail fetch — what a fetch served by another process makes; one woken in the process that appended makes none of the three), through the same SDK settings and emulators.${
      e2e.pipelined
        ? ` Beside it, the same producer with ${e2e.pipelined.maxInFlight} requests in flight (Kafka's max.in.flight.requests.per.connection default; the server pipelines a process's appends to a partition): ${e2e.pipelined.records} records, ${e2e.pipelined.produceRequests} produce requests, right after the first phase.`
        : ''
    }`,
    `${formatLatencyTable(e2e)}\n\n${formatFloorTable(e2e)}`,
  );
  add(
    'accounting',
    'Request accounting',
    "Every API request (gateway log), S3 call and DynamoDB call (counted by the stack's own clients, each attempt), per unit of work. WRU/RRU are the capacity DynamoDB reports for each call (dynalite computes them from item sizes by the same rules: 1 WRU per KB written, 1 RRU per 4 KB read strongly consistently); a failed conditional write counts 1 WRU. Catch-up rows count only the fetches (group calls are measured apart).",
    `${formatAccountingTable(e2e)}\n\n${formatOperationsTable(e2e)}`,
  );

  const kafka = await timed('kafka listener', () => runKafkaBench({ log: say }));
  add(
    'kafka-throughput',
    'Kafka listener: produce throughput beside the HTTP API',
    KAFKA_BENCH_INTRO(kafka),
    formatKafkaThroughputTable(kafka),
  );
  add(
    'kafka-latency',
    'Kafka listener: end-to-end latency',
    'A Kafka producer to a Kafka consumer through the listener (bench/kafka.ts).',
    formatKafkaLatencyTable(kafka),
  );

  const report = await timed('cost model', () => costReport(e2e, 'webAccessLog'));
  for (const c of costSections(report, { ackP50: l.ackP50Ms, e2eP50: l.e2eP50Ms })) {
    add(c.key, c.title, c.intro, c.table);
  }

  const svg = barChartSvg(
    [
      {
        title: 'Cost per month for the same traffic',
        unit: 'USD / month',
        log: true,
        groups: report.scenarios.map((s) => s.scenario.name.replace(/ \(.*\)/, '')),
        series: [
          { name: 'Sluice, SDK defaults', values: report.scenarios.map((s) => s.sluice[0]?.bill.total ?? 0) },
          { name: 'Sluice, batched', values: report.scenarios.map((s) => s.sluice[2]?.bill.total ?? 0) },
          ...['Kinesis on-demand', 'Kinesis provisioned', 'MSK Serverless'].map((name, i) => ({
            name,
            values: report.scenarios.map((s) => s.alternatives[i]?.total ?? 0),
          })),
        ],
        format: (v) => `$${v >= 100 ? v.toFixed(0) : v.toFixed(1)}`,
      },
      {
        title: 'Stored bytes per record',
        unit: 'bytes / record',
        groups: compressionRows.map((r) => r.workload),
        series: [
          { name: 'raw JSON', values: compressionRows.map((r) => r.rawBytes) },
          { name: 'lz4, each record alone', values: compressionRows.map((r) => r.lz4Alone) },
          { name: 'lz4, 256 KB batches', values: compressionRows.map((r) => r.batched.lz4['256 KB'] ?? 0) },
          { name: 'gzip, 256 KB batches', values: compressionRows.map((r) => r.batched.gzip['256 KB'] ?? 0) },
        ],
        format: (v) => v.toFixed(0),
      },
    ],
    `npm run bench, ${date.slice(0, 10)}: ${host.split(';')[0]}. Prices ${PRICES_REGION} ${PRICES_CHECKED}; Sluice costs modelled from locally measured request counts.`,
  );
  writeFileSync(new URL('./results.svg', import.meta.url), svg);

  const seconds = (performance.now() - started) / 1000;
  const unverified = Object.entries(PRICES)
    .filter(([, p]) => !p.verified)
    .map(([name]) => name);
  const md = [
    '# Sluice benchmark results',
    '',
    `Written by \`npm run bench\` on ${date}, in ${seconds.toFixed(0)} s (${timings.join(', ')}).`,
    '',
    `Machine: ${host}.`,
    '',
    '## Caveats',
    '',
    ...CAVEATS,
    '',
    ...sections.flatMap((s) => [`## ${s.title}`, '', s.intro, '', s.table, '']),
    '## Prices used',
    '',
    `From bench/prices.ts (${PRICES_REGION}, checked ${PRICES_CHECKED}). Not verified on the provider's page: ${unverified.join(', ')}.`,
    '',
    '![results](results.svg)',
    '',
  ].join('\n');
  writeFileSync(new URL('./results.md', import.meta.url), md);
  writeFileSync(new URL('./README-section.md', import.meta.url), readmeSection(date, host, seconds));
  say(`wrote bench/results.md and bench/results.svg in ${seconds.toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
