/**
 * `sluice consume --follow` through a server outage: the real `bin/sluice.mjs` following a real
 * `sluice dev`, which stops and starts again on the same port and data folder.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, BIN, type CliResult, type Running, run, runSluice } from './support';

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'gm'))?.length ?? 0;
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function startDev(port: string, dataDir: string): Running {
  return run(process.execPath, [BIN, 'dev', '--port', port, '--kafka-port', '0', '--data-dir', dataDir]);
}

describe('CLI: consume --follow', () => {
  it('keeps retrying while the server is down, says so once, and prints what comes after the restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-follow-'));
    const dataDir = join(dir, 'data');
    const children: Running[] = [];
    const serverPid = async () => Number((await readFile(join(dataDir, 'sluice.lock'), 'utf8')).trim());
    try {
      let dev = startDev('0', dataDir);
      children.push(dev);
      const url = (await dev.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      const env = { SLUICE_ENDPOINT: url };
      ok(await runSluice(['topics', 'create', 'events'], env));
      ok(await runSluice(['produce', 'events'], env, 'before\n'));

      // Short backoff, so that many retries fail during the outage: the consumer used to give up
      // after ten in a row.
      const follow = (extra: string[]) =>
        run(
          process.execPath,
          [
            BIN,
            'consume',
            'events',
            '--follow',
            '--reconnect-backoff-ms',
            '20',
            '--reconnect-backoff-max-ms',
            '100',
            ...extra,
          ],
          { env },
        );
      const plain = follow([]);
      const grouped = follow(['--group', 'followers']);
      children.push(plain, grouped);
      await Promise.all([plain.waitFor(/^before$/m), grouped.waitFor(/^before$/m)]);

      const pid = await serverPid();
      dev.child.kill('SIGTERM');
      await dev.exited;
      const unreachable = new RegExp(
        `^server unreachable at ${literal(url)} \\(ECONNREFUSED\\), retrying…$`,
        'm',
      );
      await Promise.all([plain.waitFor(unreachable), grouped.waitFor(unreachable)]);
      expect(alive(pid)).toBe(false);

      dev = startDev(new URL(url).port, dataDir);
      children.push(dev);
      await dev.waitFor(/ready at/);
      ok(await runSluice(['produce', 'events'], env, 'after\n'));

      const reconnected = new RegExp(`^reconnected to ${literal(url)}$`, 'm');
      for (const follower of [plain, grouped]) {
        await follower.waitFor(/^after$/m);
        await follower.waitFor(reconnected);
      }
      for (const follower of [plain, grouped]) {
        follower.child.kill('SIGINT');
        expect((await follower.exited).code, follower.output()).toBe(0);
        const output = follower.output();
        expect(count(output, /^before$/), output).toBe(1);
        expect(count(output, /^after$/), output).toBe(1);
        expect(count(output, unreachable), output).toBe(1);
        expect(count(output, reconnected), output).toBe(1);
        expect(output).toMatch(/^2 records$/m);
      }
    } finally {
      for (const child of children) child.child.kill('SIGKILL');
      const pid = await serverPid().catch(() => 0);
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
