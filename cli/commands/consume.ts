/** `sluice consume <topic>`: print records, as kafka-console-consumer.sh. */

import { Command } from 'commander';
import type { Consumer, KafkaMessage, TopicPartition } from '../../client';
import {
  action,
  type CliContext,
  CliError,
  type CliIo,
  type ConnectionOptions,
  choice,
  createClient,
  integer,
  offsetsAtTime,
  withEndpoint,
} from './common';
import { DEFAULT_RECONNECT_BACKOFF, followRetry, OutageReporter } from './outage';

interface ConsumeOptions extends ConnectionOptions {
  group?: string;
  from: string;
  partition?: number;
  maxRecords?: number;
  timeoutMs?: number;
  follow: boolean;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  printKey: boolean;
  printOffset: boolean;
  printPartition: boolean;
  printTimestamp: boolean;
  separator: string;
  nullLiteral: string;
  format: 'text' | 'json';
}

type From = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

export function parseFrom(value: string): From {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value))) return { offset: Number(value) };
  const time = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(time)) return { timestamp: time };
  throw new CliError(
    `error: --from must be earliest, latest, an offset or an ISO-8601 time (e.g. 2026-01-31T12:00:00Z), but "${value}" was provided`,
  );
}

/** Writes, waiting for a full pipe to drain, or for its reader to go (then `closed` resolves first). */
async function write(io: CliIo, text: string, closed: Promise<void>): Promise<void> {
  const stream = io.stdout as {
    write(s: string): unknown;
    once?: (event: string, fn: () => void) => void;
    off?: (event: string, fn: () => void) => void;
  };
  if (stream.write(text) === false && typeof stream.once === 'function') {
    let drained: () => void = () => undefined;
    const drain = new Promise<void>((resolve) => {
      drained = resolve;
    });
    stream.once('drain', drained);
    await Promise.race([drain, closed]);
    stream.off?.('drain', drained);
  }
}

function formatText(topic: string, partition: number, m: KafkaMessage, opts: ConsumeOptions): string {
  const fields: string[] = [];
  if (opts.printPartition) fields.push(String(partition));
  if (opts.printOffset) fields.push(String(m.offset));
  if (opts.printTimestamp) fields.push(new Date(m.timestamp).toISOString());
  if (opts.printKey) fields.push(m.key === null ? opts.nullLiteral : m.key.toString('utf8'));
  fields.push(m.value === null ? opts.nullLiteral : m.value.toString('utf8'));
  void topic;
  return `${fields.join(opts.separator)}\n`;
}

function formatJson(topic: string, partition: number, m: KafkaMessage): string {
  const headers: Record<string, string | null | (string | null)[]> = {};
  for (const [k, v] of Object.entries(m.headers)) {
    headers[k] = Array.isArray(v) ? v.map((x) => x?.toString('utf8') ?? null) : (v?.toString('utf8') ?? null);
  }
  return `${JSON.stringify({
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key?.toString('utf8') ?? null,
    value: m.value?.toString('utf8') ?? null,
    headers,
  })}\n`;
}

export function consumeCommand({ env, io }: CliContext): Command {
  return withEndpoint(
    new Command('consume')
      .description(
        'Print the records of a topic, one per line. Without --follow it exits once it has read up to the ' +
          'high-water marks it saw; with --group it consumes as a member of that group and commits what it printed.',
      )
      .argument('<topic>')
      .option('-g, --group <group>', 'consume as a member of this consumer group (commits its offsets)')
      .option(
        '--from <where>',
        'where to start: earliest, latest, an offset or an ISO-8601 time; with --group only earliest|latest, for partitions the group has not committed',
        'earliest',
      )
      .option('-p, --partition <n>', 'only this partition (without --group)', integer(0))
      .option('-n, --max-records <n>', 'exit after this many records', integer(1))
      .option('--timeout-ms <ms>', 'exit after this long without a new record', integer(1))
      .option(
        '-f, --follow',
        'keep waiting for new records (stop with Ctrl-C); retries through server outages (unreachable, or a retriable answer such as 503), saying so on stderr',
        false,
      )
      .option(
        '--reconnect-backoff-ms <ms>',
        'with --follow: the first wait before retrying a server that does not answer; it doubles at each failure',
        integer(1),
        DEFAULT_RECONNECT_BACKOFF.initialMs,
      )
      .option(
        '--reconnect-backoff-max-ms <ms>',
        'with --follow: the longest wait between retries',
        integer(1),
        DEFAULT_RECONNECT_BACKOFF.maxMs,
      )
      .option('--print-key', 'print the key before the value', false)
      .option('--print-offset', 'print the offset', false)
      .option('--print-partition', 'print the partition', false)
      .option('--print-timestamp', 'print the timestamp (ISO-8601)', false)
      .option('--separator <sep>', 'between printed fields', '\t')
      .option('--null-literal <text>', 'what to print for a null key or value (default: nothing)', '')
      .option(
        '--format <format>',
        'text, or json: one object per line with every field',
        choice(['text', 'json'] as const),
        'text',
      ),
    env,
  ).action(
    action(io, async (topic: string, opts: ConsumeOptions) => {
      const from = parseFrom(opts.from);
      if (opts.group !== undefined && typeof from === 'object') {
        throw new CliError(
          `error: with --group, --from must be earliest or latest (the start for partitions without a committed offset); to move the group, run: sluice groups reset-offsets ${opts.group} --topic ${topic} --to ${opts.from}`,
        );
      }
      if (opts.group !== undefined && opts.partition !== undefined) {
        throw new CliError('error: --partition cannot be used with --group: the group assigns partitions');
      }
      // Following, an outage is retried for as long as it lasts (outage.ts); otherwise it fails the command.
      const outage = opts.follow ? new OutageReporter(opts.endpoint, io.stderr) : undefined;
      const sluice = createClient(opts, env, outage && { onRetry: (event) => outage.retrying(event) });
      const consumer: Consumer = sluice.consumer({
        ...(opts.group === undefined ? {} : { groupId: opts.group }),
        // Without --follow an empty partition should not hold the exit for a long poll.
        maxWaitMs: opts.follow ? 5_000 : 500,
        ...(opts.follow
          ? { retry: followRetry({ initialMs: opts.reconnectBackoffMs, maxMs: opts.reconnectBackoffMaxMs }) }
          : {}),
      });

      if (opts.group !== undefined) {
        await consumer.subscribe({ topics: [topic], fromBeginning: from === 'earliest' });
      } else {
        const admin = sluice.admin();
        const d = await admin.describeTopic(topic);
        let partitions = d.partitions;
        if (opts.partition !== undefined) {
          partitions = partitions.filter((p) => p.partition === opts.partition);
          if (partitions.length === 0) {
            throw new CliError(
              `error: --partition must be from 0 to ${d.partitionCount - 1} (${topic} has ${d.partitionCount}), but ${opts.partition} was provided`,
            );
          }
        }
        if (typeof from === 'object' && 'offset' in from) {
          // An explicit offset outside the log is a mistake to report, never a silent restart elsewhere.
          for (const p of partitions) {
            if (from.offset < p.logStartOffset || from.offset > p.highWatermark) {
              throw new CliError(
                `error: --from ${from.offset} is outside partition ${p.partition} of ${topic}: its log start offset is ${p.logStartOffset} and its high-water mark is ${p.highWatermark}, so --from must be from ${p.logStartOffset} to ${p.highWatermark}` +
                  (opts.partition === undefined && partitions.length > 1
                    ? ' (an offset applies to every partition: pick one with --partition)'
                    : '') +
                  '; or use --from earliest or --from latest',
              );
            }
          }
        }
        const byTime =
          typeof from === 'object' && 'timestamp' in from
            ? await offsetsAtTime(admin, topic, from.timestamp)
            : undefined;
        await admin.disconnect();
        consumer.assign(
          partitions.map((p) => ({
            topic,
            partition: p.partition,
            offset:
              from === 'earliest'
                ? p.logStartOffset
                : from === 'latest'
                  ? p.highWatermark
                  : 'offset' in from
                    ? from.offset
                    : (byTime!.get(p.partition) ?? p.highWatermark),
          })),
          { fromBeginning: from !== 'latest' },
        );
      }

      let count = 0;
      let lastRecordAt = Date.now();
      let finish!: (err?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        finish = (err) => (err === undefined ? resolve() : reject(err));
      });
      let finished = false;
      const end = (err?: unknown) => {
        if (finished) return;
        finished = true;
        finish(err);
      };
      // Caught up: every held partition was read up to the high-water mark its last fetch reported.
      const reached = new Map<string, { position: number; highWatermark: number }>();
      const key = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;
      consumer.on('fetch', ({ partitions }) => {
        outage?.answered();
        for (const p of partitions)
          reached.set(key(p), { position: p.position, highWatermark: p.highWatermark });
        if (opts.follow || finished) return;
        const held = consumer.assignment();
        const caughtUp =
          held.length > 0 &&
          held.every((tp) => {
            const r = reached.get(key(tp));
            return r !== undefined && tp.offset >= 0 && r.position >= r.highWatermark;
          });
        if (caughtUp) end();
      });
      consumer.on('crash', ({ error }) => end(error));
      const stopInterrupt = io.onInterrupt(() => end());
      // `| head -2`: the reader is gone. Stop, commit what was printed and leave the group, exit 0.
      let outputClosed!: () => void;
      const closed = new Promise<void>((resolve) => {
        outputClosed = resolve;
      });
      const stopOutputClosed = io.onOutputClosed(() => {
        outputClosed();
        end();
      });
      const idle =
        opts.timeoutMs === undefined
          ? undefined
          : setInterval(
              () => {
                if (Date.now() - lastRecordAt >= opts.timeoutMs!) end();
              },
              Math.min(200, opts.timeoutMs),
            );

      try {
        await consumer.run({
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset }) => {
            for (const m of batch.messages) {
              if (finished) return;
              await write(
                io,
                opts.format === 'json'
                  ? formatJson(batch.topic, batch.partition, m)
                  : formatText(batch.topic, batch.partition, m, opts),
                closed,
              );
              resolveOffset(m.offset);
              count++;
              lastRecordAt = Date.now();
              if (opts.maxRecords !== undefined && count >= opts.maxRecords) {
                end();
                return;
              }
            }
          },
        });
        outage?.start();
        await done;
      } finally {
        if (idle) clearInterval(idle);
        stopInterrupt();
        stopOutputClosed();
        await consumer.disconnect();
      }
      io.stderr.write(`${count} record${count === 1 ? '' : 's'}\n`);
    }),
  );
}
