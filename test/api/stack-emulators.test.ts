import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulators } from '../../shared/local/emulators';
import { createAwsClients } from '../../shared/store/aws-clients';
import { ensureStorage } from '../../shared/store/tables';
import { createTopic, http, startTestStack } from './support';

const temporary: string[] = [];
afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of the processes exists; returns those still alive. */
async function gone(pids: readonly number[], withinMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

/**
 * A parent process that starts the emulators on `dataDir`, writes one topic-table row, prints the
 * emulators' pids and then waits to be killed.
 */
function spawnParent(dataDir: string) {
  const script = `
    import { startEmulators } from './shared/local/emulators.ts';
    const emulators = await startEmulators({ dataDir: ${JSON.stringify(dataDir)}, isolation: 'process' });
    console.log(JSON.stringify({ pids: emulators.pids, dynamo: emulators.dynamoEndpoint }));
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = new Promise<{ pids: number[] }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the parent exited with ${code}: ${out}`)));
  });
  return { child, started };
}

describe('Function: startEmulators', () => {
  it('runs dynalite and s3rver in child processes of their own, stopped with the stack', async () => {
    // Prepare
    const stack = await startTestStack({ emulators: 'process' });
    const pids = [...stack.emulatorPids];
    try {
      // Act, Assess: two processes, neither of them this one, serving the stack
      expect(pids).toHaveLength(2);
      expect(pids).not.toContain(process.pid);
      expect(pids.every(alive)).toBe(true);
      const topic = await createTopic(stack.url, 1);
      const produced = await http(stack.url, 'POST', `/v1/topics/${topic}/records`, {
        body: { records: [{ value: 'v' }] },
      });
      expect(produced.status).toBe(200);
    } finally {
      await stack.stop();
    }
    expect(pids.filter(alive)).toEqual([]);
  });

  it('never lets an emulator outlive its parent, and restarts at once on the same data folder', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-orphan-'));
    temporary.push(dataDir);
    const { child, started } = spawnParent(dataDir);
    const { pids } = await started;
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    // Act: the parent dies without a word (no signal handler runs on SIGKILL)
    child.kill('SIGKILL');
    // Assess: its emulators exit by themselves, and their LevelDB lock is free for the next run
    expect(await gone(pids)).toEqual([]);
    const next = await startEmulators({ dataDir, isolation: 'process' });
    try {
      const config = {
        region: 'us-east-1',
        dynamoEndpoint: next.dynamoEndpoint,
        s3Endpoint: next.s3Endpoint,
        bucket: 'sluice-orphan',
        topicsTable: 'topics',
        logTable: 'log',
        groupsTable: 'groups',
      };
      const clients = createAwsClients(config);
      await ensureStorage(config, clients);
      clients.dynamo.destroy();
      clients.s3.destroy();
    } finally {
      await next.stop();
    }
  });

  it('pages S3 listings (s3rver needs the OpenSSL legacy provider, which the child gets)', async () => {
    // Prepare: this test process runs without --openssl-legacy-provider
    const emulators = await startEmulators({ isolation: 'process' });
    const config = {
      region: 'us-east-1',
      dynamoEndpoint: emulators.dynamoEndpoint,
      s3Endpoint: emulators.s3Endpoint,
      bucket: 'sluice-paging',
      topicsTable: 'topics',
      logTable: 'log',
      groupsTable: 'groups',
    };
    const clients = createAwsClients(config);
    try {
      await ensureStorage(config, clients);
      for (const key of ['a', 'b', 'c']) {
        await clients.s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: key }));
      }
      // Act
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await clients.s3.send(
          new ListObjectsV2Command({ Bucket: config.bucket, MaxKeys: 1, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      // Assess
      expect(keys).toEqual(['a', 'b', 'c']);
    } finally {
      clients.dynamo.destroy();
      clients.s3.destroy();
      await emulators.stop();
    }
  });

  it('runs the emulators in this process when asked to (the default of startEmulators)', async () => {
    const emulators = await startEmulators();
    try {
      expect(emulators.pids).toEqual([]);
      const answer = await fetch(emulators.s3Endpoint);
      expect(answer.status).toBeLessThan(500);
    } finally {
      await emulators.stop();
    }
  });
});
