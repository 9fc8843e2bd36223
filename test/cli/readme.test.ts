/**
 * The README's walkthroughs, run as written and in README order against one fresh `npm start`: the
 * curl session of the quick start (and its restart), the SDK's producing, consuming and administration
 * examples, then the CLI walkthrough. Each must work after the ones before it, on the same stack.
 */

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, type Running, run, runProcess } from './support';

let dir: string;
let readme: string;
let server: Running;
let url: string;

function startServer(): Promise<string> {
  server = run('npm', ['start', '--', '--quiet'], {
    env: { SLUICE_PORT: '0', SLUICE_DATA_DIR: join(dir, 'data') },
  });
  return server.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)/).then((m) => m[1]!);
}

async function stopServer(): Promise<void> {
  server.child.kill('SIGINT');
  expect((await server.exited).code).toBe(0);
}

/** The text of README.md between two headings. */
function section(from: string, to: string): string {
  const start = readme.indexOf(from);
  const end = readme.indexOf(to, start);
  expect(start, from).toBeGreaterThanOrEqual(0);
  expect(end, to).toBeGreaterThan(start);
  return readme.slice(start, end);
}

function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
}

/** Values that differ from run to run: ids and times. */
function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        ['topicId', 'createdAt', 'timestamp'].includes(k) ? typeof v : mask(v),
      ]),
    );
  }
  return value;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-readme-'));
  readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  url = await startServer();
}, 60_000);

afterAll(async () => {
  server?.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('README walkthroughs, in order, on one fresh stack', () => {
  it('1. the quick start’s curl session gives the answers shown, and again after a restart', async () => {
    const [session] = blocks(section('## Quick start', '## The client SDK'), 'sh').filter((b) =>
      b.startsWith('$ curl'),
    );
    // `$ command` (with `\` continuations), then its answer up to a blank line.
    const steps: { command: string; expected: string }[] = [];
    for (const chunk of session!.trim().split(/\n\n/)) {
      const lines = chunk.split('\n');
      let i = 0;
      let command = lines[i]!.slice(2);
      while (command.endsWith('\\')) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
      steps.push({ command, expected: lines.slice(i + 1).join('') });
    }
    expect(steps).toHaveLength(3);
    const curl = (command: string) =>
      JSON.parse(
        execFileSync('sh', ['-c', command.replaceAll('localhost:8092', new URL(url).host)], {
          encoding: 'utf8',
        }),
      );
    let answer: unknown;
    for (const { command, expected } of steps) {
      answer = curl(command);
      expect(mask(answer), command).toEqual(mask(JSON.parse(expected)));
    }
    // "Stop it with Ctrl-C, run npm start again, and the same GET returns the same records."
    await stopServer();
    url = await startServer();
    expect(curl(steps.at(-1)!.command)).toEqual(answer);
  }, 60_000);

  it('2. the SDK examples (producing, consuming, administration) run as one program', async () => {
    const sdk = blocks(section('## The client SDK', '## The `sluice` command line'), 'ts');
    expect(sdk).toHaveLength(4);
    const client = join(ROOT, 'client/index.ts');
    // The changes: this stack's URL for the default one, and "… until your service shuts down" waits
    // for the record the example produced.
    const program = [
      'const printed = [];',
      'const log = console.log;',
      "console.log = (...args) => { printed.push(args.join(' ')); log(...args); };",
      ...sdk,
    ]
      .join('\n')
      .replace("from 'sluice/client'", `from ${JSON.stringify(client)}`)
      .replace("endpoint: 'http://127.0.0.1:8092'", `endpoint: ${JSON.stringify(url)}`)
      .replace(
        /^\/\/ … until your service shuts down, then:$/m,
        "while (!printed.some((l) => l.includes('alice'))) await new Promise((r) => setTimeout(r, 50));",
      );
    expect(program).toContain('while (!printed');
    const file = join(dir, 'sdk-walkthrough.mts');
    await writeFile(file, program);
    const r = await runProcess(process.execPath, ['--import', 'tsx', file], {});
    expect(r.code, r.stderr).toBe(0);
    const [produced, consumed] = r.stdout.trim().split('\n');
    const [partition, offset] = produced!.split(' ');
    expect(offset).toBe('0');
    expect(consumed).toBe(`${partition} 0 alice {"item":"book"}`);
  }, 60_000);

  it('3. the CLI walkthrough prints what the README shows, with lag 0 at the end', async () => {
    const steps: { command: string; expected: string[] }[] = [];
    for (const block of blocks(section('### Walkthrough', '### Commands'), 'sh')) {
      for (const line of block.split('\n')) {
        if (line.startsWith('# ')) steps.at(-1)?.expected.push(line.slice(2));
        else if (line.trim() !== '') steps.push({ command: line, expected: [] });
      }
    }
    expect(steps.map((s) => s.command.split(' ')[0])).toEqual(['npm', 'npx', 'printf', 'npx', 'npx']);
    for (const { command, expected } of steps.slice(1)) {
      const r = await runProcess(
        'sh',
        ['-c', command.replaceAll('npx sluice', `"${process.execPath}" "${BIN}"`)],
        {
          SLUICE_ENDPOINT: url,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const printed = (r.stdout + r.stderr).split('\n').filter((l) => l !== '');
      // Times and rates vary; everything else must read as the document shows.
      const times = (l: string) => l.replace(/[0-9.]+ s \([0-9.]+ MB\/s\)/, 'T s (R MB/s)');
      expect(printed.map(times).sort(), command).toEqual(expected.map(times).sort());
    }
    // Nothing was left behind in the repository.
    expect(
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    ).not.toMatch(/orders\.txt/);
    await stopServer();
  }, 60_000);
});
