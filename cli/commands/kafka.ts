/**
 * `sluice kafka`: a Kafka-protocol listener, so Kafka clients (kcat, librdkafka, kafkajs, the Java
 * client) produce to and fetch from Sluice with nothing changed but the bootstrap address. It runs the
 * log and group services in this process against S3 and DynamoDB directly — the storage the Lambda
 * functions read (SLUICE_BUCKET, SLUICE_*_TABLE, AWS_REGION, or AWS_ENDPOINT_URL for LocalStack) —
 * and keeps nothing of its own: run as many side by side as you like.
 */

import { Command, InvalidArgumentError } from 'commander';
import type { Services } from '../../shared/api/services';
import type { StorageConfig } from '../../shared/config';
import type { KafkaListenerEvent } from '../../shared/kafka/apis/types';
import type { KafkaListener } from '../../shared/kafka/listener';
import { storageConfig } from './admin';
import { action, type CliContext, CliError, type CliIo, integer } from './common';

export const DEFAULT_KAFKA_LISTEN = '127.0.0.1:9092';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces). */
export function hostPort(value: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new InvalidArgumentError(
      `must be HOST:PORT with a port from 0 to 65535, but "${value}" was provided`,
    );
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export interface KafkaCommandOptions {
  readonly listen: HostPort;
  readonly advertise?: HostPort;
  readonly lingerMs: number;
  readonly maxFlushBytes: number;
  readonly maxFrameBytes: number;
  readonly allowRemote: boolean;
}

/** Starts a listener on `services`; refuses a non-loopback address unless allowed, and warns when it is. */
export async function startKafkaListener(
  services: Services,
  config: Pick<StorageConfig, 'bucket' | 'topicsTable' | 'logTable'>,
  options: KafkaCommandOptions,
  io: Pick<CliIo, 'stderr'>,
): Promise<KafkaListener> {
  const [{ KafkaListener, clusterIdFor }, { isLoopback }] = await Promise.all([
    import('../../shared/kafka/listener'),
    import('../../shared/kafka/transport'),
  ]);
  if (!isLoopback(options.listen.host)) {
    if (!options.allowRemote) {
      throw new CliError(
        `error: --listen ${options.listen.host} is not a loopback address; the Kafka listener has no authentication yet (no TLS, no SASL): pass --allow-remote to bind it anyway`,
      );
    }
    io.stderr.write(
      `warning: the Kafka listener on ${options.listen.host}:${options.listen.port} has NO authentication (no TLS, no SASL): anyone who can reach it can read and write every topic\n`,
    );
  }
  const listener = new KafkaListener({
    services,
    host: options.listen.host,
    port: options.listen.port,
    ...(options.advertise ? { advertise: options.advertise } : {}),
    lingerMs: options.lingerMs,
    maxFlushBytes: options.maxFlushBytes,
    maxFrameBytes: options.maxFrameBytes,
    clusterId: clusterIdFor(config),
    log: (event) => io.stderr.write(`${new Date().toISOString()} ${describeEvent(event)}\n`),
  });
  await listener.start();
  return listener;
}

function describeEvent(event: KafkaListenerEvent): string {
  const why = (err: unknown) => {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
    return `${err instanceof Error ? err.message : String(err)}${cause}`;
  };
  switch (event.type) {
    case 'closed':
      return `kafka: closed connection ${event.connection}: ${event.reason}`;
    case 'handler-error':
      return `kafka: ${event.api} failed on connection ${event.connection}: ${why(event.error)}`;
    case 'partition-error':
      return `kafka: ${event.api} ${event.topic}/${event.partition} failed: ${why(event.error)}`;
  }
}

/** Adds the listener's tuning options to a command (`sluice kafka` and `sluice dev` share them). */
export function withKafkaTuning(command: Command): Command {
  return command
    .option(
      '--linger-ms <ms>',
      'how long produce requests are gathered into one S3 object',
      integer(0, 10_000),
      10,
    )
    .option(
      '--max-flush-bytes <bytes>',
      'a gathered flush is written once this many bytes wait',
      integer(1, 64 * 1024 * 1024),
      4 * 1024 * 1024,
    )
    .option(
      '--max-frame-bytes <bytes>',
      'largest request frame read; a larger one closes the connection',
      integer(1024, 100 * 1024 * 1024),
      8 * 1024 * 1024,
    );
}

export function kafkaCommand({ env, io }: CliContext): Command {
  const command = new Command('kafka').description(
    'Run a Kafka-protocol listener (Produce, Fetch, ListOffsets, Metadata, ApiVersions …) on the storage the ' +
      'environment names: SLUICE_BUCKET, SLUICE_TOPICS_TABLE, SLUICE_LOG_TABLE, SLUICE_GROUPS_TABLE and AWS ' +
      'credentials, or LocalStack at AWS_ENDPOINT_URL (names then default to the local stack’s). `sluice dev` ' +
      'opens one too (--kafka-port).',
  );
  command
    .option(
      '--listen <host:port>',
      'address to bind (env SLUICE_KAFKA_LISTEN); non-loopback needs --allow-remote',
      hostPort,
      hostPort(env.SLUICE_KAFKA_LISTEN || DEFAULT_KAFKA_LISTEN),
    )
    .option(
      '--advertise <host:port>',
      'address Metadata gives clients (default: the listen address)',
      hostPort,
    )
    .option(
      '--allow-remote',
      'allow a non-loopback --listen address (there is no authentication yet)',
      false,
    );
  withKafkaTuning(command).action(
    action(io, async (opts: KafkaCommandOptions) => {
      const config = storageConfig(env);
      const [{ createServices }, { createAwsClients }] = await Promise.all([
        import('../../shared/app'),
        import('../../shared/store/aws-clients'),
      ]);
      const clients = createAwsClients(config);
      const listener = await startKafkaListener(createServices(config, clients), config, opts, io);
      const { host, port } = listener.address;
      const advertised = listener.server.context.advertised;
      io.stdout.write(
        `Kafka listener on ${host}:${port} (advertised as ${advertised.host}:${advertised.port}; bucket ${config.bucket}). Ctrl-C stops it.\n`,
      );
      await new Promise<void>((resolve) => {
        const remove = io.onInterrupt(() => {
          remove();
          resolve();
        });
      });
      await listener.close();
      clients.dynamo.destroy();
      clients.s3.destroy();
    }),
  );
  return command;
}

/**
 * `sluice dev`'s listener on 127.0.0.1:`port` (0: none), on the stack's own services: one LogService
 * in the process, so in-process wake-ups reach both the HTTP and the Kafka door. Stops the stack when
 * the port cannot be bound.
 */
export async function startDevKafkaListener(
  stack: { readonly services: Services; readonly config: StorageConfig; stop(): Promise<void> },
  port: number,
): Promise<KafkaListener | undefined> {
  if (port === 0) return undefined;
  try {
    return await startKafkaListener(
      stack.services,
      stack.config,
      {
        listen: { host: '127.0.0.1', port },
        lingerMs: 10,
        maxFlushBytes: 4 * 1024 * 1024,
        maxFrameBytes: 8 * 1024 * 1024,
        allowRemote: false,
      },
      process,
    );
  } catch (err) {
    await stack.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `error: 127.0.0.1:${port} is in use, so the Kafka listener cannot open: pass --kafka-port <port> (env SLUICE_KAFKA_PORT), or 0 to run without it`,
      );
    }
    throw err;
  }
}
