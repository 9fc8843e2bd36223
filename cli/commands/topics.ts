/** `sluice topics create|list|describe|delete|alter`: Kafka's kafka-topics.sh, over the HTTP API. */

import { Command } from 'commander';
import {
  action,
  type CliContext,
  type ConnectionOptions,
  createClient,
  integer,
  table,
  withEndpoint,
} from './common';

const HOUR = 3_600_000;

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
      .argument('<topic>', 'topic name: letters, digits, ".", "_" and "-", at most 249 characters')
      .option('-p, --partitions <n>', 'number of partitions (1–1024)', integer(1, 1024), 1)
      .option(
        '--retention-ms <ms>',
        'delete records older than this (default: the server’s, 7 days)',
        integer(1),
      )
      .option('--retention-bytes <bytes>', 'also keep each partition under this size', integer(1)),
    env,
  ).action(
    action(
      io,
      async (
        topic: string,
        opts: ConnectionOptions & { partitions: number; retentionMs?: number; retentionBytes?: number },
      ) => {
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
      },
    ),
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
      .description('Grow a topic to more partitions (never fewer; some keys then map to new partitions)')
      .argument('<topic>')
      .requiredOption('-p, --partitions <n>', 'the new number of partitions', integer(1, 1024)),
    env,
  ).action(
    action(io, async (topic: string, opts: ConnectionOptions & { partitions: number }) => {
      const admin = createClient(opts, env).admin();
      await admin.createPartitions({ topicPartitions: [{ topic, count: opts.partitions }] });
      await admin.disconnect();
      io.stdout.write(`Topic ${topic} now has ${opts.partitions} partitions.\n`);
    }),
  );

  return topics;
}
