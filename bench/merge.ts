/**
 * Catch-up benchmark for merging (design §7): a consumer reads one partition of N small batches from
 * offset 0 to the high-water mark, before and after the cleanup merged them. S3 GETs are counted by SDK
 * middleware; each catch-up uses a fresh LogService, so no warm range cache helps it.
 *
 * The issue asks for N = 100,000. On the embedded emulators each batch costs an S3 PUT and a DynamoDB
 * write to seed, a GET to read before merging, and a GET and a conditional delete to merge (~100–300
 * of each per second on a shared 2-core machine), so seeding stops after 30 s, short of 100,000,
 * which keeps the run near two minutes; the table says which N was reached and scales the counts to
 * 100,000 (GETs before grow with the batches, after with the bytes).
 *
 * Run: npx tsx bench/merge.ts [maxBatches]   (writes bench/merge-results.md)
 */
import { writeFile } from 'node:fs/promises';
import { createServices } from '../shared/app';
import { encodeRecordBatch } from '../shared/codec/record-batch';
import { startEmulators } from '../shared/local/emulators';
import { LogService, logIdOf, newObjectKey } from '../shared/log/log-service';
import { LOG_LIMITS } from '../shared/model';
import { runCleanup } from '../shared/retention';
import { type AwsClients, createAwsClients } from '../shared/store/aws-clients';
import { DynamoLogStore } from '../shared/store/log-store';
import { S3SegmentStore } from '../shared/store/segment-store';
import { ensureStorage } from '../shared/store/tables';
import { DynamoTopicStore } from '../shared/store/topic-store';
import { generateEvents } from './workloads';

const EVENTS_PER_BATCH = 5;
const SEEDERS = 32;
/** Seeding stops at this time even short of N: the whole run stays within about two minutes. */
const SEED_BUDGET_MS = 30_000;
const TARGET = 100_000;
/** The merge's default object size (MergeOptions.objectBytes). */
const MERGED_OBJECT_BYTES = 8 * 1024 * 1024;

interface Counts {
  get: number;
  put: number;
  dynamo: number;
}

export interface CatchUp {
  readonly fetches: number;
  readonly gets: number;
  readonly seconds: number;
  readonly records: number;
}

export interface MergeBenchResult {
  readonly batches: number;
  readonly bytes: number;
  readonly produceSeconds: number;
  readonly before: CatchUp;
  readonly after: CatchUp;
  readonly merge: { seconds: number; gets: number; puts: number; dynamo: number; entriesAfter: number };
}

function countingClients(config: Parameters<typeof createAwsClients>[0], counts: Counts): AwsClients {
  const clients = createAwsClients(config);
  const count = (name: string | undefined) => {
    if (name === 'GetObjectCommand') counts.get++;
    else if (name === 'PutObjectCommand') counts.put++;
    else if (name && !name.includes('Object') && !name.includes('Bucket')) counts.dynamo++;
  };
  for (const client of [clients.dynamo, clients.s3]) {
    const stack = client.middlewareStack as unknown as {
      add(
        m: (
          next: (a: unknown) => Promise<unknown>,
          c: { commandName?: string },
        ) => (a: unknown) => Promise<unknown>,
        o: { step: string; name: string },
      ): void;
    };
    stack.add(
      (next, context) => async (args) => {
        count(context.commandName);
        return next(args);
      },
      { step: 'initialize', name: 'benchCounter' },
    );
  }
  return clients;
}

export async function runMergeBench(batches: number, seedBudgetMs: number): Promise<MergeBenchResult> {
  const emulators = await startEmulators();
  const config = {
    region: 'us-east-1',
    dynamoEndpoint: emulators.dynamoEndpoint,
    s3Endpoint: emulators.s3Endpoint,
    embedded: true,
    bucket: 'bench-merge',
    topicsTable: 'topics',
    logTable: 'log',
    groupsTable: 'groups',
  };
  await ensureStorage(config, createAwsClients(config));
  let skew = 0;
  const now = () => Date.now() + skew;
  const serviceOf = (clients: AwsClients) =>
    new LogService(
      new DynamoTopicStore(clients.dynamo, config.topicsTable),
      new DynamoLogStore(clients.dynamo, config.logTable),
      new S3SegmentStore(clients.s3, config.bucket),
      { now },
    );

  // Seed: N batches of 5 JSON events (LZ4), each in its own object with its own index entry: exactly
  // the state N produce requests of one batch leave. Written through the stores in parallel, since the
  // append protocol on one partition (bench/append.ts) would take most of the time budget by itself.
  const seeding = createAwsClients(config);
  const producer = serviceOf(seeding);
  const topic = 'catch-up';
  const created = await producer.createTopic({ name: topic, partitionCount: 1, retentionMs: null });
  const logId = logIdOf(created, 0);
  const events = generateEvents('jsonEvent', EVENTS_PER_BATCH * 64);
  const bodies = Array.from({ length: 64 }, (_, i) =>
    encodeRecordBatch(
      events
        .slice(i * EVENTS_PER_BATCH, (i + 1) * EVENTS_PER_BATCH)
        .map((e) => ({ key: e.key, value: e.value })),
    ),
  );
  const log = new DynamoLogStore(seeding.dynamo, config.logTable);
  const segments = new S3SegmentStore(seeding.s3, config.bucket);
  // One reservation for all: the entries committed below, then one advance over exactly those.
  await log.reserve(logId, { count: batches * EVENTS_PER_BATCH, reservationId: 'seed', now: now() });
  let next = 0;
  let bytes = 0;
  const produceStarted = performance.now();
  await Promise.all(
    Array.from({ length: SEEDERS }, async () => {
      while (next < batches && performance.now() - produceStarted < seedBudgetMs) {
        const i = next++;
        const body = bodies[i % bodies.length]!;
        bytes += body.length;
        const key = newObjectKey();
        await segments.put(key, body);
        await log.putEntry(logId, {
          base: i * EVENTS_PER_BATCH,
          count: EVENTS_PER_BATCH,
          state: 'committed',
          objectKey: key,
          position: 0,
          size: body.length,
          maxTimestamp: now(),
          appendedAt: now(),
        });
      }
    }),
  );
  // The reservation covered `batches`; the seeding may have stopped short of it on its time budget.
  batches = next;
  await log.advance(logId, 0, batches * EVENTS_PER_BATCH, ['seed'], now());
  const produceSeconds = (performance.now() - produceStarted) / 1000;

  const catchUp = async (): Promise<CatchUp> => {
    const counts = { get: 0, put: 0, dynamo: 0 };
    const consumer = serviceOf(countingClients(config, counts));
    const started = performance.now();
    let offset = 0;
    let fetches = 0;
    let records = 0;
    for (;;) {
      const [r] = await consumer.fetch({
        partitions: [{ topic, partition: 0, offset }],
        maxBytes: LOG_LIMITS.maxFetchBytes,
      });
      if (r!.error) throw r!.error;
      fetches++;
      // Record counts from the batch headers (offset 57), without decompressing.
      for (let at = 0; at < r!.records.length; at += 12 + r!.records.readInt32BE(at + 8)) {
        records += r!.records.readInt32BE(at + 57);
      }
      if (r!.nextOffset >= r!.highWatermark) break;
      offset = r!.nextOffset;
    }
    return { fetches, gets: counts.get, seconds: (performance.now() - started) / 1000, records };
  };

  const before = await catchUp();

  // Merge: the clock moves past the merge's minimum age; passes run until nothing is left to merge.
  skew += 60 * 60 * 1000;
  const mergeCounts = { get: 0, put: 0, dynamo: 0 };
  const deps = createServices(config, countingClients(config, mergeCounts), { cleanup: { now } }).cleanup;
  const mergeStarted = performance.now();
  for (;;) {
    const summary = await runCleanup(deps, {
      collectObjects: false,
      maxDeletes: 1_000_000,
      maxDurationMs: 600_000,
      merge: { maxScanEntries: 1_000_000 },
    });
    if (summary.runsMerged === 0) break;
  }
  const mergeSeconds = (performance.now() - mergeStarted) / 1000;
  const entriesAfter = (await deps.log.queryEntries(logId, 0, Number.MAX_SAFE_INTEGER, 10_000)).length;

  const after = await catchUp();
  await emulators.stop();
  return {
    batches,
    bytes,
    produceSeconds,
    before,
    after,
    merge: {
      seconds: mergeSeconds,
      gets: mergeCounts.get,
      puts: mergeCounts.put,
      dynamo: mergeCounts.dynamo,
      entriesAfter,
    },
  };
}

export function mergeTable(r: MergeBenchResult): string {
  const scale = TARGET / r.batches;
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  const n = (x: number) => Math.round(x).toLocaleString('en');
  const time = (seconds: number) =>
    seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(1)} s`;
  // At 100,000 batches: before, one GET per batch; after, one GET per fetch plus one per merged object
  // a fetch crosses into (fetches and merged objects both follow the bytes).
  const scaledBytes = r.bytes * scale;
  const scaledGets = {
    before: r.before.gets * scale,
    after: Math.ceil(scaledBytes / LOG_LIMITS.maxFetchBytes) + Math.ceil(scaledBytes / MERGED_OBJECT_BYTES),
  };
  const row = (name: string, c: CatchUp, gets: number) =>
    `| ${name} | ${n(c.records)} | ${n(c.fetches)} | ${n(c.gets)} | ${time(c.seconds)} | ${n(c.records / c.seconds)} | ~${n(gets)} | ~${time(c.seconds * scale)} |`;
  return [
    `Catching up on ${n(r.batches)} small batches (${EVENTS_PER_BATCH} JSON events each, LZ4, ${mib(r.bytes)} MiB) in one partition on the embedded emulators, fetches of ${mib(LOG_LIMITS.maxFetchBytes)} MiB, a cold consumer each time.`,
    '',
    `| catch-up | records | fetches | S3 GETs | wall time | records/s | S3 GETs at ${n(TARGET)} batches | wall time at ${n(TARGET)} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('before merging', r.before, scaledGets.before),
    row('after merging', r.after, scaledGets.after),
    '',
    `Merging, done once by the cleanup: ${r.merge.seconds.toFixed(1)} s, ${n(r.merge.gets)} S3 GETs, ${n(r.merge.puts)} S3 PUT(s), ${n(r.merge.dynamo)} DynamoDB calls; ${n(r.batches)} index entries became ${r.merge.entriesAfter}.`,
    '',
    `N is ${n(r.batches)}, not ${n(TARGET)}: on the embedded emulators (a shared 2-core machine) seeding stops after ${SEED_BUDGET_MS / 1000} s to keep the run within its time bound, so the last two columns scale linearly: GETs before are one per batch; GETs after are one per ${mib(LOG_LIMITS.maxFetchBytes)} MiB fetch plus one per ${mib(MERGED_OBJECT_BYTES)} MiB merged object; wall times are multiplied by ${n(scale)}. The ${n(r.batches)} batches were seeded through the stores in ${r.produceSeconds.toFixed(1)} s, one object and one index entry each, exactly the state as many one-batch produce requests leave (the append path itself is bench/append.ts's subject).`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const batches = Number(process.argv[2] ?? TARGET);
  const result = await runMergeBench(batches, SEED_BUDGET_MS);
  const table = mergeTable(result);
  console.log(table);
  await writeFile(new URL('./merge-results.md', import.meta.url), `${table}\n`);
}
