import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../cli/commands';
import { createProgram } from '../../cli/main';
import { startTestStack, type TestStack, uniqueName } from '../api/support';
import { type CliResult, sluice, spawnSluice } from './support';

let stack: TestStack;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startTestStack();
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  env = { SLUICE_ENDPOINT: stack.url };
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

describe('CLI: topics', () => {
  it('lists, describes, grows and deletes topics', async () => {
    const topic = uniqueName('t');
    ok(
      await sluice(['topics', 'create', topic, '-p', '2', '--retention-ms', String(3 * 3_600_000)], { env }),
    );
    expect(ok(await sluice(['topics', 'list'], { env })).stdout).toMatch(
      new RegExp(`^${topic}\\s+2\\s+3h$`, 'm'),
    );
    ok(await sluice(['topics', 'alter', topic, '--partitions', '4'], { env }));
    const described = ok(await sluice(['topics', 'describe', topic], { env })).stdout;
    expect(described).toMatch(new RegExp(`^Topic: ${topic} {2}Partitions: 4 {2}Retention: 3h`));
    expect(lines(described)).toHaveLength(2 + 4);
    const json = JSON.parse(ok(await sluice(['topics', 'describe', topic, '--json'], { env })).stdout);
    expect(json.partitions).toHaveLength(4);
    ok(await sluice(['topics', 'delete', topic], { env }));
    const missing = await sluice(['topics', 'describe', topic], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: .*\n$/);
  });
});

describe('CLI: produce and consume', () => {
  it('reads stdin with headers and a fixed partition, and prints offsets, timestamps and JSON', async () => {
    const topic = uniqueName('t');
    ok(await sluice(['topics', 'create', topic, '-p', '2'], { env }));
    const before = Date.now();
    ok(
      await sluice(['produce', topic, '--partition', '1', '-H', 'source=cli', '-H', 'v=1'], {
        env,
        stdin: 'first\n\nsecond\nthird\n',
      }),
    );

    const text = ok(
      await sluice(['consume', topic, '--print-partition', '--print-offset', '--print-timestamp'], { env }),
    );
    const rows = lines(text.stdout).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[1], r[3]])).toEqual([
      ['1', '0', 'first'],
      ['1', '1', 'second'],
      ['1', '2', 'third'],
    ]);
    expect(Date.parse(rows[0]![2]!)).toBeGreaterThanOrEqual(before - 1000);

    const json = ok(
      await sluice(
        ['consume', topic, '--format', 'json', '--partition', '1', '--from', '1', '--max-records', '1'],
        { env },
      ),
    );
    expect(lines(json.stdout).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        topic,
        partition: 1,
        offset: 1,
        key: null,
        value: 'second',
        headers: { source: 'cli', v: '1' },
      }),
    ]);

    const later = ok(
      await sluice(['consume', topic, '--from', new Date(Date.now() + 60_000).toISOString()], { env }),
    );
    expect(later.stdout).toBe('');
  });

  it('follows until --timeout-ms passes without a record, and refuses a line without its key separator', async () => {
    const topic = uniqueName('t');
    ok(await sluice(['topics', 'create', topic], { env }));
    const started = Date.now();
    const followed = ok(await sluice(['consume', topic, '--follow', '--timeout-ms', '300'], { env }));
    expect(followed.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(10_000);

    const bad = await sluice(['produce', topic, '--key-separator', ':'], {
      env,
      stdin: 'a:1\nno separator\n',
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: line 2 has no key separator ":"\n');
  });
});

describe('CLI: groups', () => {
  it('lists, resets offsets (then consumes from there) and deletes a group', async () => {
    const topic = uniqueName('t');
    const group = uniqueName('g');
    ok(await sluice(['topics', 'create', topic], { env }));
    ok(await sluice(['produce', topic], { env, stdin: 'a\nb\nc\nd\n' }));
    ok(await sluice(['consume', topic, '--group', group], { env }));
    expect(ok(await sluice(['groups', 'list'], { env })).stdout).toMatch(
      new RegExp(`^${group}\\s+Empty\\s+\\d+\\s+0$`, 'm'),
    );

    const reset = ok(
      await sluice(['groups', 'reset-offsets', group, '--topic', topic, '--to', '2'], { env }),
    );
    expect(reset.stdout).toMatch(new RegExp(`^${topic}\\s+0\\s+2$`, 'm'));
    const again = ok(await sluice(['consume', topic, '--group', group], { env }));
    expect(lines(again.stdout)).toEqual(['c', 'd']);

    const badTo = await sluice(['groups', 'reset-offsets', group, '--topic', topic, '--to', 'yesterday'], {
      env,
    });
    expect(badTo.code).toBe(1);
    expect(badTo.stderr).toMatch(/^error: --to must be earliest, latest, an offset or an ISO-8601 time/);

    ok(await sluice(['groups', 'delete', group], { env }));
    const gone = await sluice(['groups', 'describe', group], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: GROUP_ID_NOT_FOUND: /);
  });
});

describe('CLI: perf and admin', () => {
  it('measures producing and consuming', async () => {
    const topic = uniqueName('t');
    ok(await sluice(['topics', 'create', topic, '-p', '2'], { env }));
    const produced = ok(
      await sluice(
        ['perf', 'produce', topic, '--records', '2000', '--record-size', '100', '--payload', 'json'],
        { env },
      ),
    );
    expect(produced.stdout).toMatch(
      /^2000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\.\n$/,
    );
    const consumed = ok(await sluice(['perf', 'consume', topic], { env }));
    expect(consumed.stdout).toMatch(/^2000 records read, [\d.]+ MB in [\d.]+ s: .* ms 99\.9th\.\n$/);
  });

  it('runs a cleanup pass on the storage the environment names', async () => {
    const cleanupEnv = {
      AWS_ENDPOINT_URL_DYNAMODB: stack.config.dynamoEndpoint,
      AWS_ENDPOINT_URL_S3: stack.config.s3Endpoint,
      SLUICE_BUCKET: stack.config.bucket,
      SLUICE_TOPICS_TABLE: stack.config.topicsTable,
      SLUICE_LOG_TABLE: stack.config.logTable,
      SLUICE_GROUPS_TABLE: stack.config.groupsTable,
    };
    const r = ok(await sluice(['admin', 'cleanup', '--max-duration-ms', '20000'], { env: cleanupEnv }));
    expect(r.stdout).toMatch(
      /^Cleanup pass (complete|stopped on its budget.*) in \d+ ms: \d+ partitions visited/,
    );

    const partial = await sluice(['admin', 'cleanup'], { env: { SLUICE_BUCKET: 'b' } });
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/^error: environment variable SLUICE_TOPICS_TABLE must be set/);

    // Without storage in the environment it asks a sluice dev at --endpoint.
    const nobody = await sluice(['admin', 'cleanup', '--endpoint', 'http://127.0.0.1:9'], { env: {} });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      /^error: cannot connect to http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): is sluice dev running there\?/,
    );
    // Storage named at an endpoint that is not DynamoDB (here: the Sluice API itself): a clear line, not UnknownError.
    const wrong = await sluice(['admin', 'cleanup'], { env: { AWS_ENDPOINT_URL: stack.url } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      new RegExp(
        `^error: the storage at ${stack.url} did not answer as DynamoDB and S3 \\(UnknownError.*check AWS_ENDPOINT_URL`,
      ),
    );
    expect(wrong.stderr.split('\n')).toHaveLength(2);
  });
});

describe('CLI: README and --help agree', () => {
  it('every command of --help is in the README’s table, and every option the table names exists', async () => {
    const program = createProgram({});
    const leaves = new Map<string, Command>();
    const walk = (c: Command, path: string[]) => {
      for (const sub of c.commands) {
        if (sub.commands.length > 0) walk(sub, [...path, sub.name()]);
        else leaves.set([...path, sub.name()].join(' '), sub);
      }
    };
    walk(program, []);
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Commands'), readme.indexOf('## Deploy to AWS'));
    const documented = new Set<string>();
    for (const row of table.split('\n').filter((l) => l.startsWith('| `sluice '))) {
      const [, first = '', rest = ''] = row.split(/(?<!\\)\|/);
      const spans = [...first.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const words = (span: string) =>
        span.split(' ').filter((w) => /^[a-z-]+$/.test(w) && !w.startsWith('-'));
      const head = words(spans[0]!).slice(1); // after "sluice"
      const commands = [
        head.join(' '),
        ...spans.slice(1).map((sp) => [...head.slice(0, -1), words(sp)[0]].join(' ')),
      ];
      const flags = [...`${first} ${rest}`.matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
      for (const name of commands) {
        const command = leaves.get(name);
        expect(command, `README names \`sluice ${name}\`, which --help does not have`).toBeDefined();
        documented.add(name);
        const longs = command!.options.map((o) => o.long);
        for (const flag of flags) expect(longs, `sluice ${name} ${flag}`).toContain(flag);
      }
    }
    expect([...leaves.keys()].filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('CLI: help and errors', () => {
  it('has --help on every command', () => {
    const program = registerCommands(new Command('sluice'), {});
    const all: Command[] = [];
    const walk = (c: Command) => {
      for (const sub of c.commands) {
        all.push(sub);
        walk(sub);
      }
    };
    walk(program);
    expect(all.map((c) => c.name())).toEqual(
      expect.arrayContaining([
        'topics',
        'create',
        'produce',
        'consume',
        'groups',
        'reset-offsets',
        'perf',
        'cleanup',
      ]),
    );
    for (const c of all) {
      expect(c.description(), c.name()).not.toBe('');
      expect(c.helpInformation()).toMatch(/^Usage: /);
    }
  });

  it('prints one line on stderr and exits 1 (the real binary)', async () => {
    const [missing, usage, refused] = await Promise.all([
      spawnSluice(['topics', 'describe', 'no-such-topic'], { SLUICE_ENDPOINT: stack.url }),
      spawnSluice(['consume'], { SLUICE_ENDPOINT: stack.url }),
      spawnSluice(['topics', 'list', '--endpoint', 'http://127.0.0.1:9']),
    ]);
    for (const r of [missing, usage, refused]) {
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
    }
    expect(missing.stderr).toMatch(/^error: UNKNOWN_TOPIC_OR_PARTITION: /);
    expect(usage.stderr).toBe("error: missing required argument 'topic'\n");
    expect(refused.stderr).toMatch(/^error: cannot connect to http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
  });
});
