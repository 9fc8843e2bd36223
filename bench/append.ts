/**
 * Append protocol micro-benchmark: commits per second on one partition with 1, 4 and 16 concurrent
 * appenders against the embedded emulators, and the DynamoDB calls each commit cost.
 * Run: npx tsx bench/append.ts  (bounded: a fixed number of commits per row)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecordBatch } from '../shared/codec/record-batch';
import { LogService } from '../shared/log/log-service';
import { createAwsClients } from '../shared/store/aws-clients';
import { DynamoLogStore } from '../shared/store/log-store';
import { S3SegmentStore, type SegmentStore } from '../shared/store/segment-store';
import { ensureStorage } from '../shared/store/tables';
import { DynamoTopicStore } from '../shared/store/topic-store';

const require = createRequire(import.meta.url);

export interface AppendRow {
  /** Where segment objects went: s3rver (a PUT per commit), or memory (the DynamoDB protocol alone). */
  objects: 's3rver' | 'memory';
  appenders: number;
  commits: number;
  seconds: number;
  commitsPerSecond: number;
  dynamoCallsPerCommit: number;
  s3PutsPerCommit: number;
}

/**
 * Each row twice: with objects in s3rver (what a produce costs here end to end), and with objects in
 * memory (the append protocol's DynamoDB calls alone, as the design notes' prototype measured them).
 */
export async function runAppendBench(commitsPerRow = 640): Promise<AppendRow[]> {
  // DynamoDB and S3 in processes of their own, as they are on AWS: in this process they would compete
  // for the one JavaScript thread with the appenders they serve.
  const s3Dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const s3Port = await freePort();
  const s3 = spawn(
    process.execPath,
    [
      require.resolve('s3rver/bin/s3rver.js'),
      '-d',
      s3Dir,
      '-a',
      '127.0.0.1',
      '-p',
      String(s3Port),
      '--silent',
    ],
    { stdio: 'ignore' },
  );
  const dynamoPort = await freePort();
  const dynamo = spawn(
    process.execPath,
    [
      require.resolve('dynalite/cli.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(dynamoPort),
      '--createTableMs',
      '0',
    ],
    { stdio: 'ignore' },
  );
  await Promise.all([waitForPort(dynamoPort), waitForPort(s3Port)]);
  const config = {
    region: 'us-east-1',
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    bucket: 'bench',
    topicsTable: 'topics',
    logTable: 'log',
    groupsTable: 'groups',
  };
  const clients = createAwsClients(config);
  await ensureStorage(config, clients);
  const counts = { dynamo: 0, s3: 0 };
  clients.dynamo.middlewareStack.add(
    (next) => async (args) => {
      counts.dynamo++;
      return next(args);
    },
    { step: 'initialize' },
  );
  clients.s3.middlewareStack.add(
    (next) => async (args) => {
      counts.s3++;
      return next(args);
    },
    { step: 'initialize' },
  );
  const memory = new Map<string, Buffer>();
  const inMemory: SegmentStore = {
    put: async (key, body) => void memory.set(key, body),
    getRange: async (key, start, end) => memory.get(key)!.subarray(start, end),
    list: async function* () {},
    deleteMany: async () => {},
  };
  const batch = encodeRecordBatch([{ value: Buffer.from('{"event":"bench"}') }]);
  const rows: AppendRow[] = [];
  for (const [objects, appenders] of [
    ['s3rver', 1],
    ['s3rver', 4],
    ['s3rver', 16],
    ['memory', 1],
    ['memory', 4],
    ['memory', 16],
  ] as const) {
    const log = new LogService(
      new DynamoTopicStore(clients.dynamo, config.topicsTable),
      new DynamoLogStore(clients.dynamo, config.logTable),
      objects === 's3rver' ? new S3SegmentStore(clients.s3, config.bucket) : inMemory,
      // The appenders contend as separate processes would (one process orders its own appends).
      { appendInOrder: false },
    );
    const topic = `append-${objects}-${appenders}`;
    await log.createTopic({ name: topic, partitionCount: 1 });
    await log.produce([{ topic, partition: 0, batches: batch }]);
    counts.dynamo = 0;
    counts.s3 = 0;
    const started = performance.now();
    let remaining = commitsPerRow;
    await Promise.all(
      Array.from({ length: appenders }, async () => {
        while (remaining-- > 0) {
          const [result] = await log.produce([{ topic, partition: 0, batches: batch }]);
          if (result?.error) throw result.error;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      objects,
      appenders,
      commits: commitsPerRow,
      seconds,
      commitsPerSecond: commitsPerRow / seconds,
      dynamoCallsPerCommit: counts.dynamo / commitsPerRow,
      s3PutsPerCommit: counts.s3 / commitsPerRow,
    });
  }
  clients.dynamo.destroy();
  clients.s3.destroy();
  dynamo.kill();
  s3.kill();
  await rm(s3Dir, { recursive: true, force: true });
  return rows;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no emulator started on port ${port}`);
}

export function appendTable(rows: AppendRow[]): string {
  const lines = [
    '| objects in | appenders on one partition | commits | commits/s | DynamoDB calls / commit | S3 PUTs / commit |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.objects} | ${r.appenders} | ${r.commits} | ${r.commitsPerSecond.toFixed(0)} | ${r.dynamoCallsPerCommit.toFixed(2)} | ${r.s3PutsPerCommit.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const table = appendTable(await runAppendBench());
  console.log(table);
  await writeFile(new URL('./append-results.md', import.meta.url), `${table}\n`);
}
