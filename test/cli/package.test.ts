/**
 * The client SDK as a package: `npm pack`, installed from the tarball into an empty project outside the
 * repository (no registry: the package has no runtime dependencies, and no native addon), then used
 * from plain `node` — ESM with top-level await, CommonJS with require(), and type-checked TypeScript.
 */

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack, uniqueName } from '../api/support';
import { ROOT, runProcess } from './support';

let stack: TestStack;
let dir: string;
let app: string;
let tarball: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-pack-'));
  app = join(dir, 'app');
  await mkdir(app);
  const [started] = await Promise.all([
    startTestStack(),
    (async () => {
      // prepack builds dist/client first.
      execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, stdio: 'pipe' });
      tarball = join(dir, (await readdir(dir)).find((f) => f.endsWith('.tgz'))!);
      await writeFile(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
      execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
        cwd: app,
        stdio: 'pipe',
      });
    })(),
  ]);
  stack = started;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const node = (file: string) =>
  runProcess(process.execPath, [join(app, file)], { SLUICE_ENDPOINT: stack.url, TOPIC: uniqueName('pkg') });

describe('Package: sluice/client', () => {
  it('installs with nothing but itself: no dependencies, no native addon', async () => {
    // .bin: the package's `sluice` bin, which tells an installer that the CLI runs from a clone.
    expect((await readdir(join(app, 'node_modules'))).sort()).toEqual([
      '.bin',
      '.package-lock.json',
      'sluice',
    ]);
    const cli = await runProcess(join(app, 'node_modules/.bin/sluice'), ['--help']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^sluice: the command line runs from a clone of the Sluice repository/);
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' });
    expect(listing).toMatch(/package\/dist\/client\/index\.js/);
    expect(listing).toMatch(/package\/dist\/client\/index\.cjs/);
    expect(listing).toMatch(/package\/dist\/client\/types\/client\/index\.d\.ts/);
    expect(listing).not.toMatch(/\.node\n|package\/(shared|cli|test)\//);
  });

  it('produces and consumes from an ES module with top-level await, plain node', async () => {
    await writeFile(
      join(app, 'roundtrip.mjs'),
      `import { Sluice, SluiceError } from 'sluice/client';
const topic = process.env.TOPIC;
const sluice = new Sluice({ endpoint: process.env.SLUICE_ENDPOINT });
const admin = sluice.admin();
await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
const producer = sluice.producer();
const sent = await producer.send({ topic, messages: [{ key: 'alice', value: 'one' }, { key: 'alice', value: 'two' }] });
await producer.disconnect();
const consumer = sluice.consumer();
const got = [];
await new Promise((resolve, reject) => {
  consumer.assign([{ topic, partition: sent[0].partition, offset: 0 }]);
  consumer.on('crash', ({ error }) => reject(error));
  consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()); if (got.length === 2) resolve(); } }).catch(reject);
});
await consumer.disconnect();
const missing = await admin.describeTopic(topic + '-missing').catch((e) => e);
console.log(JSON.stringify({ got, offsets: sent.map((m) => m.offset), missing: missing instanceof SluiceError ? missing.code : String(missing) }));
`,
    );
    const r = await node('roundtrip.mjs');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      got: ['one', 'two'],
      offsets: [0, 1],
      missing: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });

  it('works from CommonJS require(), and signs requests with SigV4 (the lazily loaded signer)', async () => {
    await writeFile(
      join(app, 'signed.cjs'),
      `const { Sluice } = require('sluice/client');
(async () => {
  const sluice = new Sluice({
    endpoint: process.env.SLUICE_ENDPOINT,
    sign: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  const admin = sluice.admin();
  await admin.createTopics({ topics: [{ topic: process.env.TOPIC, numPartitions: 1 }] });
  console.log((await admin.listTopics()).includes(process.env.TOPIC));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const r = await node('signed.cjs');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('true\n');
  });

  it('type-checks a TypeScript program against its declarations (module nodenext)', async () => {
    await writeFile(
      join(app, 'typed.ts'),
      `import { Sluice, type Message, type SluiceError } from 'sluice/client';
const sluice = new Sluice({ endpoint: 'http://127.0.0.1:8092' });
const message: Message = { key: 'k', value: 'v' };
export const sent: Promise<{ partition: number; offset: number }[]> = sluice.producer().send({ topic: 't', messages: [message] });
export const code = (e: SluiceError): string => e.code;
`,
    );
    const r = await runProcess(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--noEmit',
      '--strict',
      // Our declarations are still resolved and used; only their own bodies go unchecked (for speed).
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--typeRoots',
      join(ROOT, 'node_modules/@types'),
      '--types',
      'node',
      join(app, 'typed.ts'),
    ]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
