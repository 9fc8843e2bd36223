import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeRecordBatch, encodeRecordBatch, type ProducerRecord } from '../../shared/codec';
import {
  canCompressZstd,
  useZstdImplementation,
  zstdCompress,
  zstdDecompress,
  zstdImplementation,
} from '../../shared/codec/zstd';
import { SluiceError } from '../../shared/errors';
import { expectSluiceError, plain, recrc, text } from './helpers';

/**
 * zstd frames from the reference implementation, the `zstd` CLI (libzstd 1.5), decoded by ours: from a
 * file it writes the content size (single segment), from a pipe it cannot (a window descriptor instead),
 * as zstd-jni's and librdkafka's streams do. Node 20 has no zstd in zlib, so here the decoder is fzstd;
 * on Node ≥ 22.15 the same tests run against zlib's libzstd too.
 */
const ZSTD = '/usr/bin/zstd';
const MB = 1024 * 1024;
const NOW = 1_700_000_000_000;
const IMPLEMENTATIONS = canCompressZstd() ? (['native', 'js'] as const) : (['js'] as const);
const dir = mkdtempSync(join(tmpdir(), 'sluice-zstd-'));

/** The CLI's output for `data`: through a file (content size known) or a pipe (not known). */
function cli(data: Buffer, args: string[] = [], via: 'file' | 'pipe' = 'file'): Buffer {
  if (via === 'pipe') return execFileSync(ZSTD, ['-q', '-c', ...args], { input: data, maxBuffer: 256 * MB });
  const file = join(dir, 'input');
  writeFileSync(file, data);
  return execFileSync(ZSTD, ['-q', '-c', ...args, file], { maxBuffer: 256 * MB });
}

function decompress(data: Buffer, maxBytes = 64 * MB): Buffer {
  return zstdDecompress(data, 0, data.length, maxBytes);
}

/** A frame header: descriptor, then window descriptor / content size bytes as given. */
function frameHeader(descriptor: number, rest: number[]): Buffer {
  return Buffer.from([0x28, 0xb5, 0x2f, 0xfd, descriptor, ...rest]);
}

/** A block header: last flag, type (0 raw, 1 RLE, 2 compressed), size. */
function blockHeader(last: boolean, type: number, size: number): Buffer {
  const v = (last ? 1 : 0) | (type << 1) | (size << 3);
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff]);
}

/** A batch whose record bytes are replaced by `compress(records bytes)`, codec zstd. */
function zstdBatch(records: ProducerRecord[], compress: (raw: Buffer) => Buffer): Buffer {
  const plainBatch = encodeRecordBatch(records, { compression: 'none', now: NOW });
  const buf = Buffer.concat([plainBatch.subarray(0, 61), compress(plainBatch.subarray(61))]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt16BE(4, 21);
  return recrc(buf);
}

afterEach(() => {
  useZstdImplementation('auto');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Function: zstdDecompress', () => {
  it(`uses ${canCompressZstd() ? "Node's zlib" : 'fzstd'} here (Node ${process.version})`, () => {
    expect(zstdImplementation()).toBe(canCompressZstd() ? 'native' : 'js');
  });

  for (const impl of IMPLEMENTATIONS) {
    it(`reads the CLI's frames: with and without content size, checksums, levels, long windows (${impl})`, () => {
      useZstdImplementation(impl);
      // Each input through a few of the CLI's modes (high levels on small inputs: they are slow)
      const big = text(300_000, 7);
      const random = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + (i >> 3)) & 0xff));
      const cases: [Buffer, string[], 'file' | 'pipe'][] = [
        [text(1), [], 'file'],
        [text(1), [], 'pipe'],
        [text(1000), ['--no-check'], 'file'],
        [text(1000), ['--ultra', '-22'], 'pipe'],
        [text(20_000), ['-19'], 'file'],
        [big, [], 'file'],
        [big, ['-1'], 'pipe'],
        [big, ['--long=27'], 'pipe'],
        [big, ['--no-content-size', '-B4096'], 'file'],
        [random, [], 'file'],
        [random, [], 'pipe'],
      ];
      for (const [input, args, via] of cases) {
        expect(decompress(cli(input, args, via)).equals(input), `${input.length} bytes, ${args} ${via}`).toBe(
          true,
        );
      }
    });

    it(`reads concatenated frames and skippable frames (${impl})`, () => {
      // Prepare: three frames as three producers of one stream would write them, and a skippable one
      useZstdImplementation(impl);
      const parts = [text(5000, 1), text(70_000, 2), text(10, 3)];
      const skippable = Buffer.concat([
        Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]),
        Buffer.from('abc'),
      ]);
      const data = Buffer.concat([
        cli(parts[0]!),
        skippable,
        cli(parts[1]!, [], 'pipe'),
        cli(parts[2]!, ['--no-check']),
      ]);

      // Act / Assess
      expect(decompress(data).equals(Buffer.concat(parts))).toBe(true);
    });

    it(`decodes raw and RLE blocks exactly, with or without a declared size (${impl})`, () => {
      useZstdImplementation(impl);
      const data = Buffer.concat([
        frameHeader(0x00, [0x00]), // window 1 KB, no content size
        blockHeader(false, 0, 3),
        Buffer.from('abc'),
        blockHeader(true, 1, 5),
        Buffer.from('z'),
        frameHeader(0x20, [4]), // single segment, 1-byte content size 4
        blockHeader(true, 0, 4),
        Buffer.from('wxyz'),
      ]);
      expect(decompress(data).toString()).toBe('abczzzzzwxyz');
    });

    it(`answers malformed frames with CORRUPT_MESSAGE (${impl})`, () => {
      useZstdImplementation(impl);
      const good = cli(text(2000));
      const cases: [string, Buffer][] = [
        ['empty', Buffer.alloc(0)],
        ['a wrong magic number', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])],
        ['a frame cut short', good.subarray(0, good.length - 5)],
        ['a header cut short', good.subarray(0, 6)],
        ['trailing garbage', Buffer.concat([good, Buffer.from([0, 1, 2])])],
        ['trailing zeros', Buffer.concat([good, Buffer.alloc(8)])],
        [
          'the reserved bit',
          Buffer.concat([frameHeader(0x08, [0]), blockHeader(true, 0, 1), Buffer.from('a')]),
        ],
        [
          'a reserved block type',
          Buffer.concat([frameHeader(0x00, [0]), blockHeader(true, 3, 1), Buffer.from('a')]),
        ],
        [
          'a dictionary',
          Buffer.concat([frameHeader(0x01, [0, 7]), blockHeader(true, 0, 1), Buffer.from('a')]),
        ],
        [
          'a window of 2^31',
          Buffer.concat([frameHeader(0x00, [21 << 3]), blockHeader(true, 0, 1), Buffer.from('a')]),
        ],
        [
          'a block beyond the window',
          Buffer.concat([frameHeader(0x00, [0]), blockHeader(true, 0, 2000), Buffer.alloc(2000)]),
        ],
        [
          'a size that the blocks contradict',
          Buffer.concat([frameHeader(0x20, [9]), blockHeader(true, 0, 4), Buffer.from('wxyz')]),
        ],
        ['only a skippable frame', Buffer.from([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0])],
        ['a skippable frame cut short', Buffer.from([0x50, 0x2a, 0x4d, 0x18, 9, 0, 0, 0, 1])],
      ];
      for (const [name, input] of cases) {
        const err = expectSluiceError(() => decompress(input), 'CORRUPT_MESSAGE');
        expect(err.message, name).toMatch(/^zstd: /);
      }
    });

    it(`never crashes or hangs on mutated frames: a SluiceError, or bytes (${impl})`, () => {
      useZstdImplementation(impl);
      const frames = [
        cli(text(3000, 4)),
        cli(text(40_000, 5), ['-19'], 'pipe'),
        cli(Buffer.from(text(500)), ['--no-check']),
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(...frames),
          fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
          (frame, edits) => {
            const mutated = Buffer.from(frame);
            for (const [position, value] of edits) mutated[position % mutated.length] = value;
            try {
              expect(decompress(mutated, 4 * MB).length).toBeLessThanOrEqual(4 * MB);
            } catch (err) {
              if (!(err instanceof SluiceError)) throw err;
              expect(['CORRUPT_MESSAGE', 'RECORD_LIST_TOO_LARGE']).toContain(err.code);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('Property: a zstd bomb is stopped at the cap', () => {
  const zeros = Buffer.alloc(16 * MB);
  const withSize = cli(zeros);
  const withoutSize = cli(zeros, [], 'pipe');

  for (const impl of IMPLEMENTATIONS) {
    it(`gives RECORD_LIST_TOO_LARGE, with a declared size or without one (${impl})`, () => {
      // Prepare: 16 MiB of zeros is ~500 bytes
      useZstdImplementation(impl);
      expect(withSize.length).toBeLessThan(4096);
      expect(withoutSize.length).toBeLessThan(4096);

      // Act / Assess
      for (const frame of [withSize, withoutSize]) {
        expectSluiceError(() => decompress(frame, 16 * MB - 1), 'RECORD_LIST_TOO_LARGE');
        expectSluiceError(() => decompress(frame, MB), 'RECORD_LIST_TOO_LARGE');
        expect(decompress(frame, 16 * MB)).toHaveLength(16 * MB);
      }
      // A header alone can claim 2^40 bytes (refused: its blocks cannot hold them), a consistent one
      // 1 MiB + 1, and RLE blocks claim 128 KB from 1 byte each.
      const claim = Buffer.concat([frameHeader(0xe0, [0, 0, 0, 0, 0, 1, 0, 0]), blockHeader(true, 0, 0)]);
      expectSluiceError(() => decompress(claim), 'CORRUPT_MESSAGE');
      const blocks = Array.from({ length: 9 }, (_, i) => [
        blockHeader(i === 8, 1, i === 8 ? 1 : 128 * 1024),
        Buffer.from('x'),
      ]);
      const sized = Buffer.concat([frameHeader(0xa0, [1, 0, 0x10, 0]), ...blocks.flat()]);
      expectSluiceError(() => decompress(sized, MB), 'RECORD_LIST_TOO_LARGE');
      expect(decompress(sized, MB + 1)).toHaveLength(MB + 1);
      const rle = Array.from({ length: 600 }, (_, i) => [
        blockHeader(i === 599, 1, 128 * 1024),
        Buffer.from('x'),
      ]).flat();
      expectSluiceError(
        () => decompress(Buffer.concat([frameHeader(0x00, [7 << 3]), ...rle])),
        'RECORD_LIST_TOO_LARGE',
      );
    });
  }
});

describe('Function: decodeRecordBatch (zstd)', () => {
  const records: ProducerRecord[] = Array.from({ length: 500 }, (_, i) => ({
    key: Buffer.from(`user-${i % 7}`),
    value: Buffer.from(JSON.stringify({ id: i, event: 'click', page: `/p/${i % 13}` })),
    headers: [{ key: 'trace', value: Buffer.from(`t-${i}`) }],
    timestamp: NOW + i,
  }));
  const expected = plain(
    decodeRecordBatch(encodeRecordBatch(records, { compression: 'none', now: NOW })).records,
  );

  for (const impl of IMPLEMENTATIONS) {
    it(`decodes batches the CLI compressed, with and without content size (${impl})`, () => {
      useZstdImplementation(impl);
      for (const via of ['file', 'pipe'] as const) {
        const decoded = decodeRecordBatch(zstdBatch(records, (raw) => cli(raw, [], via)));
        expect(decoded.header.compression).toBe('zstd');
        expect(plain(decoded.records)).toEqual(expected);
      }
      const batch = zstdBatch(records, (raw) => cli(raw));
      expectSluiceError(
        () => decodeRecordBatch(batch, { maxDecompressedBytes: 1000 }),
        'RECORD_LIST_TOO_LARGE',
      );
    });
  }

  it.runIf(canCompressZstd())('encodes zstd that the CLI reads (Node ≥ 22.15)', () => {
    const batch = encodeRecordBatch(records, { compression: 'zstd', now: NOW });
    expect(plain(decodeRecordBatch(batch).records)).toEqual(expected);
    const raw = encodeRecordBatch(records, { compression: 'none', now: NOW }).subarray(61);
    expect(execFileSync(ZSTD, ['-d', '-q', '-c'], { input: batch.subarray(61) }).equals(raw)).toBe(true);
    expect(zstdCompress(raw).length).toBeLessThan(raw.length / 3);
  });

  it.runIf(!canCompressZstd())('refuses to encode zstd on a Node without it, with a clear message', () => {
    const err = expectSluiceError(() => zstdCompress(Buffer.from('x')), 'UNSUPPORTED_COMPRESSION_TYPE');
    expect(err.message).toMatch(/Node 22\.15/);
  });
});
