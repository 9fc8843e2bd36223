/**
 * `sluice dev` (what `npm start` runs): the local stack in this process, until a signal stops it.
 *
 * The stack itself (dynalite, s3rver, the AWS SDK, the handlers) is loaded only when this command runs,
 * so the other commands start in a fraction of the time.
 *
 * Stopping: SIGINT (Ctrl-C), SIGTERM (`kill`, process managers, `kill %1`) and SIGHUP (the terminal
 * closed) all stop the server cleanly: no new requests, the emulators flushed and closed, the data
 * folder unlocked. A second signal exits at once. A server whose parent died (e.g. `npm start` killed
 * with SIGKILL, which npm cannot forward) stops itself rather than hold the port and the data.
 */

import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { KafkaListener } from '../../shared/kafka/listener';
import { alive } from '../../shared/local/lock';
import type { LocalStack } from '../../shared/local/stack';
import { action, type CliContext, CliError, integer } from './common';

/** Same defaults as shared/local/stack.ts, kept here so that `--help` needs no import of the stack. */
export const DEFAULT_PORT = 8092;
export const DEFAULT_DATA_DIR = './.sluice';
/** Kafka's own default port, so `kcat -b 127.0.0.1:9092` works after `npm start`. */
export const DEFAULT_KAFKA_PORT = 9092;
/** How long a stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;
/** How often the server checks that its parent process is still there. */
const PARENT_CHECK_MS = 1_000;

export function port(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError(`must be a port number from 0 to 65535, but "${value}" was provided`);
  }
  return Number(value);
}

interface DevOptions {
  port: number;
  dataDir: string;
  inMemory: boolean;
  quiet: boolean;
  cleanupIntervalMs: number;
  kafkaPort: number;
}

function envPort(env: NodeJS.ProcessEnv): number {
  if (!env.SLUICE_PORT) return DEFAULT_PORT;
  try {
    return port(env.SLUICE_PORT);
  } catch (err) {
    throw new CliError(`error: SLUICE_PORT ${(err as Error).message}`);
  }
}

export function devCommand({ env, io }: CliContext): Command {
  return new Command('dev')
    .description(
      'Run Sluice on this machine: embedded DynamoDB and S3 emulators and the HTTP API on 127.0.0.1. ' +
        'With AWS_ENDPOINT_URL set (e.g. LocalStack), use it instead of the embedded emulators. ' +
        'SIGINT (Ctrl-C), SIGTERM and SIGHUP stop it cleanly.',
    )
    .option(
      '-p, --port <port>',
      `port on 127.0.0.1, 0 for any free one (env SLUICE_PORT, default ${DEFAULT_PORT})`,
      port,
    )
    .option(
      '-d, --data-dir <dir>',
      'where data is kept across restarts; one sluice dev at a time per folder (env SLUICE_DATA_DIR)',
      env.SLUICE_DATA_DIR || DEFAULT_DATA_DIR,
    )
    .option('--in-memory', 'keep nothing: a throwaway run', false)
    .option('-q, --quiet', 'do not log one line per request', false)
    .option(
      '--cleanup-interval-ms <ms>',
      'how often the cleanup pass (retention, merging, collection) runs; 0 for never (`sluice admin cleanup` runs one now)',
      integer(0),
      300_000,
    )
    .option(
      '--kafka-port <port>',
      'Kafka-protocol listener on 127.0.0.1, 0 for none (env SLUICE_KAFKA_PORT)',
      port,
      env.SLUICE_KAFKA_PORT ? port(env.SLUICE_KAFKA_PORT) : DEFAULT_KAFKA_PORT,
    )
    .action(
      action(io, async (opts: DevOptions) => {
        const listenPort = opts.port ?? envPort(env);
        const token = env.SLUICE_TOKEN || undefined;
        const external = Boolean(env.AWS_ENDPOINT_URL);
        const { lockDataDir, DataDirInUseError } = await import('../../shared/local/lock');
        let lock: { release(): void } | undefined;
        if (!external && !opts.inMemory) {
          try {
            lock = lockDataDir(resolve(opts.dataDir), opts.dataDir);
          } catch (err) {
            if (err instanceof DataDirInUseError) {
              throw new CliError(
                `error: ${err.message}: stop it first, or give this one another folder with --data-dir / SLUICE_DATA_DIR (or --in-memory)`,
              );
            }
            throw err;
          }
        }
        // Whatever happens from here, the lock goes with the process.
        process.once('exit', () => lock?.release());

        // Signals are handled from here on: one that arrives while the stack starts stops it once up.
        let stack: LocalStack | undefined;
        let kafka: KafkaListener | undefined;
        let stopping = false;
        let watchdog: NodeJS.Timeout | undefined;
        const parent = process.ppid;
        const shutdown = (why: string) => {
          if (stopping) {
            console.log(`${why} again: exiting without waiting`);
            process.exit(1);
          }
          stopping = true;
          clearInterval(watchdog);
          if (stack === undefined) return; // still starting: stopped as soon as it is up
          console.log(`${why}: stopping`);
          setTimeout(() => {
            console.error(`sluice: the stop took more than ${STOP_DEADLINE_MS / 1000} s; exiting`);
            process.exit(1);
          }, STOP_DEADLINE_MS).unref();
          const running = stack;
          (kafka?.close() ?? Promise.resolve())
            .then(() => running.stop())
            .then(
              () => {
                lock?.release();
                console.log('Sluice stopped.');
                process.exit(0);
              },
              (err: unknown) => {
                console.error(`sluice: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
                process.exit(1);
              },
            );
        };
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
          process.on(signal, () => shutdown(signal));
        }

        // Loaded only now (after the lock: a second server refuses at once): the stack pulls in
        // dynalite, s3rver and the AWS SDK.
        const { startLocalStack } = await import('../../shared/local/stack');
        if (stopping) {
          process.exit(0);
        }
        try {
          stack = await startLocalStack({
            port: listenPort,
            dataDir: opts.dataDir,
            inMemory: opts.inMemory,
            quiet: opts.quiet,
            cleanupIntervalMs: opts.cleanupIntervalMs,
            ...(token ? { token } : {}),
            env,
            // With embedded emulators every commit is made in this process (see soleWriter).
            soleWriter: !env.AWS_ENDPOINT_URL,
          });
        } catch (err) {
          lock?.release();
          if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
            throw new CliError(
              `error: port ${listenPort} on 127.0.0.1 is in use (another sluice dev?): choose another with --port N or SLUICE_PORT=N`,
            );
          }
          throw err;
        }
        const { startDevKafkaListener } = await import('./kafka');
        kafka = await startDevKafkaListener(stack, opts.kafkaPort);
        if (stopping) {
          // A signal came while the stack started: stop it now that it exists.
          stopping = false;
          shutdown('stop requested during start');
          return;
        }
        const where = external
          ? `storage at ${env.AWS_ENDPOINT_URL}`
          : stack.dataDir
            ? `data in ${stack.dataDir}`
            : 'in memory: nothing is kept';
        console.log(
          `Sluice is ready at ${stack.url}${kafka ? `, Kafka at 127.0.0.1:${kafka.address.port}` : ''} (${where}${token ? ', bearer token required' : ''}). Ctrl-C stops it.`,
        );
        // A parent that is gone cannot forward signals any more: stop rather than live on as an orphan.
        watchdog = setInterval(() => {
          if (parent > 1 && !alive(parent)) shutdown(`parent process ${parent} exited`);
        }, PARENT_CHECK_MS);
        watchdog.unref();
      }),
    );
}
