/**
 * Bad input B1–B9 as property-based fuzzing (reliability.md). The codec level runs many cases per
 * property, with shrinking; the HTTP level (bad-input.ts) holds the running stack's answers to the
 * codec's verdicts and checks that nothing bad is ever written. Fixed examples live in
 * test/api/bad-input.test.ts.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  type ProducerRecord,
  stampBaseOffset,
  validateBatches,
} from '../../shared/codec/record-batch';
import { type ErrorCode, isSluiceError } from '../../shared/errors';
import { compressionArb, fuzzBadInput, recordArb, resign } from './bad-input';
import { formatViolations } from './checker';
import { type StackUnderTest, startStack } from './environment';
import { HttpTransport } from './transport';

const SEED = Number(process.env.RELIABILITY_SEED ?? 51);
const RUNS = { seed: SEED, numRuns: 300 };

/** The code the codec throws, or 'accepted'. */
function verdict(run: () => unknown): ErrorCode | 'accepted' {
  try {
    run();
    return 'accepted';
  } catch (err) {
    if (isSluiceError(err)) return err.code;
    throw err;
  }
}

const records = fc.array(recordArb, { minLength: 1, maxLength: 5 });
const batchArb = fc
  .tuple(records, compressionArb)
  .map(([rs, compression]) => ({ rs, compression, batch: encodeRecordBatch(rs, { compression }) }));
const REJECTIONS: ErrorCode[] = [
  'CORRUPT_MESSAGE',
  'INVALID_RECORD',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_COMPRESSION_TYPE',
];

const plain = (rs: readonly ProducerRecord[]) =>
  rs.map((r) => [
    r.key ?? null,
    r.value ?? null,
    (r.headers ?? []).map((h) => [h.key, h.value]),
    r.timestamp,
  ]);

describe('Reliability: bad input at the codec level', () => {
  it('B1: a single flipped bit is rejected anywhere but in the base offset and the leader epoch', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: 0, max: 2 }), ({ batch, rs }, at, copies) => {
        const body = Buffer.concat(Array.from({ length: copies + 1 }, () => batch));
        const bit = at % (batch.length * 8);
        const byte = bit >> 3;
        const flipped = Buffer.from(body);
        const target = copies * batch.length + byte; // in the last batch
        flipped[target]! ^= 1 << (bit & 7);
        const unchecked = byte < 8 || (byte >= 12 && byte < 16);
        const got = verdict(() => validateBatches(flipped));
        if (unchecked) {
          expect(got).toBe('accepted');
          // The server stamps the base offset over whatever the producer sent.
          stampBaseOffset(flipped, copies * batch.length, 0);
          const decoded = decodeRecordBatches(flipped).batches.at(-1)!.records;
          expect(plain(decoded)).toEqual(plain(rs));
        } else {
          expect(REJECTIONS).toContain(got);
          // A consumer never takes it for whole batches either (a longer length reads as a partial batch).
          let whole = false;
          try {
            const decoded = decodeRecordBatches(flipped);
            whole = decoded.partialBytes === 0 && decoded.batches.length === copies + 1;
          } catch {
            whole = false;
          }
          expect(whole).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('B2: a cut anywhere but at a batch boundary, or trailing bytes, are rejected', () => {
    fc.assert(
      fc.property(
        fc.array(batchArb, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 70 }),
        (batches, cut, garbage) => {
          const body = Buffer.concat(batches.map((b) => b.batch));
          const at = cut % body.length;
          const boundaries = new Set<number>();
          let end = 0;
          for (const b of batches) {
            end += b.batch.length;
            boundaries.add(end);
          }
          const truncated = verdict(() => validateBatches(body.subarray(0, at)));
          if (boundaries.has(at)) expect(truncated).toBe('accepted');
          else expect(truncated).toBe('CORRUPT_MESSAGE');
          expect(REJECTIONS).toContain(
            verdict(() => validateBatches(Buffer.concat([body, Buffer.from(garbage)]))),
          );
        },
      ),
      RUNS,
    );
  });

  it('B3: batches over the size limit are refused, and decompression stops at its cap', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.integer({ min: 61, max: 4000 }),
        fc.integer({ min: 1, max: 4000 }),
        ({ rs, batch }, limit, cap) => {
          expect(verdict(() => validateBatches(batch, { maxBatchBytes: limit }))).toBe(
            batch.length > limit ? 'MESSAGE_TOO_LARGE' : 'accepted',
          );
          const inflated = encodeRecordBatch(rs, { compression: 'none' }).length - 61;
          expect(verdict(() => decodeRecordBatch(batch, { maxDecompressedBytes: cap }))).toBe(
            inflated > cap ? 'RECORD_LIST_TOO_LARGE' : 'accepted',
          );
        },
      ),
      RUNS,
    );
  });

  it('B4: any magic but 2, unknown codecs, and transactional, control or unknown attribute bits are refused', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: -128, max: 127 }),
        ({ batch }, attributes, magic) => {
          const edited = Buffer.from(batch);
          const original = edited.readInt16BE(21) & 7;
          edited.writeUInt16BE((attributes & ~7) | original, 21);
          const codec = attributes & 7;
          const recoded = Buffer.from(edited);
          recoded.writeUInt16BE((attributes & ~7) | codec, 21);
          const expectFor = (attrs: number): ErrorCode | 'accepted' => {
            const c = attrs & 7;
            if (c > 4) return 'CORRUPT_MESSAGE';
            if (attrs & 0x30) return 'UNSUPPORTED_FOR_MESSAGE_FORMAT';
            if (attrs & ~0x3f & 0xffff) return 'UNSUPPORTED_FOR_MESSAGE_FORMAT';
            return 'accepted';
          };
          expect(verdict(() => validateBatches(resign(recoded)))).toBe(expectFor((attributes & ~7) | codec));
          const wrongMagic = Buffer.from(batch);
          wrongMagic.writeInt8(magic, 16);
          const m = verdict(() => validateBatches(wrongMagic));
          if (magic === 2) expect(m).toBe('accepted');
          else
            expect(m).toBe(magic === 0 || magic === 1 ? 'UNSUPPORTED_FOR_MESSAGE_FORMAT' : 'CORRUPT_MESSAGE');
        },
      ),
      RUNS,
    );
  });

  it('B5: record counts that disagree are refused (or fail to decode), and sequences may not wrap', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.integer({ min: -5, max: 2 ** 31 - 1 }),
        fc.integer({ min: -5, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        ({ batch, rs }, count, lastOffsetDelta, baseSequence) => {
          const edited = Buffer.from(batch);
          edited.writeInt32BE(count, 57);
          edited.writeInt32BE(lastOffsetDelta, 23);
          resign(edited);
          const got = verdict(() => validateBatches(edited));
          if (count < 1 || count !== lastOffsetDelta + 1) expect(got).toBe('INVALID_RECORD');
          if (count !== rs.length) expect(() => decodeRecordBatch(edited)).toThrow();
          const idempotent = verdict(() =>
            validateBatches(
              encodeRecordBatch(rs, { compression: 'none', producerId: 1, producerEpoch: 0, baseSequence }),
            ),
          );
          expect(idempotent).toBe(baseSequence + rs.length - 1 > 2 ** 31 - 1 ? 'INVALID_RECORD' : 'accepted');
        },
      ),
      RUNS,
    );
  });

  it('B9: arbitrary keys, values and headers round-trip exactly, under any base offset', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 10 }),
        ({ batch, rs }, base) => {
          const stamped = Buffer.from(batch);
          stampBaseOffset(stamped, 0, base);
          expect(verdict(() => validateBatches(stamped))).toBe('accepted');
          const decoded = decodeRecordBatch(stamped).records;
          expect(plain(decoded)).toEqual(plain(rs));
          expect(decoded.map((r) => r.offset)).toEqual(rs.map((_, i) => base + i));
        },
      ),
      RUNS,
    );
  });
});

describe('Reliability: bad input over HTTP', () => {
  let sut: StackUnderTest;
  let transport: HttpTransport;
  beforeAll(async () => {
    sut = await startStack();
    transport = new HttpTransport(sut.url);
  });
  afterAll(async () => {
    transport?.close();
    await sut?.stop();
  });

  it('B1–B9: answers every fuzzed input as the codec judges it, and writes nothing it refuses', async () => {
    const result = await fuzzBadInput({ http: transport.http, direct: sut.direct, seed: SEED, numRuns: 30 });
    expect(formatViolations(result.violations)).toBe('');
    expect(result.requests).toBeGreaterThan(100);
  }, 180_000);
});
