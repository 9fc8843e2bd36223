/**
 * `sluice admin cleanup`: one cleanup pass (retention, range repair, merging, object collection) now,
 * instead of waiting for the scheduled function. The deployed API has no route for it: with the
 * storage named in the environment (SLUICE_BUCKET…, or AWS_ENDPOINT_URL for LocalStack) the pass runs in
 * this process against it; otherwise it asks a running `sluice dev` at --endpoint to run one (its
 * local-only route POST /local/cleanup), since the embedded emulators cannot be reached from outside.
 */

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Command } from 'commander';
import { type StorageConfig, storageConfigFromEnv } from '../../shared/config';
import { action, type CliContext, CliError, DEFAULT_ENDPOINT, integer } from './common';

/** What a pass reports (shared/retention's CleanupSummary, as JSON). */
interface Summary {
  readonly skipped?: string;
  readonly complete: boolean;
  readonly durationMs: number;
  readonly partitionsVisited: number;
  readonly logStartOffsetsAdvanced: number;
  readonly entriesDeleted: number;
  readonly objectsDeleted: number;
  readonly runsMerged: number;
  readonly rangesRepaired: number;
  readonly topicsFinished: number;
}

/** Whether the environment names storage to work on directly. */
function storageInEnv(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL_S3 || env.SLUICE_BUCKET,
  );
}

/** One pass by the `sluice dev` at `endpoint`. */
async function cleanupByLocalStack(
  endpoint: string,
  env: NodeJS.ProcessEnv,
  options: { maxDurationMs: number; maxPartitions: number },
): Promise<Summary> {
  const url = new URL(`${endpoint.replace(/\/+$/, '')}/local/cleanup`);
  const payload = JSON.stringify(options);
  let status: number;
  let text: string;
  try {
    // node:http rather than fetch(): fetch refuses some ports outright (e.g. 9, 6000) as "bad port".
    ({ status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            ...(env.SLUICE_TOKEN ? { authorization: `Bearer ${env.SLUICE_TOKEN}` } : {}),
          },
          timeout: options.maxDurationMs + 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    }));
  } catch (err) {
    const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CliError(
      `error: cannot connect to ${endpoint} (${cause}): is sluice dev running there? Pass --endpoint / SLUICE_ENDPOINT, or name a deployed stack's storage with SLUICE_BUCKET, SLUICE_TOPICS_TABLE, SLUICE_LOG_TABLE and SLUICE_GROUPS_TABLE`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ok = status >= 200 && status < 300;
  if (ok && body !== undefined) return body as Summary;
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (status === 404 || status === 403) {
    throw new CliError(
      `error: ${endpoint} has no local cleanup route (HTTP ${status}): only sluice dev has one. For a deployed stack, name its storage with SLUICE_BUCKET, SLUICE_TOPICS_TABLE, SLUICE_LOG_TABLE and SLUICE_GROUPS_TABLE (and AWS credentials)`,
    );
  }
  throw new CliError(
    `error: ${error?.code ?? `HTTP ${status}`}: ${error?.message ?? text.slice(0, 200)}`.replace(
      /\s*\n\s*/g,
      ' ',
    ),
  );
}

/** AWS SDK errors from something that is not DynamoDB or S3 (a wrong endpoint) carry no useful name. */
function storageError(err: unknown, config: StorageConfig): never {
  // The SDK's own error, or a SluiceError wrapping it (cause): named UnknownError, or no answer at all.
  const chain: { name?: string; message?: string; code?: string }[] = [];
  for (let e = err as { cause?: unknown } | undefined; e && chain.length < 5; e = e.cause as typeof e) {
    chain.push(e as { name?: string; message?: string; code?: string });
  }
  const unknown = chain.find(
    (e) =>
      e.name === 'UnknownError' ||
      e.name === 'Unknown' ||
      e.message === 'UnknownError' ||
      e.name === 'TimeoutError' ||
      e.code === 'ECONNREFUSED',
  );
  if (unknown) {
    const where = [config.endpoint, config.dynamoEndpoint, config.s3Endpoint].filter(Boolean).join(', ');
    throw new CliError(
      `error: the storage at ${where || `AWS (${config.region})`} did not answer as DynamoDB and S3 (${unknown.code ?? unknown.message ?? unknown.name}): check AWS_ENDPOINT_URL (LocalStack) or, for a running sluice dev, leave the storage variables unset and pass --endpoint`,
    );
  }
  throw err;
}

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
  const admin = new Command('admin').description('Operator tasks: a cleanup pass now');

  admin
    .command('cleanup')
    .description(
      'Run one cleanup pass now: retention, repair of stalled ranges, merging of small segments and ' +
        'collection of unreferenced objects. Against a running `sluice dev` (the default): it asks the server at ' +
        '--endpoint to run the pass (a local-only route). Against a deployed stack: set SLUICE_BUCKET, ' +
        'SLUICE_TOPICS_TABLE, SLUICE_LOG_TABLE and SLUICE_GROUPS_TABLE (with AWS credentials and AWS_REGION), ' +
        'or AWS_ENDPOINT_URL for LocalStack (names then default to the local stack’s), and the pass runs in ' +
        'this process on that storage.',
    )
    .option(
      '-e, --endpoint <url>',
      'the sluice dev to clean, when no storage is named in the environment (env SLUICE_ENDPOINT)',
      env.SLUICE_ENDPOINT || DEFAULT_ENDPOINT,
    )
    .option('--max-duration-ms <ms>', 'stop between steps after this long', integer(1), 60_000)
    .option('--max-partitions <n>', 'partitions visited in this pass', integer(1), 1_000)
    .option('--json', 'print the pass summary as JSON', false)
    .action(
      action(
        io,
        async (opts: { endpoint: string; maxDurationMs: number; maxPartitions: number; json: boolean }) => {
          const pass = { maxDurationMs: opts.maxDurationMs, maxPartitions: opts.maxPartitions };
          let summary: Summary;
          if (!storageInEnv(env)) {
            summary = await cleanupByLocalStack(opts.endpoint, env, pass);
          } else {
            const config = storageConfig(env);
            // Loaded here: the AWS SDK is heavy, and no other client command needs it.
            const [{ createServices }, { runCleanup }, { createAwsClients }] = await Promise.all([
              import('../../shared/app'),
              import('../../shared/retention'),
              import('../../shared/store/aws-clients'),
            ]);
            const clients = createAwsClients(config);
            try {
              summary = (await runCleanup(createServices(config, clients).cleanup, pass).catch(
                (err: unknown) => storageError(err, config),
              )) as Summary;
            } finally {
              clients.dynamo.destroy();
              clients.s3.destroy();
            }
          }
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
        },
      ),
    );

  return admin;
}
