/**
 * `npm start` / `sluice dev` as processes: how they start, what they refuse, and how they stop. One
 * `npm start` serves the whole file; the tests that stop a server start their own.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../api/support';
import { alive, BIN, eventually, ROOT, type Running, run, runProcess, runSluice } from './support';

let dir: string;
let dataDir: string;
let npmStart: Running;
let url: string;
let serverPid: number;

const portOf = (u: string) => Number(new URL(u).port);

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function startDev(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  return run(process.execPath, [BIN, 'dev', ...args], { env });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-dev-'));
  dataDir = join(dir, 'data');
  npmStart = run('npm', ['start'], { env: { SLUICE_PORT: '0', SLUICE_DATA_DIR: dataDir } });
  url = (await npmStart.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  serverPid = Number((await readFile(join(dataDir, 'sluice.lock'), 'utf8')).trim());
}, 60_000);

afterAll(async () => {
  npmStart?.child.kill('SIGKILL');
  if (serverPid && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Command: sluice dev (npm start)', () => {
  it('prints the ready line with no AWS SDK notice before it; GET / and GET /health answer', async () => {
    const before = npmStart.output().slice(0, npmStart.output().indexOf('Sluice is ready'));
    expect(before).not.toMatch(/NodeVersionSupportWarning|AWS SDK/);
    // npm's own two lines (`> sluice@… start`, `> exec node …`) and nothing else.
    expect(before.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('>'))).toEqual([]);

    const root = await http(url, 'GET', '/');
    expect(root.status).toBe(200);
    expect(root.json()).toMatchObject({
      service: 'sluice',
      routes: expect.arrayContaining(['GET /v1/topics']),
    });
    const health = await http(url, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
  });

  it('refuses at once a second server on the same data folder, naming the first one’s pid', async () => {
    const second = await runSluice(['dev', '--port', '0'], { SLUICE_DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `error: data folder ${dataDir} is in use by another sluice dev (pid ${serverPid}): stop it first, or give this one another folder with --data-dir / SLUICE_DATA_DIR (or --in-memory)\n`,
    );
    expect(second.stdout).toBe('');
    // The first one is unharmed.
    expect((await http(url, 'GET', '/v1/topics')).status).toBe(200);
  });

  it('refuses a busy port, suggesting --port and SLUICE_PORT', async () => {
    const busy = await runSluice(['dev', '--in-memory', '--port', String(portOf(url))]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(
      `error: port ${portOf(url)} on 127.0.0.1 is in use (another sluice dev?): choose another with --port N or SLUICE_PORT=N\n`,
    );
  });

  it('loads the local stack only for dev: topics list and groups list never import dynalite, s3rver or the AWS SDK', async () => {
    const trace = ['--require', join(ROOT, 'test/cli/fixtures/trace-loads.cjs'), BIN];
    for (const args of [
      ['topics', 'list'],
      ['groups', 'list'],
    ]) {
      const r = await runProcess(process.execPath, [...trace, ...args, '--endpoint', url]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('loaded-server-modules: none\n');
    }
    // The check itself sees them where they are loaded.
    const dev = await runProcess(process.execPath, [
      ...trace,
      'dev',
      '--in-memory',
      '--port',
      String(portOf(url)),
    ]);
    expect(dev.stderr).toMatch(/loaded-server-modules: .*dynalite/);
  });

  it('sluice admin cleanup runs a pass inside the running sluice dev: retention is observable at once', async () => {
    const topic = `short-${Date.now()}`;
    expect(
      (await http(url, 'POST', '/v1/topics', { body: { name: topic, partitions: 1, retentionMs: 1000 } }))
        .status,
    ).toBe(201);
    for (const value of ['old', 'older']) {
      await http(url, 'POST', `/v1/topics/${topic}/records`, {
        body: { records: [{ value, partition: 0 }] },
      });
    }
    await new Promise((r) => setTimeout(r, 1_500)); // the records pass their 1 s retention
    const r = await runSluice(['admin', 'cleanup'], { SLUICE_ENDPOINT: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^Cleanup pass complete in \d+ ms: \d+ partitions visited, [1-9]\d* log start offsets advanced/,
    );
    const d = (await http(url, 'GET', `/v1/topics/${topic}`)).json();
    expect(d.partitions[0]).toEqual({ partition: 0, logStartOffset: 2, highWatermark: 2 });
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const r = await runSluice(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('stops cleanly when npm start gets SIGTERM: no orphan, port and data folder released', async () => {
    npmStart.child.kill('SIGTERM');
    await npmStart.exited;
    expect(await eventually(() => !alive(serverPid))).toBe(true);
    expect(await portOpen(portOf(url))).toBe(false);
    await expect(readFile(join(dataDir, 'sluice.lock'))).rejects.toThrow(/ENOENT/);
    expect(npmStart.output()).toContain('SIGTERM: stopping');
    expect(npmStart.output()).toContain('Sluice stopped.');
    // A restart on the same folder works at once.
    const again = startDev(['--port', '0', '--data-dir', dataDir]);
    try {
      await again.waitFor(/ready at/);
    } finally {
      again.child.kill('SIGINT');
      expect((await again.exited).code).toBe(0);
    }
  }, 60_000);
});

describe('Command: sluice dev --cleanup-interval-ms', () => {
  it('runs the cleanup on that interval: records past a 1 s retention go without any command', async () => {
    const dev = startDev(['--in-memory', '--port', '0', '--cleanup-interval-ms', '500']);
    try {
      const base = (await dev.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await http(base, 'POST', '/v1/topics', { body: { name: 'short', partitions: 1, retentionMs: 1000 } });
      await http(base, 'POST', '/v1/topics/short/records', { body: { records: [{ value: 'x' }] } });
      const start = async () =>
        (await http(base, 'GET', '/v1/topics/short')).json().partitions[0].logStartOffset;
      expect(await eventually(async () => (await start()) === 1, 20_000)).toBe(true);
      expect(dev.output()).toMatch(/cleanup \{"complete":true/);
    } finally {
      dev.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('Command: sluice dev (node bin/sluice.mjs)', () => {
  it('stops on SIGINT and on SIGTERM with exit code 0, and by itself when its parent dies', async () => {
    const bySigint = startDev(['--in-memory', '--port', '0']);
    const bySigterm = startDev(['--in-memory', '--port', '0']);
    // A parent that dies without forwarding anything (npm killed with SIGKILL, a crashed supervisor).
    const orphaned = run('sh', [
      '-c',
      `"${process.execPath}" "${BIN}" dev --in-memory --port 0 & echo "pid=$!"; wait`,
    ]);
    let orphanPid = 0;
    try {
      await Promise.all([
        bySigint.waitFor(/ready at/),
        bySigterm.waitFor(/ready at/),
        orphaned.waitFor(/ready at/),
      ]);
      bySigint.child.kill('SIGINT');
      bySigterm.child.kill('SIGTERM');
      orphanPid = Number((await orphaned.waitFor(/pid=(\d+)/))[1]);
      orphaned.child.kill('SIGKILL');
      expect(await bySigint.exited).toEqual({ code: 0, signal: null });
      expect(await bySigterm.exited).toEqual({ code: 0, signal: null });
      expect(bySigint.output()).toContain('SIGINT: stopping');
      expect(bySigterm.output()).toContain('SIGTERM: stopping');
      expect(await eventually(() => !alive(orphanPid))).toBe(true);
    } finally {
      for (const p of [bySigint, bySigterm, orphaned]) p.child.kill('SIGKILL');
      if (orphanPid && alive(orphanPid)) process.kill(orphanPid, 'SIGKILL');
    }
  }, 60_000);
});
