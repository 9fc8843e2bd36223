import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { registerCommands } from '../../cli/commands';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function configure(command: Command, out: string[], err: string[]): void {
  command.exitOverride().configureOutput({
    writeOut: (s) => out.push(s),
    writeErr: (s) => err.push(s),
  });
  for (const sub of command.commands) configure(sub, out, err);
}

/**
 * Runs the client commands in this process, as `sluice <args>` would, with captured streams: an error
 * is the line main() prints and exit code 1, as for the real binary.
 */
export async function sluice(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  let failed = false;
  const program = new Command('sluice');
  registerCommands(program, options.env ?? {}, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s), isTTY: false },
    stdin: Readable.from([options.stdin ?? '']),
    onInterrupt: () => () => undefined,
    onOutputClosed: () => () => undefined,
    fail: (line: string) => {
      err.push(`${line}\n`);
      failed = true;
    },
  });
  configure(program, out, err);
  let code = 0;
  try {
    await program.parseAsync(['node', 'sluice', ...args]);
    if (failed) code = 1;
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode;
    else {
      err.push(`${(e as Error).message}\n`);
      code = 1;
    }
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Runs the real `sluice` entry point in a child process (slower: use for what only a process shows). */
export function spawnSluice(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SLUICE_KAFKA_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

export const ROOT = new URL('../..', import.meta.url).pathname;
/** The real `sluice` executable, as `npx sluice` runs it from the clone. */
export const BIN = join(ROOT, 'bin/sluice.mjs');

/** A long-running child process whose output the test reads as it comes. */
export interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Running {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SLUICE_KAFKA_PORT: '0', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer) => {
    text += c.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      for (const l of listeners) l();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) {
            finish();
            resolve(match);
          } else if (done) {
            finish();
            reject(new Error(`exited before ${pattern}: ${text}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${pattern} after ${timeoutMs} ms: ${text}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs `bin/sluice.mjs <args>` to the end. */
export function runSluice(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], env, stdin);
}

/** Runs a command to the end, with `stdin` as its input. */
export function runProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SLUICE_KAFKA_PORT: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.stdin.end(stdin ?? '');
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

/** Whether a process with this pid exists: the lock's own check. */
export { alive } from '../../shared/local/lock';

/** Polls until `check` holds, for at most `timeoutMs` (a bound, not a timing assertion). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}
