/**
 * What every client command shares: the endpoint option, the client, argument parsers that state the
 * value they refused, output streams (injectable for tests), and errors turned into one clear line.
 */

import { type Command, InvalidArgumentError } from 'commander';
import { type Admin, Sluice, type SluiceConfig } from '../../client';
import { isSluiceError } from '../../shared/errors';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8092';

/** Where a command reads and writes; the process's own streams unless a test gives others. */
export interface CliIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  /** Register a handler for Ctrl-C; returns a function that removes it. */
  readonly onInterrupt: (handler: () => void) => () => void;
  /** Reports a failed command: one line on stderr, exit code 1. */
  readonly fail: (line: string) => void;
  /**
   * Register a handler for stdout closed by its reader (`… | head -2`: EPIPE); returns a function that
   * removes it. A closed stdout ends a command quietly, with exit code 0, as for Unix tools.
   */
  readonly onOutputClosed: (handler: () => void) => () => void;
}

let outputClosed = false;
const outputClosedHandlers = new Set<() => void>();

/**
 * Once per process: EPIPE on stdout means the reader is gone (`| head`), which ends the command rather
 * than crashing it with an unhandled 'error' event. Any other stdout error is reported in one line.
 */
let watching = false;
function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      if (outputClosed) return;
      outputClosed = true;
      for (const handler of outputClosedHandlers) handler();
      return;
    }
    process.stderr.write(`error: cannot write to stdout: ${err.message}\n`);
    process.exit(1);
  });
}

export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly io: CliIo;
}

export function processIo(): CliIo {
  watchStdout();
  return {
    onOutputClosed(handler) {
      if (outputClosed) queueMicrotask(handler);
      outputClosedHandlers.add(handler);
      return () => outputClosedHandlers.delete(handler);
    },
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    fail(line) {
      process.stderr.write(`${line}\n`);
      // Not process.exit(): stdout may still be draining into a pipe.
      process.exitCode = 1;
    },
    onInterrupt(handler) {
      process.once('SIGINT', handler);
      process.once('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

/** An error already phrased for the terminal: its message is the line to print. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface ConnectionOptions {
  readonly endpoint: string;
}

/** Adds `--endpoint` (env SLUICE_ENDPOINT, default http://127.0.0.1:8092). */
export function withEndpoint(command: Command, env: NodeJS.ProcessEnv): Command {
  return command.option(
    '-e, --endpoint <url>',
    'Sluice API base URL (env SLUICE_ENDPOINT)',
    env.SLUICE_ENDPOINT || DEFAULT_ENDPOINT,
  );
}

/**
 * The client for a command. Retries stay short on a terminal: a stack that is not running should say so
 * in seconds, not after a minute of backoff.
 */
export function createClient(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv,
  extra: Pick<SluiceConfig, 'onRetry'> = {},
): Sluice {
  return new Sluice(
    { endpoint: options.endpoint, retry: { retries: 3, maxElapsedMs: 5_000 }, ...extra },
    env,
  );
}

/**
 * A subcommand that is admin calls and their output: `topics create <topic>`, `groups describe <group>`,
 * `topics list`. O is the type of its options (--endpoint and --json aside).
 */
export interface AdminCommandSpec<T, O extends object = object> {
  readonly name: string;
  readonly description: string;
  /** Its one positional argument, e.g. `<topic>`, and what `--help` says of it. @default none */
  readonly argument?: string;
  readonly argumentDescription?: string;
  /** Adds the command's own options. */
  readonly options?: (command: Command) => void;
  /** Adds --json, which prints what `run` answered instead of `text`. @default false */
  readonly json?: boolean;
  /** The calls; `name` is the argument's value ('' without one). */
  readonly run: (admin: Admin, name: string, opts: O) => Promise<T>;
  /** What it prints (without --json). */
  readonly text: (value: T, name: string, opts: O) => string;
}

/**
 * Adds a subcommand with --endpoint (and --json if asked) whose calls run on an admin client of their
 * own, disconnected before anything is printed.
 */
export function addAdminCommand<T, O extends object>(
  parent: Command,
  { env, io }: CliContext,
  spec: AdminCommandSpec<T, O>,
): void {
  const command = parent.command(spec.name).description(spec.description);
  if (spec.argument !== undefined) command.argument(spec.argument, spec.argumentDescription);
  spec.options?.(command);
  if (spec.json) command.option('--json', 'print JSON', false);
  withEndpoint(command, env).action(
    // commander calls it with the argument (if any), then the options, then the command.
    action(io, async (...args: unknown[]) => {
      const name = spec.argument === undefined ? '' : (args[0] as string);
      const opts = args[spec.argument === undefined ? 0 : 1] as O & ConnectionOptions & { json?: boolean };
      const admin = createClient(opts, env).admin();
      let value: T;
      try {
        value = await spec.run(admin, name, opts);
      } finally {
        await admin.disconnect();
      }
      io.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : spec.text(value, name, opts));
    }),
  );
}

/** `sluice topics delete <topic>`, `sluice groups delete <group>`: one call, then `Deleted <kind> <name>.` */
export function addDeleteCommand(
  parent: Command,
  context: CliContext,
  spec: { kind: string; description: string; run: (admin: Admin, name: string) => Promise<void> },
): void {
  addAdminCommand(parent, context, {
    name: 'delete',
    description: spec.description,
    argument: `<${spec.kind}>`,
    run: spec.run,
    text: (_, name) => `Deleted ${spec.kind} ${name}.\n`,
  });
}

/** Per partition, the first offset at or after `timestamp` (Kafka's ListOffsets by time). */
export async function offsetsAtTime(
  admin: Admin,
  topic: string,
  timestamp: number,
): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
  return new Map(offsets.map((o) => [o.partition, o.offset]));
}

/** One line for an error: the server's code and message, or what went wrong on the way. */
export function describeError(err: unknown, endpoint?: string): string {
  if (isSluiceError(err)) {
    const network = err.details.network;
    if (typeof network === 'string' && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(network)) {
      const where = endpoint ?? 'the endpoint';
      return `cannot connect to ${where} (${network}): is Sluice running there? Start it with \`npm start\`, or pass --endpoint / set SLUICE_ENDPOINT`;
    }
    return `${err.code}: ${err.message}`.replace(/\s*\n\s*/g, ' ');
  }
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, ' ');
  return String(err);
}

/**
 * Wraps an action: any error becomes one line on stderr, `error: …`, and exit code 1 — whichever entry
 * point runs the program (cli/main.ts or bin/sluice.mjs).
 */
export function action<A extends unknown[]>(
  io: CliIo,
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CliError) {
        io.fail(err.message);
        return;
      }
      const opts = args.find(
        (a): a is { endpoint: string } =>
          typeof a === 'object' && a !== null && typeof (a as { endpoint?: unknown }).endpoint === 'string',
      );
      io.fail(`error: ${describeError(err, opts?.endpoint)}`);
    }
  };
}

// ---- argument parsers (commander calls them; their errors name the value received) ---------------

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`must be an integer, but "${value}" was provided`);
    }
    const n = Number(value);
    if (n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `must be ≥ ${min}, but ${n} was provided`
          : `must be from ${min} to ${max}, but ${n} was provided`,
      );
    }
    return n;
  };
}

export function choice<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`must be one of ${values.join(', ')}, but "${value}" was provided`);
    }
    return value as T;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `k=v` headers, repeatable. */
export function parseHeaders(items: readonly string[] | undefined): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`error: --header must be key=value, but "${item}" was provided`);
    const key = item.slice(0, eq);
    const values = headers[key] ?? [];
    values.push(item.slice(eq + 1));
    headers[key] = values;
  }
  return headers;
}

// ---- output helpers -------------------------------------------------------------------------------

/** A plain text table: a header row, then aligned columns. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export const MB = 1024 * 1024;

export function formatMb(bytes: number): string {
  return (bytes / MB).toFixed(bytes < 10 * MB ? 2 : 1);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
