/**
 * The whole of Sluice on one machine: embedded DynamoDB and S3 emulators (or the endpoints of
 * AWS_ENDPOINT_URL, e.g. LocalStack), the tables and bucket, and the local gateway serving the route
 * table through the same Lambda handlers that run on AWS. `npm start` runs it; tests and benchmarks
 * start it in-process on an ephemeral port.
 */

import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { createLambdaHandler, type ProxyHandler } from '../api/lambda';
import { FUNCTION_NAMES, type FunctionName } from '../api/routes';
import { createServices, type Services } from '../app';
import type { StorageConfig } from '../config';
import { runCleanup } from '../retention';
import { type AwsClients, createAwsClients } from '../store/aws-clients';
import { ensureStorage } from '../store/tables';
import { type EmulatorIsolation, type Emulators, startEmulators } from './emulators';
import { createGateway } from './gateway';

export interface LocalStackOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 8092 */
  readonly port?: number;
  /** Where the emulators keep their data, so a restart keeps every topic and record. @default './.sluice' */
  readonly dataDir?: string;
  /** Keep nothing: DynamoDB in memory, S3 in a temporary folder removed on stop. @default false */
  readonly inMemory?: boolean;
  /** Require `Authorization: Bearer <token>` on every request. @default none: no authentication */
  readonly token?: string;
  /** No per-request log lines. @default false */
  readonly quiet?: boolean;
  /** Where log lines go. @default console.log */
  readonly log?: (line: string) => void;
  /**
   * Use these AWS endpoints (LocalStack) instead of embedded emulators.
   * @default process.env.AWS_ENDPOINT_URL; embedded emulators when unset
   */
  readonly endpoint?: string;
  /** Environment for table and bucket names (SLUICE_BUCKET, SLUICE_*_TABLE) and AWS_REGION. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How often the cleanup pass (retention, merging, garbage collection) runs, as the scheduled
   * function does on AWS; 0 for never. @default 300_000 (5 minutes, the deployed schedule)
   */
  readonly cleanupIntervalMs?: number;
  /**
   * Where the embedded emulators run: `process` — dynalite and s3rver each in a child process of their
   * own, off the API's event loop, stopped with the stack and never outliving this process; `inline` —
   * in this process. @default 'process'
   */
  readonly emulators?: EmulatorIsolation;
  /**
   * Whether this stack is the only writer of its storage. Then every commit is made in this process,
   * and wakes the long polls waiting on it at once (HighWatermarkSignal), so their timed head reads are
   * only a safety net and run rarely (SOLE_WRITER_POLLING). `sluice dev` says so when it embeds the
   * emulators (the data folder's lock keeps a second stack out; nothing else can reach them). @default
   * false: others may write (tests that add a second door, LocalStack)
   */
  readonly soleWriter?: boolean;
  /** Called with the AWS clients before their first call (the bench counts the stack's storage calls). */
  readonly instrument?: (clients: AwsClients) => void;
}

/** The long poll's head reads when every commit is made in this process (see `soleWriter`). */
export const SOLE_WRITER_POLLING = { minPollMs: 250, maxPollMs: 1000 } as const;

export interface LocalStack {
  /** The base URL, e.g. `http://127.0.0.1:8092`. */
  readonly url: string;
  readonly config: StorageConfig;
  /** The services the gateway's handlers run on: another door (the Kafka listener) shares them, so in-process wake-ups reach both. */
  readonly services: Services;
  /** The AWS clients the services use (to count or trace their calls). */
  readonly clients: AwsClients;
  /** Where data is kept; undefined when in memory or on external endpoints. */
  readonly dataDir: string | undefined;
  /** Process ids of the embedded emulators when they run in processes of their own. */
  readonly emulatorPids: readonly number[];
  stop(): Promise<void>;
}

export const DEFAULT_PORT = 8092;
export const DEFAULT_DATA_DIR = './.sluice';

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL || undefined);
  const inMemory = options.inMemory ?? false;
  const dataDir = endpoint || inMemory ? undefined : resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const log = options.quiet ? undefined : (options.log ?? ((line: string) => console.log(line)));

  let emulators: Emulators | undefined;
  if (endpoint === undefined) {
    const isolation = options.emulators ?? 'process';
    emulators = await startEmulators(
      dataDir === undefined ? { inMemory: true, isolation } : { dataDir, isolation },
    );
  }
  const config: StorageConfig = {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(emulators
      ? { dynamoEndpoint: emulators.dynamoEndpoint, s3Endpoint: emulators.s3Endpoint, embedded: true }
      : {}),
    bucket: env.SLUICE_BUCKET || 'sluice-local',
    topicsTable: env.SLUICE_TOPICS_TABLE || 'sluice-topics',
    logTable: env.SLUICE_LOG_TABLE || 'sluice-log',
    groupsTable: env.SLUICE_GROUPS_TABLE || 'sluice-groups',
  };
  const clients = createAwsClients(config);
  options.instrument?.(clients);
  const stopStorage = async () => {
    clients.dynamo.destroy();
    clients.s3.destroy();
    await emulators?.stop();
  };
  try {
    await ensureStorage(config, clients);
  } catch (err) {
    await stopStorage();
    throw err;
  }

  const services = createServices(
    config,
    clients,
    options.soleWriter ? { log: { fetch: SOLE_WRITER_POLLING } } : {},
  );
  // The handlers log nothing themselves here: the gateway writes one line per request.
  const logger = new Logger({ serviceName: 'sluice', logLevel: 'SILENT' });
  const handlers = Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [
      fn,
      createLambdaHandler(fn, { services: () => services, logger, metrics: null }),
    ]),
  ) as Record<FunctionName, ProxyHandler>;
  const server = createGateway({
    handlers,
    ...(options.token ? { token: options.token } : {}),
    ...(log ? { log } : {}),
    // `sluice admin cleanup` against this stack: the emulators are not reachable from outside.
    cleanup: (pass) => runCleanup(services.cleanup, { maxDurationMs: 30_000, ...pass }),
  });
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? DEFAULT_PORT, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
  } catch (err) {
    await stopStorage();
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  // Cleanup on a timer, as the scheduled function runs it on AWS. A pass is bounded and resumable,
  // and its lease keeps two passes (a slow one and the next tick) from running at once.
  const cleanupIntervalMs = options.cleanupIntervalMs ?? 300_000;
  let cleanupRun: Promise<unknown> | undefined;
  const cleanupTimer =
    cleanupIntervalMs > 0
      ? setInterval(() => {
          if (cleanupRun) return;
          cleanupRun = runCleanup(services.cleanup, { maxDurationMs: 30_000 })
            .then((summary) => log?.(`${new Date().toISOString()} cleanup ${JSON.stringify(summary)}`))
            .catch((err: unknown) => log?.(`${new Date().toISOString()} cleanup failed: ${String(err)}`))
            .finally(() => {
              cleanupRun = undefined;
            });
        }, cleanupIntervalMs)
      : undefined;
  cleanupTimer?.unref();

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    services,
    clients,
    dataDir,
    emulatorPids: emulators?.pids ?? [],
    stop() {
      stopping ??= (async () => {
        clearInterval(cleanupTimer);
        await cleanupRun;
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
          // Long polls in flight are cut: their clients see a reset and retry.
          setTimeout(() => server.closeAllConnections(), 2_000).unref();
        });
        await stopStorage();
      })();
      return stopping;
    },
  };
}
