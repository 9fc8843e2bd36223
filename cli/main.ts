/**
 * The `sluice` command line. `npm start` runs `sluice dev`.
 */

import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, startLocalStack } from '../shared/local/stack';
import { registerCommands } from './commands';
import { startDevKafkaListener } from './commands/kafka';

function port(value: string): number {
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
  kafkaPort: number;
}

export function createProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('sluice').description('Sluice: a serverless, Kafka-style event log on AWS');

  program
    .command('dev')
    .description(
      'Run Sluice on this machine: embedded DynamoDB and S3 emulators and the HTTP API on 127.0.0.1. ' +
        'With AWS_ENDPOINT_URL set (e.g. LocalStack), use it instead of the embedded emulators.',
    )
    .option(
      '-p, --port <port>',
      'port on 127.0.0.1 (env SLUICE_PORT)',
      port,
      env.SLUICE_PORT ? port(env.SLUICE_PORT) : DEFAULT_PORT,
    )
    .option(
      '-d, --data-dir <dir>',
      'where data is kept across restarts (env SLUICE_DATA_DIR)',
      env.SLUICE_DATA_DIR || DEFAULT_DATA_DIR,
    )
    .option('--in-memory', 'keep nothing: a throwaway run', false)
    .option('-q, --quiet', 'do not log one line per request', false)
    .option(
      '--kafka-port <port>',
      'Kafka-protocol listener on 127.0.0.1, 0 for none (env SLUICE_KAFKA_PORT)',
      port,
      env.SLUICE_KAFKA_PORT ? port(env.SLUICE_KAFKA_PORT) : 9092,
    )
    .action(async (opts: DevOptions) => {
      const token = env.SLUICE_TOKEN || undefined;
      const stack = await startLocalStack({
        port: opts.port,
        dataDir: opts.dataDir,
        inMemory: opts.inMemory,
        quiet: opts.quiet,
        ...(token ? { token } : {}),
        env,
      });
      const kafka = await startDevKafkaListener(stack, opts.kafkaPort);
      const where = env.AWS_ENDPOINT_URL
        ? `storage at ${env.AWS_ENDPOINT_URL}`
        : stack.dataDir
          ? `data in ${stack.dataDir}`
          : 'in memory: nothing is kept';
      console.log(
        `Sluice is ready at ${stack.url}${kafka ? `, Kafka at 127.0.0.1:${kafka.address.port}` : ''} (${where}${token ? ', bearer token required' : ''}). Ctrl-C stops it.`,
      );
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping`);
        (kafka?.close() ?? Promise.resolve())
          .then(() => stack.stop())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              console.error(err);
              process.exit(1);
            },
          );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });

  registerCommands(program, env);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  await createProgram().parseAsync([...argv]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
