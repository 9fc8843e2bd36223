/**
 * `sluice kafka` as a user runs it: its own process, the storage named by the environment (here the
 * embedded emulators' endpoints), then kcat against it.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPort } from '../../cli/commands/kafka';
import { createServices } from '../../shared/api/services';
import { sluice } from '../cli/support';
import { startTestStorage, type TestStorage } from '../support/storage';
import { kcat, uniqueTopic } from './support';

let storage: TestStorage;
beforeAll(async () => {
  storage = await startTestStorage();
});
afterAll(async () => {
  await storage?.stop();
});

const envFor = (s: TestStorage): NodeJS.ProcessEnv => ({
  AWS_ENDPOINT_URL_DYNAMODB: s.config.dynamoEndpoint,
  AWS_ENDPOINT_URL_S3: s.config.s3Endpoint,
  AWS_REGION: 'us-east-1',
  SLUICE_BUCKET: s.config.bucket,
  SLUICE_TOPICS_TABLE: s.config.topicsTable,
  SLUICE_LOG_TABLE: s.config.logTable,
  SLUICE_GROUPS_TABLE: s.config.groupsTable,
});

describe('Command: sluice kafka', () => {
  it('parses HOST:PORT, [v6]:PORT and :PORT, and refuses the rest with the value received', () => {
    expect(hostPort('127.0.0.1:9092')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(hostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(hostPort(':9093')).toEqual({ host: '0.0.0.0', port: 9093 });
    expect(() => hostPort('localhost')).toThrow(/HOST:PORT.*"localhost"/);
    expect(() => hostPort('h:70000')).toThrow(/0 to 65535/);
  });

  it('refuses a non-loopback address without --allow-remote: there is no authentication yet', async () => {
    const result = await sluice(['kafka', '--listen', '0.0.0.0:0'], { env: envFor(storage) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no authentication.*--allow-remote/);
  });

  it('serves kcat on the storage of the environment', async () => {
    // Prepare
    const topic = uniqueTopic('cli');
    await createServices(storage.config, storage.clients).log.createTopic({ name: topic, partitionCount: 2 });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'kafka', '--listen', '127.0.0.1:0', '--linger-ms', '1'],
      {
        env: { ...process.env, ...envFor(storage) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /Kafka listener on 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      // Act
      const bootstrap = `127.0.0.1:${port}`;
      const produced = await kcat(bootstrap, ['-P', '-t', topic, '-p', '1'], 'one\ntwo\n');
      const consumed = await kcat(bootstrap, [
        '-C',
        '-t',
        topic,
        '-p',
        '1',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%o:%s\\n',
      ]);
      // Assess
      expect(produced.code, produced.stderr).toBe(0);
      expect(consumed.stdout.trim().split('\n')).toEqual(['0:one', '1:two']);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
