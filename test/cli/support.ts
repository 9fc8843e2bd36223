import { spawn } from 'node:child_process';
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
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
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
