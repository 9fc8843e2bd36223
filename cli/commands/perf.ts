/**
 * `sluice perf produce|consume`: throughput and latency, as Kafka's kafka-producer-perf-test.sh and
 * kafka-consumer-perf-test.sh. Both are bounded: by --records and by --max-seconds.
 */

import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import type { TopicPartition } from '../../client';
import {
  action,
  type CliContext,
  type ConnectionOptions,
  choice,
  createClient,
  integer,
  MB,
  percentile,
  withEndpoint,
} from './common';

interface PerfProduceOptions extends ConnectionOptions {
  records: number;
  recordSize: number;
  throughput: number;
  maxSeconds: number;
  payload: 'random' | 'json';
  compression: 'lz4' | 'gzip' | 'none';
  lingerMs: number;
  reportingIntervalMs: number;
}

interface PerfConsumeOptions extends ConnectionOptions {
  records?: number;
  maxSeconds: number;
  group?: string;
  reportingIntervalMs: number;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Payloads: random upper-case letters (as Kafka's tool), or JSON events padded to the size. */
function payloads(size: number, kind: 'random' | 'json'): (i: number) => Buffer {
  if (kind === 'random') {
    const pool = randomBytes(Math.max(4 * MB, size * 2));
    for (let i = 0; i < pool.length; i++) pool[i] = LETTERS.charCodeAt(pool[i]! % 26);
    return (i) => {
      const at = (i * 7919 * 13) % (pool.length - size + 1);
      return pool.subarray(at, at + size);
    };
  }
  return (i) => {
    const base = JSON.stringify({
      id: i,
      type: i % 3 === 0 ? 'order.created' : 'order.paid',
      customer: `user-${i % 997}`,
      amount: (i * 37) % 10_000,
      at: new Date(1_764_288_000_000 + i).toISOString(),
      pad: '',
    });
    const pad = Math.max(0, size - base.length);
    return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(pad)}"`));
  };
}

const ms = (n: number) => n.toFixed(2);

export function perfCommand({ env, io }: CliContext): Command {
  const perf = new Command('perf').description('Measure throughput and latency, as Kafka’s perf-test tools');

  withEndpoint(
    perf
      .command('produce')
      .description(
        'Send --records records of --record-size bytes as fast as allowed (or at --throughput records/s); ' +
          'print records/s, MB/s and send-to-acknowledgement latency (avg, max, p50, p95, p99, p99.9)',
      )
      .argument('<topic>')
      .requiredOption('--records <n>', 'records to send', integer(1))
      .requiredOption('--record-size <bytes>', 'bytes per record value', integer(1, 1024 * 1024))
      .option('--throughput <records/s>', 'cap the rate; 0: no cap', integer(0), 0)
      .option('--max-seconds <s>', 'stop sending after this long', integer(1), 300)
      .option(
        '--payload <kind>',
        'random (upper-case letters) or json',
        choice(['random', 'json'] as const),
        'random',
      )
      .option('--compression <codec>', 'lz4, gzip or none', choice(['lz4', 'gzip', 'none'] as const), 'lz4')
      .option('--linger-ms <ms>', 'producer lingerMs', integer(0), 5)
      .option('--reporting-interval-ms <ms>', 'progress line interval (stderr)', integer(100), 5_000),
    env,
  ).action(
    action(io, async (topic: string, opts: PerfProduceOptions) => {
      const producer = createClient(opts, env).producer({
        compression: opts.compression,
        lingerMs: opts.lingerMs,
      });
      const payload = payloads(opts.recordSize, opts.payload);
      const latencies: number[] = [];
      let acked = 0;
      let ackedBytes = 0;
      let failure: unknown;
      let window = { at: performance.now(), records: 0, bytes: 0, latency: 0, max: 0 };
      const report = setInterval(() => {
        const seconds = (performance.now() - window.at) / 1000;
        if (window.records > 0) {
          io.stderr.write(
            `${window.records} records sent, ${(window.records / seconds).toFixed(1)} records/sec ` +
              `(${(window.bytes / MB / seconds).toFixed(2)} MB/sec), ${ms(window.latency / window.records)} ms avg latency, ` +
              `${ms(window.max)} ms max latency.\n`,
          );
        }
        window = { at: performance.now(), records: 0, bytes: 0, latency: 0, max: 0 };
      }, opts.reportingIntervalMs);
      const started = performance.now();
      const deadline = started + opts.maxSeconds * 1000;
      let outstanding = 0;
      let wakeSender: (() => void) | undefined;
      const maxOutstanding = Math.max(1_000, Math.floor((16 * MB) / opts.recordSize));
      let sent = 0;
      try {
        for (let i = 0; i < opts.records && failure === undefined; i++) {
          const now = performance.now();
          if (now >= deadline) break;
          if (opts.throughput > 0) {
            const due = started + (i * 1000) / opts.throughput;
            if (due - now > 2) await new Promise((r) => setTimeout(r, due - now));
          }
          while (outstanding >= maxOutstanding) {
            await new Promise<void>((r) => {
              wakeSender = r;
            });
          }
          const value = payload(i);
          const sentAt = performance.now();
          outstanding++;
          sent++;
          producer
            .send({ topic, messages: [{ value }] })
            .then(
              () => {
                const latency = performance.now() - sentAt;
                latencies.push(latency);
                acked++;
                ackedBytes += value.length;
                window.records++;
                window.bytes += value.length;
                window.latency += latency;
                window.max = Math.max(window.max, latency);
              },
              (err) => {
                failure ??= err;
              },
            )
            .finally(() => {
              outstanding--;
              wakeSender?.();
            });
          // Let acknowledgements run now and then, so latency is measured as they come.
          if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
        }
        await producer.flush();
      } finally {
        clearInterval(report);
        await producer.disconnect().catch(() => undefined);
      }
      if (failure !== undefined) throw failure;
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const avg = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
      io.stdout.write(
        `${acked} records sent, ${(acked / seconds).toFixed(1)} records/sec (${(ackedBytes / MB / seconds).toFixed(2)} MB/sec), ` +
          `${ms(avg)} ms avg latency, ${ms(latencies.at(-1) ?? 0)} ms max latency, ` +
          `${ms(percentile(latencies, 50))} ms 50th, ${ms(percentile(latencies, 95))} ms 95th, ` +
          `${ms(percentile(latencies, 99))} ms 99th, ${ms(percentile(latencies, 99.9))} ms 99.9th.\n`,
      );
      if (sent < opts.records)
        io.stderr.write(`stopped after --max-seconds ${opts.maxSeconds}: ${sent} of ${opts.records} sent\n`);
    }),
  );

  withEndpoint(
    perf
      .command('consume')
      .description(
        'Read a topic from the beginning until --records records (default: up to the high-water marks) or ' +
          '--max-seconds; print MB/s, records/s and fetch latency (p50, p99, p99.9)',
      )
      .argument('<topic>')
      .option('--records <n>', 'records to read (default: all there are now)', integer(1))
      .option('--max-seconds <s>', 'stop after this long', integer(1), 300)
      .option('-g, --group <group>', 'read as a member of this group (default: no group, all partitions)')
      .option('--reporting-interval-ms <ms>', 'progress line interval (stderr)', integer(100), 5_000),
    env,
  ).action(
    action(io, async (topic: string, opts: PerfConsumeOptions) => {
      const consumer = createClient(opts, env).consumer({
        ...(opts.group === undefined ? {} : { groupId: opts.group }),
        maxWaitMs: 500,
      });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const fetchLatencies: number[] = [];
      let records = 0;
      let bytes = 0;
      let end!: () => void;
      const done = new Promise<void>((resolve) => {
        end = resolve;
      });
      const reached = new Map<string, boolean>();
      const key = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;
      consumer.on('fetch', ({ durationMs, partitions }) => {
        fetchLatencies.push(durationMs);
        for (const p of partitions) reached.set(key(p), p.position >= p.highWatermark);
        const held = consumer.assignment();
        if (opts.records === undefined && held.length > 0 && held.every((tp) => reached.get(key(tp)))) end();
      });
      let crash: unknown;
      consumer.on('crash', ({ error }) => {
        crash = error;
        end();
      });
      const started = performance.now();
      const timer = setTimeout(end, opts.maxSeconds * 1000);
      const report = setInterval(() => {
        const seconds = (performance.now() - started) / 1000;
        io.stderr.write(
          `${records} records read, ${(records / seconds).toFixed(1)} records/sec (${(bytes / MB / seconds).toFixed(2)} MB/sec)\n`,
        );
      }, opts.reportingIntervalMs);
      try {
        await consumer.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
            records += batch.messages.length;
            if (opts.records !== undefined && records >= opts.records) end();
          },
        });
        await done;
      } finally {
        clearTimeout(timer);
        clearInterval(report);
        await consumer.disconnect();
      }
      if (crash !== undefined) throw crash;
      const seconds = (performance.now() - started) / 1000;
      fetchLatencies.sort((a, b) => a - b);
      io.stdout.write(
        `${records} records read, ${(bytes / MB).toFixed(2)} MB in ${seconds.toFixed(2)} s: ` +
          `${(records / seconds).toFixed(1)} records/sec (${(bytes / MB / seconds).toFixed(2)} MB/sec); ` +
          `${fetchLatencies.length} fetches, latency ${ms(percentile(fetchLatencies, 50))} ms 50th, ` +
          `${ms(percentile(fetchLatencies, 99))} ms 99th, ${ms(percentile(fetchLatencies, 99.9))} ms 99.9th.\n`,
      );
    }),
  );

  return perf;
}
