import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { canCompressZstd, encodeRecordBatch, type ProducerRecord } from '../../shared/codec';
import { recrc } from './helpers';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NOW = 1_700_000_000_000;

/**
 * The codec as a Lambda bundle carries it: bundled by esbuild with the options of cdk/sluice-construct.ts
 * (ESM, `lz4` external), copied alone into an empty folder and run by plain Node. No native addon is
 * reachable there, so every codec must take its pure-JS path and still read what Kafka clients write.
 */
describe('Bundle: the codec without native addons', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-codec-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes lz4, snappy (raw and xerial) and zstd batches with the pure-JS implementations', async () => {
    // Prepare: batches as clients write them, the zstd one by the zstd CLI
    const records: ProducerRecord[] = Array.from({ length: 200 }, (_, i) => ({
      key: Buffer.from(`k${i % 5}`),
      value: Buffer.from(`{"n":${i},"text":"${'abc'.repeat(i % 20)}"}`),
      timestamp: NOW + i,
    }));
    const plainBatch = encodeRecordBatch(records, { compression: 'none', now: NOW });
    const withBody = (codec: number, body: Buffer) => {
      const buf = Buffer.concat([plainBatch.subarray(0, 61), body]);
      buf.writeInt32BE(buf.length - 12, 8);
      buf.writeInt16BE(codec, 21);
      return recrc(buf).toString('hex');
    };
    const snappyRaw = encodeRecordBatch(records, { compression: 'snappy', now: NOW });
    const xerialChunk = snappyRaw.subarray(61);
    const chunkLength = Buffer.alloc(4);
    chunkLength.writeInt32BE(xerialChunk.length);
    const xerial = Buffer.concat([
      Buffer.from('82534e41505059000000000100000001', 'hex'),
      chunkLength,
      xerialChunk,
    ]);
    const zstd = execFileSync('/usr/bin/zstd', ['-q', '-c'], { input: plainBatch.subarray(61) });
    const batches = {
      lz4: encodeRecordBatch(records, { compression: 'lz4', now: NOW }).toString('hex'),
      snappy: snappyRaw.toString('hex'),
      xerial: withBody(2, xerial),
      zstd: withBody(4, zstd),
    };
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { decodeRecordBatch, encodeRecordBatch, lz4Implementation, snappyImplementation, zstdImplementation } from ${JSON.stringify(join(ROOT, 'shared/codec/index.ts'))};
const batches = JSON.parse(process.argv[2]);
const decoded = Object.fromEntries(Object.entries(batches).map(([name, hex]) => [
  name, decodeRecordBatch(Buffer.from(hex, 'hex')).records.map((r) => r.value.toString()),
]));
const reencoded = decodeRecordBatch(encodeRecordBatch([{ value: Buffer.from('x') }], { compression: 'snappy' })).records[0].value.toString();
process.stdout.write(JSON.stringify({ lz4: lz4Implementation(), snappy: snappyImplementation(), zstd: zstdImplementation(), decoded, reencoded }));
`,
    );
    await build({
      entryPoints: [entry],
      outfile: join(dir, 'out', 'index.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      minify: true,
      keepNames: true,
      external: ['lz4'],
      logLevel: 'silent',
      banner: {
        js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
      },
    });
    const code = readFileSync(join(dir, 'out', 'index.mjs'), 'utf8');

    // Act: from the empty folder, where neither `snappy` nor `lz4` resolves
    const { stdout } = await run(process.execPath, [join(dir, 'out', 'index.mjs'), JSON.stringify(batches)], {
      cwd: join(dir, 'out'),
      timeout: 30_000,
    });
    const result = JSON.parse(stdout);

    // Assess
    expect(code).not.toMatch(/\.node["']/);
    expect(result.lz4).toBe('js');
    expect(result.snappy).toBe('js');
    expect(result.zstd).toBe(canCompressZstd() ? 'native' : 'js');
    const values = records.map((r) => r.value!.toString());
    for (const name of Object.keys(batches)) expect(result.decoded[name], name).toEqual(values);
    expect(result.reencoded).toBe('x');
  }, 60_000);
});
