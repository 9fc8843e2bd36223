/** `sluice produce <topic>`: one record per line from stdin or a file, as kafka-console-producer.sh. */

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { type Message, PRODUCER_DEFAULTS, SluiceError } from '../../client';
import { LOG_LIMITS } from '../../shared/model';
import {
  action,
  type CliContext,
  CliError,
  type ConnectionOptions,
  choice,
  collect,
  createClient,
  formatMb,
  integer,
  parseHeaders,
  withEndpoint,
} from './common';

/** Lines sent per `send` call, and sends awaited at most at once (the producer batches across them). */
const CHUNK = 1_000;
const MAX_PENDING_CHUNKS = 32;
/** The largest batch a request carries: the produce body limit less room for framing (the producer's bound). */
export const MAX_BATCH_BYTES = LOG_LIMITS.maxProduceBytes - 64 * 1024;

interface ProduceOptions extends ConnectionOptions {
  file?: string;
  keySeparator?: string;
  partition?: number;
  header?: string[];
  compression: 'lz4' | 'gzip' | 'none';
  lingerMs: number;
  maxBatchBytes: number;
}

/** The producer names a message by its index in a send (`messages[3]`); the CLI names its line. */
function byLine(err: unknown, lines: readonly number[]): unknown {
  if (!(err instanceof SluiceError)) return err;
  const match = /^messages\[(\d+)\](?:\.\w+)?\s*/.exec(err.message);
  const line = match ? lines[Number(match[1])] : undefined;
  if (match === null || line === undefined) return err;
  let rest = err.message.slice(match[0].length).replace('(maxBatchBytes)', '(--max-batch-bytes)');
  if (err.code === 'MESSAGE_TOO_LARGE') rest += `; raise --max-batch-bytes (at most ${MAX_BATCH_BYTES})`;
  return new CliError(`error: ${err.code}: the record of line ${line} ${rest}`);
}

export function produceCommand({ env, io }: CliContext): Command {
  return withEndpoint(
    new Command('produce')
      .description(
        'Send one record per line of stdin (or --file). Blank lines are skipped. Prints a summary line to stderr, and a progress line while it runs on a terminal.',
      )
      .argument('<topic>')
      .option('--file <path>', 'read lines from this file instead of stdin')
      .option('-k, --key-separator <sep>', 'split each line at the first <sep> into key and value')
      .option(
        '-p, --partition <n>',
        'send every record to this partition (default: by key, sticky without)',
        integer(0),
      )
      .option('-H, --header <key=value>', 'add a header to every record (repeatable)', collect)
      .option('--compression <codec>', 'lz4, gzip or none', choice(['lz4', 'gzip', 'none'] as const), 'lz4')
      .option('--linger-ms <ms>', 'how long records wait for more before a request', integer(0), 5)
      .option(
        '--max-batch-bytes <bytes>',
        `the largest batch, and so the largest record (key + value + headers), up to ${MAX_BATCH_BYTES}`,
        integer(1024, MAX_BATCH_BYTES),
        PRODUCER_DEFAULTS.maxBatchBytes,
      ),
    env,
  ).action(
    action(io, async (topic: string, opts: ProduceOptions) => {
      const headers = parseHeaders(opts.header);
      const hasHeaders = Object.keys(headers).length > 0;
      const producer = createClient(opts, env).producer({
        compression: opts.compression,
        lingerMs: opts.lingerMs,
        maxBatchBytes: opts.maxBatchBytes,
      });
      const input = opts.file === undefined ? io.stdin : createReadStream(opts.file);
      const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      const started = performance.now();
      let records = 0;
      let bytes = 0;
      let lineNo = 0;
      let failure: unknown;
      const pending = new Set<Promise<unknown>>();
      // Typing on a terminal: a `>` prompt per line, and no progress line redrawn over what is typed.
      const interactive = opts.file === undefined && (io.stdin as { isTTY?: boolean }).isTTY === true;
      const prompt = () => {
        if (interactive) io.stderr.write('> ');
      };
      prompt();
      const progress =
        io.stderr.isTTY && !interactive
          ? setInterval(() => io.stderr.write(`\r${records} records, ${formatMb(bytes)} MB sent…`), 200)
          : undefined;
      const send = (messages: Message[], lineNumbers: number[]) => {
        const p = producer.send({ topic, messages }).then(
          (meta) => {
            records += meta.length;
            for (const m of messages) {
              bytes += (m.value as Buffer).length + ((m.key as Buffer | null)?.length ?? 0);
            }
          },
          (err) => {
            failure ??= byLine(err, lineNumbers);
          },
        );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      };
      try {
        let chunk: Message[] = [];
        let chunkLines: number[] = [];
        for await (const line of lines) {
          lineNo++;
          prompt();
          if (failure !== undefined) break;
          if (line.trim() === '') continue;
          let key: Buffer | null = null;
          let value = line;
          if (opts.keySeparator !== undefined) {
            const at = line.indexOf(opts.keySeparator);
            if (at < 0) {
              throw new CliError(
                `error: line ${lineNo} has no key separator ${JSON.stringify(opts.keySeparator)}`,
              );
            }
            key = Buffer.from(line.slice(0, at));
            value = line.slice(at + opts.keySeparator.length);
          }
          chunkLines.push(lineNo);
          chunk.push({
            key,
            value: Buffer.from(value),
            ...(opts.partition === undefined ? {} : { partition: opts.partition }),
            ...(hasHeaders ? { headers } : {}),
          });
          if (chunk.length >= CHUNK) {
            send(chunk, chunkLines);
            chunk = [];
            chunkLines = [];
            while (pending.size >= MAX_PENDING_CHUNKS) await Promise.race(pending);
          }
        }
        if (chunk.length > 0) send(chunk, chunkLines);
        await Promise.all(pending);
        await producer.disconnect();
      } finally {
        lines.close();
        await producer.disconnect().catch(() => undefined);
        if (progress) {
          clearInterval(progress);
          io.stderr.write('\r\x1b[K');
        } else if (interactive) {
          io.stderr.write('\n');
        }
      }
      if (failure !== undefined) throw failure;
      const seconds = (performance.now() - started) / 1000;
      io.stderr.write(
        `${records} record${records === 1 ? '' : 's'}, ${formatMb(bytes)} MB in ${seconds.toFixed(2)} s (${formatMb(bytes / Math.max(seconds, 1e-3))} MB/s)\n`,
      );
    }),
  );
}
