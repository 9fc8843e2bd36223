/**
 * Append protocol micro-benchmark: commits per second on one partition with 1, 4 and 16 concurrent
 * appenders against the embedded emulators, and the DynamoDB calls each commit cost.
 * Run: npx tsx bench/append.ts  (bounded: a fixed number of commits per row)
 */
import { writeFile } from 'node:fs/promises';
import { encodeRecordBatch } from '../shared/codec/record-batch';
import { startEmulators } from '../shared/local/emulators';
import { LogService } from '../shared/log/log-service';
import { createAwsClients } from '../shared/store/aws-clients';
import { DynamoLogStore } from '../shared/store/log-store';
import { S3SegmentStore } from '../shared/store/segment-store';
import { ensureStorage } from '../shared/store/tables';
import { DynamoTopicStore } from '../shared/store/topic-store';

export interface AppendRow {
  appenders: number;
  commits: number;
  seconds: number;
  commitsPerSecond: number;
  dynamoCallsPerCommit: number;
  s3PutsPerCommit: number;
}

export async function runAppendBench(commitsPerRow = 640): Promise<AppendRow[]> {
  const emulators = await startEmulators();
  const config = {
    region: 'us-east-1',
    dynamoEndpoint: emulators.dynamoEndpoint,
    s3Endpoint: emulators.s3Endpoint,
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
  const log = new LogService(
    new DynamoTopicStore(clients.dynamo, config.topicsTable),
    new DynamoLogStore(clients.dynamo, config.logTable),
    new S3SegmentStore(clients.s3, config.bucket),
  );
  const batch = encodeRecordBatch([{ value: Buffer.from('{"event":"bench"}') }]);
  const rows: AppendRow[] = [];
  for (const appenders of [1, 4, 16]) {
    const topic = `append-${appenders}`;
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
  await emulators.stop();
  return rows;
}

export function appendTable(rows: AppendRow[]): string {
  const lines = [
    '| appenders on one partition | commits | commits/s | DynamoDB calls / commit | S3 PUTs / commit |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.appenders} | ${r.commits} | ${r.commitsPerSecond.toFixed(0)} | ${r.dynamoCallsPerCommit.toFixed(2)} | ${r.s3PutsPerCommit.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const table = appendTable(await runAppendBench());
  console.log(table);
  await writeFile(new URL('./append-results.md', import.meta.url), `${table}\n`);
}
