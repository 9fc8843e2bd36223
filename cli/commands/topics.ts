/** `sluice topics create|list|describe|delete|alter`: Kafka's kafka-topics.sh, over the HTTP API. */

import { Command, InvalidArgumentError } from 'commander';
import { LOG_LIMITS } from '../../shared/model/limits';
import { addAdminCommand, addDeleteCommand, type CliContext, CliError, integer, table } from './common';

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

export function topicsCommand(context: CliContext): Command {
  const topics = new Command('topics').description('Create, list, describe, delete and grow topics');

  addAdminCommand(topics, context, {
    name: 'create',
    description: 'Create a topic',
    argument: '<topic>',
    argumentDescription: `topic name: letters, digits, ".", "_" and "-", at most ${LOG_LIMITS.maxTopicNameLength} characters`,
    options: (command) =>
      command
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
    run: async (admin, topic, opts: RetentionOptions & { partitions: number }) => {
      const created = await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: opts.partitions,
            ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
            ...(opts.retentionBytes === undefined ? {} : { retentionBytes: opts.retentionBytes }),
          },
        ],
      });
      if (!created) throw new Error(`TOPIC_ALREADY_EXISTS: topic ${topic} already exists`);
    },
    text: (_, topic, opts) =>
      `Created topic ${topic} with ${opts.partitions} partition${opts.partitions === 1 ? '' : 's'}.\n`,
  });

  addAdminCommand(topics, context, {
    name: 'list',
    description: 'List topics',
    json: true,
    run: (admin) => admin.describeTopics(),
    text: (list) =>
      table(
        ['TOPIC', 'PARTITIONS', 'RETENTION'],
        list.map((t) => [t.name, t.partitionCount, retention(t.retentionMs)]),
      ),
  });

  addAdminCommand(topics, context, {
    name: 'describe',
    description: 'Show a topic and each partition’s log start offset and high-water mark',
    argument: '<topic>',
    json: true,
    run: (admin, topic) => admin.describeTopic(topic),
    text: (d) => {
      const records = d.partitions.reduce((n, p) => n + p.highWatermark - p.logStartOffset, 0);
      return (
        `Topic: ${d.name}  Partitions: ${d.partitionCount}  Retention: ${retention(d.retentionMs)}` +
        `${d.retentionBytes === null ? '' : ` / ${d.retentionBytes} bytes`}  Records: ${records}  ` +
        `Created: ${new Date(d.createdAt).toISOString()}\n` +
        table(
          ['PARTITION', 'LOG-START-OFFSET', 'HIGH-WATERMARK', 'RECORDS'],
          d.partitions.map((p) => [
            p.partition,
            p.logStartOffset,
            p.highWatermark,
            p.highWatermark - p.logStartOffset,
          ]),
        )
      );
    },
  });

  addDeleteCommand(topics, context, {
    kind: 'topic',
    description:
      'Delete a topic and its records (groups’ committed offsets of it no longer count, nor apply to a topic created again under its name)',
    run: (admin, topic) => admin.deleteTopic(topic),
  });

  addAdminCommand(topics, context, {
    name: 'alter',
    description:
      'Grow a topic to more partitions (never fewer; some keys then map to new partitions), or change its retention',
    argument: '<topic>',
    options: (command) =>
      command
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
    run: async (admin, topic, opts: RetentionOptions & { partitions?: number }) => {
      if (
        opts.partitions === undefined &&
        opts.retentionMs === undefined &&
        opts.retentionBytes === undefined
      ) {
        throw new CliError('error: give --partitions, --retention-ms or --retention-bytes (or several)');
      }
      let out = '';
      if (opts.retentionMs !== undefined || opts.retentionBytes !== undefined) {
        const altered = await admin.alterTopicConfig({
          topic,
          ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
          ...(opts.retentionBytes === undefined ? {} : { retentionBytes: opts.retentionBytes }),
        });
        out +=
          `Topic ${topic} now has retention ${retention(altered.retentionMs)}` +
          `${altered.retentionBytes === null ? '' : ` / ${altered.retentionBytes} bytes`}.\n`;
      }
      if (opts.partitions !== undefined) {
        await admin.createPartitions({ topicPartitions: [{ topic, count: opts.partitions }] });
        out += `Topic ${topic} now has ${opts.partitions} partitions.\n`;
      }
      return out;
    },
    text: (out) => out,
  });

  return topics;
}
