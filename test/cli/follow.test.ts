/**
 * `sluice consume --follow` through a server outage: the real `bin/sluice.mjs` following a real
 * `sluice dev`, which stops and starts again on the same port and data folder.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../../shared/local/stack';
import { alive, BIN, type CliResult, type Running, run, runSluice } from './support';

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'gm'))?.length ?? 0;
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `sluice consume events --follow` against `endpoint`, with a short backoff so that many retries fail
 * during an outage (the consumer used to give up after ten in a row).
 */
function followEvents(endpoint: string, extra: readonly string[] = []): Running {
  const backoff = ['--reconnect-backoff-ms', '20', '--reconnect-backoff-max-ms', '100'];
  return run(process.execPath, [BIN, 'consume', 'events', '--follow', ...backoff, ...extra], {
    env: { SLUICE_ENDPOINT: endpoint },
  });
}

/** Stops a follower with Ctrl-C: it exits 0, having printed each of `lines` exactly once. */
async function stopPrintedOnce(follower: Running, lines: readonly RegExp[]): Promise<string> {
  follower.child.kill('SIGINT');
  expect((await follower.exited).code, follower.output()).toBe(0);
  const output = follower.output();
  for (const line of lines) expect(count(output, line), output).toBe(1);
  return output;
}

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

      const follow = (extra: string[]) => followEvents(url, extra);
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
        const output = await stopPrintedOnce(follower, [/^before$/, /^after$/, unreachable, reconnected]);
        expect(output).toMatch(/^2 records$/m);
      }
    } finally {
      for (const child of children) child.child.kill('SIGKILL');
      const pid = await serverPid().catch(() => 0);
      if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('says once that the server answers 503, and that it answers again', async () => {
    // Prepare: a stack, and in front of it a gateway that can be switched to answer 503 as API Gateway
    // does when its function is throttled (not Sluice's error shape)
    const stack = await startLocalStack({ port: 0, inMemory: true, quiet: true });
    let unavailable = false;
    const target = new URL(stack.url);
    const gateway = createServer((req, res) => {
      if (unavailable) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"message":"Service Unavailable"}');
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    const direct = { SLUICE_ENDPOINT: stack.url };
    let follower: Running | undefined;
    try {
      ok(await runSluice(['topics', 'create', 'events'], direct));
      ok(await runSluice(['produce', 'events'], direct, 'before\n'));
      follower = followEvents(url);
      await follower.waitFor(/^before$/m);

      // Act: the gateway answers 503 for a while (the long poll in flight ends first), then serves again
      unavailable = true;
      const answers = new RegExp(`^server at ${literal(url)} answers 503 [A-Z_]+, retrying…$`, 'm');
      await follower.waitFor(answers);
      await new Promise((resolve) => setTimeout(resolve, 300)); // several retries refused
      unavailable = false;
      ok(await runSluice(['produce', 'events'], direct, 'after\n'));
      const reconnected = new RegExp(`^reconnected to ${literal(url)}$`, 'm');
      await follower.waitFor(/^after$/m);
      await follower.waitFor(reconnected);

      // Assess
      const output = await stopPrintedOnce(follower, [/^before$/, /^after$/, answers, reconnected]);
      expect(output).not.toMatch(/unreachable/);
    } finally {
      follower?.child.kill('SIGKILL');
      await new Promise<void>((resolve) => {
        gateway.close(() => resolve());
        gateway.closeAllConnections();
      });
      await stack.stop();
    }
  }, 60_000);
});
