/**
 * The rough edges a newcomer hits (issue 16), each through the real `bin/sluice.mjs` in a child process,
 * against one in-process stack for the file.
 */

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack, uniqueName } from '../api/support';
import { BIN, type CliResult, ROOT, runSluice } from './support';

let stack: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startTestStack();
  env = { SLUICE_ENDPOINT: stack.url };
}, 30_000);

afterAll(async () => {
  await stack?.stop();
});

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};

/**
 * Runs the CLI with stdout read by a reader that goes away: at once (`| true`), or after `lines` lines
 * (`| head -n`). Resolves with the exit code, stderr and what the reader got.
 */
function withClosingReader(args: readonly string[], lines: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    if (lines === 0) child.stdout.destroy();
    else {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.split('\n').length > lines) {
          out = out.split('\n').slice(0, lines).join('\n');
          child.stdout.destroy();
        }
      });
    }
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
  });
}

describe('CLI: consume --from <offset>', () => {
  it('refuses an offset past the high-water mark or before the log start, naming both bounds', async () => {
    const topic = uniqueName('t');
    ok(await runSluice(['topics', 'create', topic, '-p', '2'], env));
    ok(await runSluice(['produce', topic, '--partition', '0'], env, 'a\nb\nc\n'));

    const past = await runSluice(['consume', topic, '--partition', '0', '--from', '999999'], env);
    expect(past.code).toBe(1);
    expect(past.stdout).toBe('');
    expect(past.stderr).toBe(
      `error: --from 999999 is outside partition 0 of ${topic}: its log start offset is 0 and its high-water mark is 3, so --from must be from 0 to 3; or use --from earliest or --from latest\n`,
    );
    // Without --partition the offset applies to each partition: the empty one is named.
    const all = await runSluice(['consume', topic, '--from', '2'], env);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/^error: --from 2 is outside partition 1 of .*: pick one with --partition\)/);

    const inside = ok(await runSluice(['consume', topic, '--partition', '0', '--from', '1'], env));
    expect(inside.stdout).toBe('b\nc\n');
    const atEnd = ok(await runSluice(['consume', topic, '--partition', '0', '--from', '3'], env));
    expect(atEnd.stdout).toBe('');
  });
});

describe('CLI: a closed stdout (`| head`)', () => {
  it('ends consume quietly with status 0, and the group member leaves at once', async () => {
    const topic = uniqueName('perf');
    const group = uniqueName('g');
    ok(await runSluice(['topics', 'create', topic], env));
    const many = Array.from({ length: 5_000 }, (_, i) => `record ${i}`).join('\n');
    ok(await runSluice(['produce', topic], env, many));

    const r = await withClosingReader(['consume', topic, '--group', group, '--follow'], 2);
    expect(r.stdout).toBe('record 0\nrecord 1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\d+ records?\n$/);

    const d = JSON.parse(ok(await runSluice(['groups', 'describe', group, '--json'], env)).stdout);
    expect(d.members).toEqual([]);
    expect(d.state).toBe('Empty');
  });

  it('ends topics describe and groups describe quietly with status 0', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    ok(await runSluice(['topics', 'create', topic, '-p', '8'], env));
    ok(await runSluice(['produce', topic], env, 'x\n'));
    ok(await runSluice(['consume', topic, '--group', group], env));
    for (const args of [
      ['topics', 'describe', topic],
      ['groups', 'describe', group],
      ['topics', 'list'],
    ]) {
      const r = await withClosingReader(args, 0);
      expect(r, args.join(' ')).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });
});
