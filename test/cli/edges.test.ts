/**
 * The rough edges a newcomer hits (issue 16), each through the real `bin/sluice.mjs` in a child process,
 * against one in-process stack for the file. A process costs about a second of CPU, so what only sets a
 * case up (creating topics, producing, reading state back) runs the same commands in this process
 * (`sluice` of ./support), and the cases run concurrently: each works on topics and groups of its own.
 */

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestStack, type TestStack, uniqueName } from '../api/support';
import { BIN, type CliResult, ROOT, runProcess, runSluice, sluice } from './support';

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
/** The same commands in this process: for setting a case up and reading its state back. */
const inProcess = (args: readonly string[], stdin?: string) =>
  sluice(args, { env, ...(stdin === undefined ? {} : { stdin }) });

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

describe.concurrent('CLI: consume --from <offset>', () => {
  it('refuses an offset past the high-water mark or before the log start, naming both bounds', async () => {
    const topic = uniqueName('t');
    ok(await inProcess(['topics', 'create', topic, '-p', '2']));
    ok(await inProcess(['produce', topic, '--partition', '0'], 'a\nb\nc\n'));

    const consume = (...args: string[]) => runSluice(['consume', topic, ...args], env);
    const [past, all, inside, atEnd] = await Promise.all([
      consume('--partition', '0', '--from', '999999'),
      consume('--from', '2'),
      consume('--partition', '0', '--from', '1'),
      consume('--partition', '0', '--from', '3'),
    ]);
    expect(past.code).toBe(1);
    expect(past.stdout).toBe('');
    expect(past.stderr).toBe(
      `error: --from 999999 is outside partition 0 of ${topic}: its log start offset is 0 and its high-water mark is 3, so --from must be from 0 to 3; or use --from earliest or --from latest\n`,
    );
    // Without --partition the offset applies to each partition: the empty one is named.
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/^error: --from 2 is outside partition 1 of .*: pick one with --partition\)/);

    expect(ok(inside).stdout).toBe('b\nc\n');
    expect(ok(atEnd).stdout).toBe('');
  });
});

describe.concurrent('CLI: produce', () => {
  it('on a terminal shows a > prompt per line and never redraws a progress line over the typing', async () => {
    const topic = uniqueName('t');
    ok(await inProcess(['topics', 'create', topic]));
    const r = await runProcess(
      '/usr/bin/python3',
      [
        join(ROOT, 'test/cli/fixtures/pty-run.py'),
        JSON.stringify(['first', 'second']),
        process.execPath,
        BIN,
        'produce',
        topic,
      ],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const screen = r.stdout;
    expect(screen).toMatch(/exit=0\n$/);
    expect(screen).toMatch(/^> first\r?\n> second\r?\n> /);
    expect(screen).not.toMatch(/MB sent/);
    expect(screen).toMatch(/2 records, [\d.]+ MB in/);
    // From a pipe: no prompt.
    const piped = ok(await runSluice(['produce', topic], env, 'third\n'));
    expect(piped.stderr).toMatch(/^1 record, [\d.]+ MB in [\d.]+ s/);
    expect(ok(await inProcess(['consume', topic])).stdout).toBe('first\nsecond\nthird\n');
  });

  it('sends a record over 1 MiB with --max-batch-bytes, and names the line of one too large', async () => {
    const topic = uniqueName('t');
    ok(await inProcess(['topics', 'create', topic]));
    const big = 'x'.repeat(1_500_000);
    const [refused, tooHigh] = await Promise.all([
      runSluice(['produce', topic], env, `small\n${big}\n`),
      runSluice(['produce', topic, '--max-batch-bytes', '5000000'], env, 'x\n'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: MESSAGE_TOO_LARGE: the record of line 2 must be ≤ 1048576 bytes \(--max-batch-bytes\), but is about \d+ bytes; raise --max-batch-bytes \(at most 4128768\)\n$/,
    );
    ok(await runSluice(['produce', topic, '--max-batch-bytes', '2000000'], env, `${big}\n`));
    const read = ok(await inProcess(['consume', topic, '--format', 'json']));
    expect(
      read.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).value.length),
    ).toContain(1_500_000);
    expect(tooHigh.stderr).toMatch(/must be from 1024 to 4128768, but 5000000 was provided/);
  });
});

describe.concurrent('Retention: keep forever and alter', () => {
  it('creates a keep-forever topic with --retention-ms -1 and alters retention with topics alter', async () => {
    const topic = uniqueName('t');
    // Refused before any request: they run alongside the rest.
    const refusals = Promise.all([
      runSluice(['topics', 'alter', topic, '--retention-ms', '0'], env),
      runSluice(['topics', 'alter', topic], env),
    ]);
    ok(await runSluice(['topics', 'create', topic, '--retention-ms', '-1'], env));
    // Read back over HTTP: fewer CLI processes, same answer (topics describe --json is this body).
    const described = async () => (await http(stack.url, 'GET', `/v1/topics/${topic}`)).json();
    expect(await described()).toMatchObject({ retentionMs: null, retentionBytes: null });

    const altered = ok(
      await runSluice(
        ['topics', 'alter', topic, '--retention-ms', '3600000', '--retention-bytes', '1000000'],
        env,
      ),
    );
    expect(altered.stdout).toBe(`Topic ${topic} now has retention 1h / 1000000 bytes.\n`);
    expect(await described()).toMatchObject({ retentionMs: 3_600_000, retentionBytes: 1_000_000 });
    ok(await runSluice(['topics', 'alter', topic, '--retention-bytes', '-1', '--partitions', '2'], env));
    expect(await described()).toMatchObject({
      retentionMs: 3_600_000,
      retentionBytes: null,
      partitionCount: 2,
    });
    ok(await runSluice(['topics', 'alter', topic, '--retention-ms', '-1'], env));
    expect(ok(await runSluice(['topics', 'list'], env)).stdout).toMatch(
      new RegExp(`^${topic}\\s+2\\s+forever$`, 'm'),
    );

    const [bad, nothing] = await refusals;
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /--retention-ms <ms>' argument '0' is invalid. must be a positive integer of ms, or -1 for no bound/,
    );
    expect(nothing.stderr).toBe(
      'error: give --partitions, --retention-ms or --retention-bytes (or several)\n',
    );
  });

  it('POST /v1/topics/{topic}/config: null or -1 for no bound, a field left out unchanged, bad input refused', async () => {
    const topic = uniqueName('t');
    expect(
      (
        await http(stack.url, 'POST', '/v1/topics', {
          body: { name: topic, partitions: 1, retentionMs: null },
        })
      ).json(),
    ).toMatchObject({ retentionMs: null });
    const set = await http(stack.url, 'POST', `/v1/topics/${topic}/config`, { body: { retentionMs: 1000 } });
    expect(set.status).toBe(200);
    expect(set.json()).toMatchObject({ name: topic, retentionMs: 1000, retentionBytes: null });
    const cases: [unknown, number, string][] = [
      [{}, 400, 'INVALID_CONFIG'],
      [{ retentionMs: 0 }, 400, 'INVALID_CONFIG'],
      [{ retentionMs: '1000' }, 400, 'INVALID_CONFIG'],
      [{ partitions: 3 }, 400, 'INVALID_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      const res = await http(stack.url, 'POST', `/v1/topics/${topic}/config`, { body: body as object });
      expect([res.status, res.json().error.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await http(stack.url, 'GET', `/v1/topics/${topic}`)).json()).toMatchObject({ retentionMs: 1000 });
    const missing = await http(stack.url, 'POST', `/v1/topics/${topic}-nope/config`, {
      body: { retentionMs: -1 },
    });
    expect([missing.status, missing.json().error.code]).toEqual([404, 'UNKNOWN_TOPIC_OR_PARTITION']);
  });
});

describe.concurrent('CLI: a closed stdout (`| head`)', () => {
  it('ends consume quietly with status 0, and the group member leaves at once', async () => {
    const topic = uniqueName('perf');
    const group = uniqueName('g');
    ok(await inProcess(['topics', 'create', topic]));
    const many = Array.from({ length: 5_000 }, (_, i) => `record ${i}`).join('\n');
    ok(await inProcess(['produce', topic], many));

    const r = await withClosingReader(['consume', topic, '--group', group, '--follow'], 2);
    expect(r.stdout).toBe('record 0\nrecord 1');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\d+ records?\n$/);

    const d = JSON.parse(ok(await inProcess(['groups', 'describe', group, '--json'])).stdout);
    expect(d.members).toEqual([]);
    expect(d.state).toBe('Empty');
  });

  it('ends topics describe and groups describe quietly with status 0', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    ok(await inProcess(['topics', 'create', topic, '-p', '8']));
    ok(await inProcess(['produce', topic], 'x\n'));
    ok(await inProcess(['consume', topic, '--group', group]));
    const commands = [
      ['topics', 'describe', topic],
      ['groups', 'describe', group],
      ['topics', 'list'],
    ];
    const results = await Promise.all(commands.map((args) => withClosingReader(args, 0)));
    commands.forEach((args, i) => {
      expect(results[i], args.join(' ')).toEqual({ code: 0, stdout: '', stderr: '' });
    });
  });
});

describe.concurrent('Smaller edges', () => {
  it('tells a wrong token from a missing one', async () => {
    const guarded = await startTestStack({ token: 's3cret' });
    try {
      const missing = await http(guarded.url, 'GET', '/v1/topics');
      const wrong = await http(guarded.url, 'GET', '/v1/topics', {
        headers: { authorization: 'Bearer nope' },
      });
      const right = await http(guarded.url, 'GET', '/v1/topics', {
        headers: { authorization: 'Bearer s3cret' },
      });
      expect([missing.status, wrong.status, right.status]).toEqual([401, 401, 200]);
      expect(missing.json().error.message).toMatch(/no Authorization header/);
      expect(wrong.json().error.message).toMatch(/the bearer token is wrong/);
      const cli = await runSluice(['topics', 'list'], { SLUICE_ENDPOINT: guarded.url, SLUICE_TOKEN: 'nope' });
      expect(cli.stderr).toMatch(/^error: UNAUTHORIZED: the bearer token is wrong/);
    } finally {
      await guarded.stop();
    }
  });

  it('groups reset-offsets refuses an unknown group unless --create, and --dry-run changes nothing', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    ok(await inProcess(['topics', 'create', topic]));
    ok(await inProcess(['produce', topic], 'a\nb\nc\n'));
    // Neither creates the group: they run side by side, and the group list is checked after both.
    const [typo, dry] = await Promise.all([
      runSluice(['groups', 'reset-offsets', group, '--topic', topic, '--to', 'earliest'], env),
      runSluice(
        ['groups', 'reset-offsets', group, '--topic', topic, '--to', '2', '--create', '--dry-run'],
        env,
      ),
    ]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(
      new RegExp(`^error: GROUP_ID_NOT_FOUND: group ${group} does not exist .*pass --create`),
    );
    expect(ok(await inProcess(['groups', 'list'])).stdout).not.toContain(group);

    ok(dry);
    expect(dry.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+2$`, 'm'));
    expect(dry.stderr).toBe('Dry run: nothing was changed.\n');
    expect(ok(await inProcess(['groups', 'list'])).stdout).not.toContain(group);

    ok(await runSluice(['groups', 'reset-offsets', group, '--topic', topic, '--to', '2', '--create'], env));
    expect(ok(await inProcess(['consume', topic, '--group', group])).stdout).toBe('c\n');
  });

  it('prints a null value as nothing (or --null-literal), and -f is only consume’s --follow', async () => {
    const topic = uniqueName('t');
    ok(await inProcess(['topics', 'create', topic]));
    await http(stack.url, 'POST', `/v1/topics/${topic}/records`, {
      body: { records: [{ key: 'k', value: null }] },
    });
    const [withKey, literal, f] = await Promise.all([
      runSluice(['consume', topic, '--print-key'], env),
      runSluice(['consume', topic, '--null-literal', 'NULL'], env),
      runSluice(['produce', topic, '-f', 'x.txt'], env),
    ]);
    expect(ok(withKey).stdout).toBe('k\t\n');
    expect(ok(literal).stdout).toBe('NULL\n');
    expect(f.code).toBe(1);
    expect(f.stderr).toBe("error: unknown option '-f'\n");
  });
});

describe.concurrent('CLI: groups describe', () => {
  it('counts the lag of a partition the group never committed from its log start, past retention', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    // Size retention of 1 byte keeps only the newest batch: three batches, and the log starts at 2.
    ok(await inProcess(['topics', 'create', topic, '--retention-bytes', '1']));
    for (const value of ['a', 'b', 'c']) {
      await http(stack.url, 'POST', `/v1/topics/${topic}/records`, { body: { records: [{ value }] } });
    }
    ok(await inProcess(['admin', 'cleanup']));
    const trimmed = (await http(stack.url, 'GET', `/v1/topics/${topic}`)).json().partitions[0];
    expect(trimmed).toMatchObject({ logStartOffset: 2, highWatermark: 3 });
    // A member that has committed nothing.
    const joined = await http(stack.url, 'POST', `/v1/groups/${group}/members`, {
      body: { topics: [topic] },
    });
    const memberId = joined.json().memberId;

    const d = ok(await runSluice(['groups', 'describe', group], env)).stdout;
    expect(d).toMatch(/ {2}Total lag: 1\n/);
    expect(d).toMatch(new RegExp(`^${topic}\\s+0\\s+-\\s+3\\s+1\\s+${memberId}$`, 'm'));
  });

  it('shows no offsets of a deleted topic, and none of them apply to a topic created again under its name', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    ok(await inProcess(['topics', 'create', topic]));
    ok(await inProcess(['produce', topic], 'a\nb\nc\n'));
    expect(ok(await inProcess(['consume', topic, '--group', group])).stdout).toBe('a\nb\nc\n');
    const committed = JSON.parse(ok(await inProcess(['groups', 'describe', group, '--json'])).stdout);
    expect(committed.offsets).toMatchObject([{ topic, partition: 0, committedOffset: 3 }]);

    ok(await inProcess(['topics', 'delete', topic]));
    const afterDelete = ok(await runSluice(['groups', 'describe', group], env)).stdout;
    expect(afterDelete).toMatch(/ {2}Total lag: 0\n/);
    expect(afterDelete).not.toContain(topic);

    // The new topic has offset 3 too: the old commit would skip its first three records.
    ok(await inProcess(['topics', 'create', topic]));
    ok(await inProcess(['produce', topic], '1\n2\n3\n4\n5\n'));
    const described = JSON.parse(ok(await runSluice(['groups', 'describe', group, '--json'], env)).stdout);
    expect(described.offsets).toEqual([]);
    expect(described.totalLag).toBe(0);
    expect(ok(await runSluice(['consume', topic, '--group', group], env)).stdout).toBe('1\n2\n3\n4\n5\n');
  });
});
