/**
 * One process's appends to one partition, before and after they were pipelined (shared/log/pipeline.ts),
 * in one run against one dynalite process of its own:
 *
 *   before  commit 17d35d4's shared/: a process's appends to a partition ran wholly one after another;
 *   after   today's: reserve and claim in arrival order, commits at once, each advance after the earlier
 *           ones, carrying the mark over the later appends already committed (a group commit).
 *
 * Each row: commits per second and DynamoDB calls per commit of 4 and 16 concurrent appenders in one
 * process (a Kafka listener's connections, or an SDK producer with several requests in flight), plain and
 * idempotent batches, first with dynalite's own answer times, then with every call delayed by a random
 * 1–11 ms before it is sent, for DynamoDB's latency and its spread. Segments stay in memory: the bench
 * measures the DynamoDB side.
 *
 * Run: node --openssl-legacy-provider --import tsx bench/pipeline.ts  (bounded: 320 commits per row)
 */
import { fileURLToPath } from 'node:url';
import { type AppendRow, runContentionBench, startBench } from './append';

export const PIPELINE_BASE_COMMIT = '17d35d4';
const DELAY_MS = 10;

export interface PipelineRow extends AppendRow {
  readonly delayed: boolean;
}

export async function runPipelineBench(commitsPerRow = 320): Promise<PipelineRow[]> {
  const rows: PipelineRow[] = [];
  for (const delayed of [false, true]) {
    const bench = await startBench(PIPELINE_BASE_COMMIT, delayed ? DELAY_MS : 0);
    try {
      for (const row of await runContentionBench(bench, commitsPerRow, [4, 16], true)) {
        rows.push({ ...row, delayed });
      }
    } finally {
      await bench.stop();
    }
  }
  return rows;
}

export function pipelineTable(rows: readonly PipelineRow[]): string {
  return [
    '| appenders in one process, one partition | batches | DynamoDB answers | code | commits/s | DynamoDB calls / commit |',
    '| ---: | --- | --- | --- | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.appenders} | ${r.mode} | ${r.delayed ? `+ 1–${1 + DELAY_MS} ms each` : "dynalite's own"} | ${r.code === 'before' ? `before (${PIPELINE_BASE_COMMIT}, one after another)` : 'after (pipelined)'} | ${r.commitsPerSecond.toFixed(0)} | ${r.dynamoCallsPerCommit.toFixed(2)} |`,
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runPipelineBench().then((rows) => console.log(pipelineTable(rows)));
}
