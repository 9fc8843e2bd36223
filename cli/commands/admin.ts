/**
 * `sluice admin cleanup`: one cleanup pass (retention, range repair, merging, object collection) now,
 * instead of waiting for the scheduled function. The HTTP API has no route for it, so the pass runs in
 * this process, against the storage the environment names.
 */

import { Command } from 'commander';
import { type StorageConfig, storageConfigFromEnv } from '../../shared/config';
import { action, type CliContext, CliError, integer } from './common';

/**
 * The storage of the environment. With AWS_ENDPOINT_URL (LocalStack) the names default to the local
 * stack's, as `sluice dev` uses them; against AWS they are required.
 */
export function storageConfig(env: NodeJS.ProcessEnv): StorageConfig {
  const local = env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_DYNAMODB;
  try {
    return storageConfigFromEnv(
      local
        ? {
            ...env,
            SLUICE_BUCKET: env.SLUICE_BUCKET || 'sluice-local',
            SLUICE_TOPICS_TABLE: env.SLUICE_TOPICS_TABLE || 'sluice-topics',
            SLUICE_LOG_TABLE: env.SLUICE_LOG_TABLE || 'sluice-log',
            SLUICE_GROUPS_TABLE: env.SLUICE_GROUPS_TABLE || 'sluice-groups',
          }
        : env,
    );
  } catch (err) {
    throw new CliError(
      `error: ${(err as Error).message} (admin cleanup works on the storage directly: set SLUICE_BUCKET, SLUICE_TOPICS_TABLE, SLUICE_LOG_TABLE and SLUICE_GROUPS_TABLE to your stack's, or AWS_ENDPOINT_URL for LocalStack)`,
    );
  }
}

export function adminCommand({ env, io }: CliContext): Command {
  const admin = new Command('admin').description('Operator tasks that work on the storage directly');

  admin
    .command('cleanup')
    .description(
      'Run one cleanup pass now: retention, repair of stalled ranges, merging of small segments and ' +
        'collection of unreferenced objects. There is no HTTP route for it: the pass runs in this process, ' +
        'against the DynamoDB tables and S3 bucket named by SLUICE_BUCKET, SLUICE_TOPICS_TABLE, ' +
        'SLUICE_LOG_TABLE and SLUICE_GROUPS_TABLE (with AWS credentials and AWS_REGION), or LocalStack at ' +
        'AWS_ENDPOINT_URL (names then default to the local stack’s). It cannot reach the embedded emulators ' +
        'inside a running `sluice dev`.',
    )
    .option('--max-duration-ms <ms>', 'stop between steps after this long', integer(1), 60_000)
    .option('--max-partitions <n>', 'partitions visited in this pass', integer(1), 1_000)
    .option('--json', 'print the pass summary as JSON', false)
    .action(
      action(io, async (opts: { maxDurationMs: number; maxPartitions: number; json: boolean }) => {
        const config = storageConfig(env);
        // Loaded here: the AWS SDK is heavy, and no other command needs it.
        const [{ createCleanupDeps, runCleanup }, { createAwsClients }] = await Promise.all([
          import('../../shared/retention'),
          import('../../shared/store/aws-clients'),
        ]);
        const clients = createAwsClients(config);
        try {
          const summary = await runCleanup(createCleanupDeps(config, clients), {
            maxDurationMs: opts.maxDurationMs,
            maxPartitions: opts.maxPartitions,
          });
          if (opts.json) {
            io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
            return;
          }
          if (summary.skipped === 'locked') {
            io.stdout.write('Another cleanup pass is running; this one did nothing.\n');
            return;
          }
          io.stdout.write(
            `Cleanup pass ${summary.complete ? 'complete' : 'stopped on its budget (run again to continue)'} in ${summary.durationMs} ms: ` +
              `${summary.partitionsVisited} partitions visited, ${summary.logStartOffsetsAdvanced} log start offsets advanced, ` +
              `${summary.entriesDeleted} index entries and ${summary.objectsDeleted} objects deleted, ` +
              `${summary.runsMerged} runs merged, ${summary.rangesRepaired} ranges repaired, ` +
              `${summary.topicsFinished} deleted topics finished.\n`,
          );
        } finally {
          clients.dynamo.destroy();
          clients.s3.destroy();
        }
      }),
    );

  return admin;
}
