/** `sluice topics create|list|describe|delete|alter`: Kafka's kafka-topics.sh, over the HTTP API. */

import { Command, InvalidArgumentError } from 'commander';
import { LOG_LIMITS } from '../../shared/model/limits';
import {
  action,
  type CliContext,
  CliError,
  type ConnectionOptions,
  createClient,
  integer,
  table,
  withEndpoint,
} from './common';

const HOUR = 3_600_000;

/**
 * A retention value: a positive integer, or -1 as in Kafka: no bound (keep forever / no size limit).
 * The parser keeps -1 (commander turns a parser's null into ''), which the API takes as null.
 */
function retentionValue(unit: string) {
  return (value: string): number => {
    if (value === '-1') return -1;
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
      throw new InvalidArgumentError(
        `must be a positive integer of ${unit}, or -1 for no bound, but "${value}" was provided`,
      );
    }
    return Number(value);
  };
}

interface RetentionOptions {
  retentionMs?: number;
  retentionBytes?: number;
}

function retention(ms: number | null): string {
  if (ms === null) return 'forever';
  if (ms % (24 * HOUR) === 0) return `${ms / (24 * HOUR)}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  return `${ms}ms`;
}

export function topicsCommand({ env, io }: CliContext): Command {
  const topics = new Command('topics').description('Create, list, describe, delete and grow topics');

  withEndpoint(
    topics
      .command('create')
      .description('Create a topic')
      .argument(
        '<topic>',
        `topic name: letters, digits, ".", "_" and "-", at most ${LOG_LIMITS.maxTopicNameLength} characters`,
      )
      .option(
        '-p, --partitions <n>',
        `number of partitions (1–${LOG_LIMITS.maxPartitions})`,
        integer(1, LOG_LIMITS.maxPartitions),
        1,
      )
      .option(
        '--retention-ms <ms>',
        'delete records older than this; -1 keeps them forever (default: the server’s, 7 days)',
        retentionValue('ms'),
      )
      .option(
        '--retention-bytes <bytes>',
        'also keep each partition under this size; -1 for no bound (the default)',
        retentionValue('bytes'),
      ),
    env,
  ).action(
    action(io, async (topic: string, opts: ConnectionOptions & RetentionOptions & { partitions: number }) => {
      const admin = createClient(opts, env).admin();
      await admin
        .createTopics({
          topics: [
            {
              topic,
              numPartitions: opts.partitions,
              ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
              ...(opts.retentionBytes === undefined ? {} : { retentionBytes: opts.retentionBytes }),
            },
          ],
        })
        .then((created) => {
          if (!created) throw new Error(`TOPIC_ALREADY_EXISTS: topic ${topic} already exists`);
        });
      io.stdout.write(
        `Created topic ${topic} with ${opts.partitions} partition${opts.partitions === 1 ? '' : 's'}.\n`,
      );
      await admin.disconnect();
    }),
  );

  withEndpoint(
    topics.command('list').description('List topics').option('--json', 'print JSON', false),
    env,
  ).action(
    action(io, async (opts: ConnectionOptions & { json: boolean }) => {
      const admin = createClient(opts, env).admin();
      const list = await admin.describeTopics();
      await admin.disconnect();
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        table(
          ['TOPIC', 'PARTITIONS', 'RETENTION'],
          list.map((t) => [t.name, t.partitionCount, retention(t.retentionMs)]),
        ),
      );
    }),
  );

  withEndpoint(
    topics
      .command('describe')
      .description('Show a topic and each partition’s log start offset and high-water mark')
      .argument('<topic>')
      .option('--json', 'print JSON', false),
    env,
  ).action(
    action(io, async (topic: string, opts: ConnectionOptions & { json: boolean }) => {
      const admin = createClient(opts, env).admin();
      const d = await admin.describeTopic(topic);
      await admin.disconnect();
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      const records = d.partitions.reduce((n, p) => n + p.highWatermark - p.logStartOffset, 0);
      io.stdout.write(
        `Topic: ${d.name}  Partitions: ${d.partitionCount}  Retention: ${retention(d.retentionMs)}` +
          `${d.retentionBytes === null ? '' : ` / ${d.retentionBytes} bytes`}  Records: ${records}  ` +
          `Created: ${new Date(d.createdAt).toISOString()}\n`,
      );
      io.stdout.write(
        table(
          ['PARTITION', 'LOG-START-OFFSET', 'HIGH-WATERMARK', 'RECORDS'],
          d.partitions.map((p) => [
            p.partition,
            p.logStartOffset,
            p.highWatermark,
            p.highWatermark - p.logStartOffset,
          ]),
        ),
      );
    }),
  );

  withEndpoint(
    topics.command('delete').description('Delete a topic and its records').argument('<topic>'),
    env,
  ).action(
    action(io, async (topic: string, opts: ConnectionOptions) => {
      const admin = createClient(opts, env).admin();
      await admin.deleteTopic(topic);
      await admin.disconnect();
      io.stdout.write(`Deleted topic ${topic}.\n`);
    }),
  );

  withEndpoint(
    topics
      .command('alter')
      .description(
        'Grow a topic to more partitions (never fewer; some keys then map to new partitions), or change its retention',
      )
      .argument('<topic>')
      .option('-p, --partitions <n>', 'the new number of partitions', integer(1, LOG_LIMITS.maxPartitions))
      .option(
        '--retention-ms <ms>',
        'delete records older than this; -1 keeps them forever',
        retentionValue('ms'),
      )
      .option(
        '--retention-bytes <bytes>',
        'keep each partition under this size; -1 for no bound',
        retentionValue('bytes'),
      ),
    env,
  ).action(
    action(
      io,
      async (topic: string, opts: ConnectionOptions & RetentionOptions & { partitions?: number }) => {
        if (
          opts.partitions === undefined &&
          opts.retentionMs === undefined &&
          opts.retentionBytes === undefined
        ) {
          throw new CliError('error: give --partitions, --retention-ms or --retention-bytes (or several)');
        }
        const admin = createClient(opts, env).admin();
        if (opts.retentionMs !== undefined || opts.retentionBytes !== undefined) {
          const altered = await admin.alterTopicConfig({
            topic,
            ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
            ...(opts.retentionBytes === undefined ? {} : { retentionBytes: opts.retentionBytes }),
          });
          io.stdout.write(
            `Topic ${topic} now has retention ${retention(altered.retentionMs)}` +
              `${altered.retentionBytes === null ? '' : ` / ${altered.retentionBytes} bytes`}.\n`,
          );
        }
        if (opts.partitions !== undefined) {
          await admin.createPartitions({ topicPartitions: [{ topic, count: opts.partitions }] });
          io.stdout.write(`Topic ${topic} now has ${opts.partitions} partitions.\n`);
        }
        await admin.disconnect();
      },
    ),
  );

  return topics;
}
