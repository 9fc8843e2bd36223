import fc from 'fast-check';
import lz4 from 'lz4';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Compression,
  canCompressZstd,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  type ProducerRecord,
  RECORD_BATCH_HEADER_BYTES,
  readBatchHeader,
  useLz4Implementation,
  useSnappyImplementation,
  useZstdImplementation,
  validateBatches,
} from '../../shared/codec';
import { SluiceError } from '../../shared/errors';
import {
  expectedRecords,
  expectSluiceError,
  plain,
  producerRecords,
  recrc,
  throwsOnlySluiceError,
} from './helpers';

const NOW = 1_700_000_000_000;

/** Each codec, and lz4 and snappy once per implementation (zstd only where this Node can write it). */
const CODECS: { name: string; compression: Compression; lz4: 'auto' | 'js' }[] = [
  { name: 'none', compression: 'none', lz4: 'auto' },
  { name: 'gzip', compression: 'gzip', lz4: 'auto' },
  { name: 'lz4 (native)', compression: 'lz4', lz4: 'auto' },
  { name: 'lz4 (pure JS)', compression: 'lz4', lz4: 'js' },
  { name: 'snappy (native)', compression: 'snappy', lz4: 'auto' },
  { name: 'snappy (pure JS)', compression: 'snappy', lz4: 'js' },
  ...(canCompressZstd()
    ? [
        { name: 'zstd (native)', compression: 'zstd', lz4: 'auto' } as const,
        { name: 'zstd (fzstd)', compression: 'zstd', lz4: 'js' } as const,
      ]
    : []),
];

/** Chooses the implementation of every codec that has two: 'auto' (native where it loads) or 'js'. */
function useImplementation(choice: 'auto' | 'js'): void {
  useLz4Implementation(choice);
  useSnappyImplementation(choice);
  useZstdImplementation(choice);
}

const codec = fc.constantFrom(...CODECS);

afterEach(() => {
  useImplementation('auto');
});

describe('Property: decodeRecordBatch(encodeRecordBatch(records)) = records', () => {
  for (const { name, compression, lz4: impl } of CODECS) {
    it(`holds for any records (${name})`, () => {
      useImplementation(impl);
      fc.assert(
        fc.property(producerRecords, fc.nat({ max: 2 ** 40 }), (records, baseOffset) => {
          // Act
          const buf = encodeRecordBatch(records, { compression, now: NOW, baseOffset });
          const decoded = decodeRecordBatch(buf);

          // Assess
          expect(plain(decoded.records)).toEqual(expectedRecords(records, NOW, baseOffset));
          expect(decoded.header.compression).toBe(compression);
          expect(validateBatches(buf)).toEqual([decoded.header]);
        }),
      );
    });
  }

  it('holds across 64 KB lz4 blocks, encoded by one implementation and decoded by the other', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom<['auto' | 'js', 'auto' | 'js']>(['auto', 'js'], ['js', 'auto'], ['js', 'js']),
        (sizes, [encoder, decoder]) => {
          // Prepare
          const records: ProducerRecord[] = sizes.map((n, i) => ({
            key: Buffer.from(`k${i}`),
            value: Buffer.from(`record ${i} `.repeat(Math.ceil(n / 10)).slice(0, n)),
          }));
          useImplementation(encoder);
          const buf = encodeRecordBatch(records, { now: NOW });

          // Act
          useImplementation(decoder);
          const decoded = decodeRecordBatch(buf);

          // Assess (Buffer.equals: deep equality of 100 KB values is slow)
          expect(decoded.records).toHaveLength(records.length);
          decoded.records.forEach((r, i) => {
            expect(r.key!.equals(records[i]!.key!)).toBe(true);
            expect(r.value!.equals(records[i]!.value!)).toBe(true);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('Property: a flipped bit never yields a silently wrong batch', () => {
  it('is a typed error, or — outside the CRC — a visible change of baseOffset or leader epoch', () => {
    fc.assert(
      fc.property(producerRecords, codec, fc.nat(), (records, { compression, lz4: impl }, bitSeed) => {
        // Prepare
        useImplementation(impl);
        const original = encodeRecordBatch(records, { compression, now: NOW });
        const bit = bitSeed % (original.length * 8);
        const flipped = Buffer.from(original);
        flipped[bit >> 3] = flipped[bit >> 3]! ^ (1 << (bit & 7));
        const byte = bit >> 3;
        const outsideCrc = byte < 8 || (byte >= 12 && byte < 16);

        // Act
        let decoded: ReturnType<typeof decodeRecordBatch> | undefined;
        const decodeThrew = throwsOnlySluiceError(() => {
          decoded = decodeRecordBatch(flipped);
        });
        const validateThrew = throwsOnlySluiceError(() => validateBatches(flipped));

        // Assess
        if (!outsideCrc) {
          expect(decodeThrew).toBe(true);
          expect(validateThrew).toBe(true);
          return;
        }
        expect(validateThrew).toBe(false);
        if (decoded !== undefined) {
          const before = decodeRecordBatch(original);
          const header = decoded.header;
          expect(
            header.baseOffset !== before.header.baseOffset ||
              header.partitionLeaderEpoch !== before.header.partitionLeaderEpoch,
          ).toBe(true);
          const shift = header.baseOffset - before.header.baseOffset;
          expect(plain(decoded.records)).toEqual(
            plain(before.records).map((r) => ({ ...r, offset: r.offset + shift })),
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Property: a truncated body is never taken for a whole one', () => {
  it('is a typed error for validateBatches and decodeRecordBatch (unless cut between batches), partialBytes for decodeRecordBatches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(producerRecords, codec), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (specs, cutSeed) => {
          // Prepare
          const batches = specs.map(([records, { compression, lz4: impl }]) => {
            useImplementation(impl);
            return encodeRecordBatch(records, { compression, now: NOW });
          });
          const body = Buffer.concat(batches);
          const cut = cutSeed % body.length;
          const truncated = body.subarray(0, cut);
          let complete = 0;
          let completeBytes = 0;
          for (const b of batches) {
            if (completeBytes + b.length > cut) break;
            complete++;
            completeBytes += b.length;
          }

          // Act / Assess: a cut between two batches leaves a shorter, valid body
          const onBoundary = cut === completeBytes && cut > 0;
          expect(throwsOnlySluiceError(() => validateBatches(truncated))).toBe(!onBoundary);
          expect(throwsOnlySluiceError(() => decodeRecordBatch(truncated))).toBe(cut !== batches[0]!.length);
          const result = decodeRecordBatches(truncated);
          expect(result.batches).toHaveLength(complete);
          expect(result.partialBytes).toBe(cut - completeBytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Property: garbage is answered with SluiceError only', () => {
  it('holds for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 300 }), (array, at) => {
        const buf = Buffer.from(array);
        throwsOnlySluiceError(() => decodeRecordBatch(buf));
        throwsOnlySluiceError(() => decodeRecordBatches(buf));
        throwsOnlySluiceError(() => validateBatches(buf));
        throwsOnlySluiceError(() => readBatchHeader(buf, at));
      }),
      { numRuns: 2000 },
    );
  });

  it('holds for batches whose header fields and records are rewritten at random under a valid CRC', () => {
    fc.assert(
      fc.property(
        producerRecords,
        codec,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (records, { compression, lz4: impl }, edits, headerToo) => {
          // Prepare
          useImplementation(impl);
          const buf = encodeRecordBatch(records, { compression, now: NOW });
          const from = headerToo ? 21 : RECORD_BATCH_HEADER_BYTES;
          for (const [position, value] of edits) buf[from + (position % (buf.length - from))] = value;
          recrc(buf);

          // Act / Assess
          for (const decoder of ['auto', 'js'] as const) {
            useImplementation(decoder);
            throwsOnlySluiceError(() => decodeRecordBatch(buf));
            throwsOnlySluiceError(() => validateBatches(buf));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('Property: an lz4 bomb is stopped at the cap', () => {
  /** An lz4 batch whose records are `blocks` blocks of 64 KiB of zeros, ~300 bytes each. */
  function bomb(blocks: number): Buffer {
    const zeros = Buffer.alloc(70_000);
    const n = lz4.encodeBlock(Buffer.alloc(65_536), zeros);
    const descriptor = Buffer.from([0x60, 0x40]);
    const parts: Buffer[] = [
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, (xxh32(0, descriptor, 0, 2) >>> 8) & 0xff]),
    ];
    for (let i = 0; i < blocks; i++) {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(n);
      parts.push(size, zeros.subarray(0, n));
    }
    parts.push(Buffer.alloc(4));
    const header = encodeRecordBatch([{ value: null }], { compression: 'none', now: NOW }).subarray(0, 61);
    const buf = Buffer.concat([header, ...parts]);
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeInt16BE(3, 21);
    return recrc(buf);
  }

  it('gives RECORD_LIST_TOO_LARGE whenever the blocks expand beyond maxDecompressedBytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.constantFrom<'auto' | 'js'>('auto', 'js'),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        (blocks, impl, fraction) => {
          // Prepare
          useImplementation(impl);
          const buf = bomb(blocks);
          const cap = Math.floor(blocks * 65_536 * fraction);

          // Act / Assess
          expect(buf.length).toBeLessThan(blocks * 400);
          expectSluiceError(
            () => decodeRecordBatch(buf, { maxDecompressedBytes: cap }),
            'RECORD_LIST_TOO_LARGE',
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives RECORD_LIST_TOO_LARGE at the default cap of 64 MB for a 300 KB batch', () => {
    // Prepare: 1,100 blocks × 64 KiB ≈ 70 MB
    const buf = bomb(1100);

    // Act
    let error: unknown;
    try {
      decodeRecordBatch(buf);
    } catch (err) {
      error = err;
    }

    // Assess
    expect(buf.length).toBeLessThan(400_000);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('RECORD_LIST_TOO_LARGE');
  });
});
