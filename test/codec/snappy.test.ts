import fc from 'fast-check';
import * as snappyjs from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatch, encodeRecordBatch, type ProducerRecord } from '../../shared/codec';
import {
  jsDecompressRaw,
  snappyCompress,
  snappyCompressXerial,
  snappyDecompress,
  snappyImplementation,
  useSnappyImplementation,
} from '../../shared/codec/snappy';
import { SluiceError } from '../../shared/errors';
import {
  codecImplementations,
  expectSluiceError,
  itLoadsTheNativeAddon,
  MB,
  plain,
  recrc,
  text,
  wholeBuffer,
} from './helpers';

const IMPLEMENTATIONS = codecImplementations(useSnappyImplementation);
const NOW = 1_700_000_000_000;
const XERIAL_HEADER = Buffer.from('82534e41505059000000000100000001', 'hex');

const decompress = wholeBuffer(snappyDecompress);

/** snappy-java's framing built by hand around snappyjs's raw streams, as SnappyOutputStream writes it. */
function xerial(data: Buffer, chunkBytes: number): Buffer {
  const parts = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let at = 0; at < data.length; at += chunkBytes) {
    const chunk = snappyjs.compress(Buffer.from(data.subarray(at, at + chunkBytes)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

/** A uvarint, as a raw stream's preamble. */
function uvarint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/** A batch of `records` whose record bytes are replaced by `compress(records bytes)`, codec snappy. */
function snappyBatch(records: ProducerRecord[], compress: (raw: Buffer) => Buffer): Buffer {
  const plainBatch = encodeRecordBatch(records, { compression: 'none', now: NOW });
  const body = compress(plainBatch.subarray(61));
  const buf = Buffer.concat([plainBatch.subarray(0, 61), body]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt16BE(2, 21);
  return recrc(buf);
}

const data = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.integer({ min: 0, max: 200_000 }), fc.nat()).map(([n, seed]) => text(n, seed)),
);

describe('Function: snappyCompress / snappyDecompress', () => {
  itLoadsTheNativeAddon(snappyImplementation);

  for (const impl of IMPLEMENTATIONS) {
    it(`round-trips any data, raw and framed (${impl})`, () => {
      useSnappyImplementation(impl);
      fc.assert(
        fc.property(data, fc.integer({ min: 1, max: 70_000 }), (input, chunkBytes) => {
          // Act / Assess
          expect(decompress(snappyCompress(input)).equals(input)).toBe(true);
          if (input.length > 0) {
            expect(decompress(snappyCompressXerial(input, chunkBytes)).equals(input)).toBe(true);
          }
        }),
        { numRuns: 60 },
      );
    });
  }

  it('reads what the other implementations write: native addon, snappyjs and hand-built xerial frames', () => {
    fc.assert(
      fc.property(data, fc.integer({ min: 1, max: 40_000 }), (input, chunkBytes) => {
        // Prepare: raw streams from both compressors, and snappy-java's framing around snappyjs's
        useSnappyImplementation('native');
        const fromNative = snappyCompress(input);
        useSnappyImplementation('js');
        const fromJs = snappyCompress(input);
        const framed = input.length > 0 ? xerial(input, chunkBytes) : null;

        // Act / Assess: both decoders read all three, and snappyjs reads ours
        for (const impl of IMPLEMENTATIONS) {
          useSnappyImplementation(impl);
          expect(decompress(fromNative).equals(input)).toBe(true);
          expect(decompress(fromJs).equals(input)).toBe(true);
          if (framed !== null) expect(decompress(framed).equals(input)).toBe(true);
        }
        expect(Buffer.from(snappyjs.uncompress(fromNative)).equals(input)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('writes snappy-java’s header and 4-byte big-endian chunk lengths when asked for the framing', () => {
    // Act
    const framed = snappyCompressXerial(text(70_000), 32 * 1024);

    // Assess: 3 chunks (32 KB, 32 KB, 4464 bytes) after the 16-byte header
    expect(framed.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    expect(XERIAL_HEADER.subarray(0, 8).equals(framed.subarray(0, 8))).toBe(true);
    let at = 16;
    const lengths: number[] = [];
    while (at < framed.length) {
      const n = framed.readInt32BE(at);
      lengths.push(snappyjs.uncompress(Buffer.from(framed.subarray(at + 4, at + 4 + n))).length);
      at += 4 + n;
    }
    expect(lengths).toEqual([32_768, 32_768, 70_000 - 65_536]);
  });

  for (const impl of IMPLEMENTATIONS) {
    it(`answers malformed data with CORRUPT_MESSAGE, never a crash or wrong bytes (${impl})`, () => {
      useSnappyImplementation(impl);
      const cases: [string, Buffer][] = [
        ['empty', Buffer.alloc(0)],
        ['a preamble cut short', Buffer.from([0x80, 0x80])],
        ['a preamble beyond 2^32', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])],
        ['a copy before the first byte', Buffer.concat([uvarint(8), Buffer.from([0x01 | (3 << 2), 0x05])])],
        ['a copy with offset 0', Buffer.concat([uvarint(8), Buffer.from([0x00, 0x61, 0x0d, 0x00])])],
        ['fewer bytes than declared', Buffer.concat([uvarint(10), Buffer.from([0x08, 0x61, 0x62, 0x63])])],
        ['more bytes than declared', Buffer.concat([uvarint(2), Buffer.from([0x08, 0x61, 0x62, 0x63])])],
        ['a literal cut short', Buffer.concat([uvarint(3), Buffer.from([0x08, 0x61])])],
        ['a 4-byte literal length cut short', Buffer.concat([uvarint(3), Buffer.from([0xfc, 0x01])])],
        ['a xerial header cut short', XERIAL_HEADER.subarray(0, 12)],
        ['a xerial chunk length cut short', Buffer.concat([XERIAL_HEADER, Buffer.from([0, 0])])],
        ['a xerial chunk beyond the data', Buffer.concat([XERIAL_HEADER, Buffer.from([0, 0, 0, 9, 1, 0])])],
        ['a xerial chunk of length 0', Buffer.concat([XERIAL_HEADER, Buffer.from([0, 0, 0, 0])])],
        ['a negative xerial chunk length', Buffer.concat([XERIAL_HEADER, Buffer.from([0xff, 0, 0, 0])])],
      ];
      for (const [name, input] of cases) {
        const err = expectSluiceError(() => decompress(input), 'CORRUPT_MESSAGE');
        expect(err.message, name).toMatch(/^Snappy: /);
      }
    });
  }

  it('agrees with the native decoder on every mutated stream: both reject, or both give the same bytes', () => {
    fc.assert(
      fc.property(
        data.filter((d) => d.length > 0),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        (input, edits) => {
          // Prepare
          const stream = Buffer.from(snappyCompress(input));
          for (const [position, value] of edits) stream[position % stream.length] = value;

          // Act
          const results = IMPLEMENTATIONS.map((impl) => {
            useSnappyImplementation(impl);
            try {
              return decompress(stream, 4 * MB);
            } catch (err) {
              if (!(err instanceof SluiceError)) throw err;
              return err.code;
            }
          });

          // Assess
          const [native, js] = results;
          if (Buffer.isBuffer(native) && Buffer.isBuffer(js)) expect(js.equals(native)).toBe(true);
          else expect(js).toEqual(native);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never writes outside the slot it is given', () => {
    // Prepare: a stream of 100 bytes, decoded into a 50-byte slot inside a larger buffer
    const stream = snappyCompress(text(100));
    const dst = Buffer.alloc(200, 0xee);

    // Act
    const n = jsDecompressRaw(stream, 1, stream.length, dst, 50, 100);

    // Assess
    expect(n).toBe(-1);
    expect(dst.subarray(0, 50).every((b) => b === 0xee)).toBe(true);
    expect(dst.subarray(100).every((b) => b === 0xee)).toBe(true);
  });
});

describe('Property: a snappy bomb is refused before it is decompressed', () => {
  for (const impl of IMPLEMENTATIONS) {
    it(`gives RECORD_LIST_TOO_LARGE for declared lengths over the cap (${impl})`, () => {
      useSnappyImplementation(impl);
      // A raw stream of 4 MiB of zeros is ~200 KB; a preamble alone can claim 4 GiB.
      const zeros = snappyCompress(Buffer.alloc(4 * MB));
      expect(zeros.length).toBeLessThan(MB / 4);
      expectSluiceError(() => decompress(zeros, 4 * MB - 1), 'RECORD_LIST_TOO_LARGE');
      expect(decompress(zeros, 4 * MB)).toHaveLength(4 * MB);
      const claim = Buffer.concat([uvarint(0xffffffff), Buffer.from([0x00, 0x61])]);
      expectSluiceError(() => decompress(claim), 'RECORD_LIST_TOO_LARGE');
      // Framed: 100 chunks of 1 MiB of zeros each, ~50 bytes a chunk, against a 64 MiB cap
      const chunk = snappyCompress(Buffer.alloc(MB));
      const length = Buffer.alloc(4);
      length.writeInt32BE(chunk.length);
      const framed = Buffer.concat([
        XERIAL_HEADER,
        ...Array.from({ length: 100 }, () => [length, chunk]).flat(),
      ]);
      expectSluiceError(() => decompress(framed, 64 * MB), 'RECORD_LIST_TOO_LARGE');
    });
  }
});

describe('Function: decodeRecordBatch (snappy)', () => {
  const records: ProducerRecord[] = Array.from({ length: 500 }, (_, i) => ({
    key: Buffer.from(`user-${i % 7}`),
    value: Buffer.from(JSON.stringify({ id: i, event: 'click', page: `/p/${i % 13}` })),
    headers: [{ key: 'trace', value: Buffer.from(`t-${i}`) }],
    timestamp: NOW + i,
  }));

  for (const impl of IMPLEMENTATIONS) {
    it(`decodes a raw stream (librdkafka), Java's xerial framing, and our own encoding (${impl})`, () => {
      // Prepare
      useSnappyImplementation(impl);
      const expected = plain(
        decodeRecordBatch(encodeRecordBatch(records, { compression: 'none', now: NOW })).records,
      );
      const batches = [
        snappyBatch(records, (raw) => Buffer.from(snappyjs.compress(Buffer.from(raw)))),
        snappyBatch(records, (raw) => xerial(raw, 32 * 1024)),
        encodeRecordBatch(records, { compression: 'snappy', now: NOW }),
      ];

      // Act / Assess
      for (const batch of batches) {
        const decoded = decodeRecordBatch(batch);
        expect(decoded.header.compression).toBe('snappy');
        expect(plain(decoded.records)).toEqual(expected);
      }
      expect(batches[2]!.length).toBeLessThan(batches[0]!.length * 1.2);
    });
  }

  it('caps a batch at maxDecompressedBytes', () => {
    const batch = encodeRecordBatch(records, { compression: 'snappy', now: NOW });
    expectSluiceError(
      () => decodeRecordBatch(batch, { maxDecompressedBytes: 1000 }),
      'RECORD_LIST_TOO_LARGE',
    );
  });
});
