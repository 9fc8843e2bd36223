import { gzipSync } from 'node:zlib';
import lz4 from 'lz4';
import { describe, expect, it } from 'vitest';
import type { Compression, ProducerRecord } from '../../shared/codec';
import {
  canCompressZstd,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  RECORD_BATCH_HEADER_BYTES,
  readBatchHeader,
  stampBaseOffset,
  validateBatches,
} from '../../shared/codec';
import type { ErrorCode } from '../../shared/errors';
import { expectSluiceError, plain, recrc } from './helpers';
import { kafkajsCrc32c } from './kafkajs';

const NOW = 1_700_000_000_000;
const hello: ProducerRecord = {
  key: Buffer.from('k1'),
  value: Buffer.from('hello'),
  headers: [{ key: 'h', value: Buffer.from('v') }],
};

function batch(records: ProducerRecord[] = [hello], compression: 'none' | 'lz4' | 'gzip' = 'none'): Buffer {
  return encodeRecordBatch(records, { compression, now: NOW });
}

function records(count: number): ProducerRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.from(JSON.stringify({ i, text: 'some repeated text '.repeat(3) })),
    timestamp: NOW + i,
  }));
}

/** An uncompressed batch whose records section is `recordBytes`, claiming `count` records; CRC valid. */
function handMade(recordBytes: Buffer, count: number): Buffer {
  const buf = Buffer.concat([batch().subarray(0, RECORD_BATCH_HEADER_BYTES), recordBytes]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(count - 1, 23);
  buf.writeInt32BE(count, 57);
  return recrc(buf);
}

describe('Function: encodeRecordBatch', () => {
  it('writes the record of the Kafka format example byte for byte', () => {
    // Act
    const buf = batch();

    // Assess
    expect(buf.subarray(RECORD_BATCH_HEADER_BYTES).toString('hex')).toBe(
      '2200000004' + '6b31' + '0a' + '68656c6c6f' + '02' + '02' + '68' + '02' + '76',
    );
  });

  it("writes the 61-byte header with Java's defaults and a CRC-32C kafkajs agrees with", () => {
    // Act
    const buf = encodeRecordBatch(
      [
        { value: Buffer.from('a'), timestamp: NOW + 5 },
        { value: Buffer.from('b'), timestamp: NOW + 9 },
        { value: Buffer.from('c'), timestamp: NOW + 1 },
      ],
      { compression: 'none', now: NOW },
    );

    // Assess
    expect(buf.readBigInt64BE(0)).toBe(0n); // baseOffset
    expect(buf.readInt32BE(8)).toBe(buf.length - 12); // batchLength
    expect(buf.readInt32BE(12)).toBe(-1); // partitionLeaderEpoch
    expect(buf.readInt8(16)).toBe(2); // magic
    expect(buf.readUInt32BE(17)).toBe(kafkajsCrc32c(buf.subarray(21)));
    expect(buf.readInt16BE(21)).toBe(0); // attributes: none, CreateTime
    expect(buf.readInt32BE(23)).toBe(2); // lastOffsetDelta
    expect(buf.readBigInt64BE(27)).toBe(BigInt(NOW + 5)); // baseTimestamp: the first record's
    expect(buf.readBigInt64BE(35)).toBe(BigInt(NOW + 9)); // maxTimestamp
    expect(buf.readBigInt64BE(43)).toBe(-1n); // producerId
    expect(buf.readInt16BE(51)).toBe(-1); // producerEpoch
    expect(buf.readInt32BE(53)).toBe(-1); // baseSequence
    expect(buf.readInt32BE(57)).toBe(3); // recordCount
  });

  it('compresses with lz4 by default, in a Kafka LZ4 frame', () => {
    // Act
    const buf = encodeRecordBatch(records(100), { now: NOW });

    // Assess
    expect(buf.readInt16BE(21) & 7).toBe(3);
    expect(buf.readInt32BE(57)).toBe(100);
    expect(buf.subarray(61, 68).toString('hex')).toBe('04224d18604082');
    expect(lz4.decode(buf.subarray(61)).length).toBeGreaterThan(buf.length - 61);
  });

  it('writes the producer fields, leader epoch and base offset it is given', () => {
    // Act
    const buf = encodeRecordBatch([hello], {
      compression: 'gzip',
      baseOffset: 42,
      producerId: 1234,
      producerEpoch: 3,
      baseSequence: 17,
      partitionLeaderEpoch: 9,
      now: NOW,
    });

    // Assess
    const header = readBatchHeader(buf);
    expect(header).toMatchObject({
      baseOffset: 42,
      partitionLeaderEpoch: 9,
      compression: 'gzip',
      producerId: 1234,
      producerEpoch: 3,
      baseSequence: 17,
      baseTimestamp: NOW,
      maxTimestamp: NOW,
    });
  });

  it('refuses an empty batch, unknown codecs, bad timestamps and values that are not bytes', () => {
    // Prepare: what a JavaScript caller, unchecked by the types, might pass
    const untyped = <T>(value: unknown) => value as T;

    // Act / Assess
    expectSluiceError(() => encodeRecordBatch([]), 'INVALID_RECORD');
    // Writing zstd needs Node ≥ 22.15's zlib; reading it works everywhere.
    for (const compression of ['brotli', 'LZ4', '', ...(canCompressZstd() ? [] : ['zstd'])]) {
      expectSluiceError(
        () => encodeRecordBatch([hello], { compression: untyped<Compression>(compression) }),
        'UNSUPPORTED_COMPRESSION_TYPE',
      );
    }
    expectSluiceError(() => encodeRecordBatch([{ value: null, timestamp: -1 }]), 'INVALID_RECORD');
    expectSluiceError(() => encodeRecordBatch([{ value: null, timestamp: 1.5 }]), 'INVALID_RECORD');
    expectSluiceError(() => encodeRecordBatch([{ value: untyped<Buffer>('text') }]), 'INVALID_RECORD');
    expectSluiceError(
      () => encodeRecordBatch([{ value: null, headers: [{ key: 'h', value: untyped<Buffer>(5) }] }]),
      'INVALID_RECORD',
    );
    expect(() => encodeRecordBatch([hello], { producerEpoch: 40_000 })).toThrow(RangeError);
  });
});

describe('Function: readBatchHeader', () => {
  it('reads the header of a batch at any position', () => {
    // Prepare
    const first = batch();
    const second = encodeRecordBatch(records(3), { compression: 'lz4', now: NOW, baseOffset: 7 });

    // Act
    const header = readBatchHeader(Buffer.concat([first, second]), first.length);

    // Assess
    expect(header).toEqual({
      baseOffset: 7,
      batchLength: second.length - 12,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: second.readUInt32BE(17),
      attributes: 3,
      compression: 'lz4',
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 2,
      baseTimestamp: NOW,
      maxTimestamp: NOW + 2,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 3,
      sizeInBytes: second.length,
    });
  });

  it('fails with CORRUPT_MESSAGE when fewer than 61 bytes remain', () => {
    const buf = batch();
    const error = expectSluiceError(() => readBatchHeader(buf.subarray(0, 60)), 'CORRUPT_MESSAGE');
    expect(error.message).toContain('61');
    expectSluiceError(() => readBatchHeader(buf, buf.length - 10), 'CORRUPT_MESSAGE');
  });
});

describe('Function: stampBaseOffset', () => {
  it('rewrites the base offset without invalidating the CRC', () => {
    // Prepare
    const buf = Buffer.concat([batch(), batch(records(3), 'lz4')]);
    const second = batch().length;

    // Act
    stampBaseOffset(buf, 0, 100);
    stampBaseOffset(buf, second, 2 ** 40);

    // Assess
    expect(validateBatches(buf).map((h) => h.baseOffset)).toEqual([100, 2 ** 40]);
    const { batches } = decodeRecordBatches(buf);
    expect(batches.map((b) => b.records.map((r) => r.offset))).toEqual([
      [100],
      [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2],
    ]);
  });

  it('refuses a negative offset or a position without a batch header', () => {
    expect(() => stampBaseOffset(batch(), 0, -1)).toThrow(RangeError);
    expect(() => stampBaseOffset(batch(), 20, 1)).toThrow(RangeError);
  });
});

describe('Function: validateBatches', () => {
  it('accepts concatenated batches of every supported codec and returns their headers', () => {
    // Prepare
    const body = Buffer.concat([batch(), batch(records(10), 'lz4'), batch(records(5), 'gzip')]);

    // Act
    const headers = validateBatches(body);

    // Assess
    expect(headers.map((h) => [h.compression, h.recordCount])).toEqual([
      ['none', 1],
      ['lz4', 10],
      ['gzip', 5],
    ]);
  });

  it('ignores the base offset and leader epoch, which the CRC does not cover', () => {
    // Prepare
    const buf = batch();
    buf.fill(0xff, 0, 8);
    buf.writeInt32BE(12345, 12);

    // Act / Assess
    expect(validateBatches(buf)[0]!.partitionLeaderEpoch).toBe(12345);
  });

  it('accepts every codec Kafka has (0–4) without decompressing', () => {
    // Prepare: one batch relabelled with each codec id, re-signed
    for (const [id, name] of ['none', 'gzip', 'snappy', 'lz4', 'zstd'].entries()) {
      const buf = batch();
      buf.writeInt16BE(id, 21);
      recrc(buf);

      // Act / Assess
      expect(validateBatches(buf)[0]!.compression).toBe(name);
    }
  });

  /** Header fields to overwrite: [position, width in bytes, value]. */
  type Edit = [at: number, width: 1 | 2 | 4 | 8, value: number];
  const write = (buf: Buffer, [at, width, value]: Edit) => {
    if (width === 1) buf.writeInt8(value, at);
    else if (width === 2) buf.writeInt16BE(value, at);
    else if (width === 4) buf.writeInt32BE(value, at);
    else buf.writeBigInt64BE(BigInt(value), at);
  };
  // Fields the CRC covers are rewritten under a recomputed CRC, so the check under test is the one failing.
  const cases: { name: string; edits: Edit[]; recomputeCrc: boolean; code: ErrorCode }[] = [
    { name: 'magic 1', edits: [[16, 1, 1]], recomputeCrc: false, code: 'UNSUPPORTED_FOR_MESSAGE_FORMAT' },
    { name: 'magic 0', edits: [[16, 1, 0]], recomputeCrc: false, code: 'UNSUPPORTED_FOR_MESSAGE_FORMAT' },
    { name: 'magic 3', edits: [[16, 1, 3]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'codec 5', edits: [[21, 2, 5]], recomputeCrc: true, code: 'CORRUPT_MESSAGE' },
    { name: 'codec 7', edits: [[21, 2, 7]], recomputeCrc: true, code: 'CORRUPT_MESSAGE' },
    {
      name: 'transactional',
      edits: [[21, 2, 0x10]],
      recomputeCrc: true,
      code: 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
    },
    { name: 'control', edits: [[21, 2, 0x20]], recomputeCrc: true, code: 'UNSUPPORTED_FOR_MESSAGE_FORMAT' },
    {
      name: 'unknown attribute bits',
      edits: [[21, 2, 0x40]],
      recomputeCrc: true,
      code: 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
    },
    {
      name: 'recordCount ≠ lastOffsetDelta + 1',
      edits: [[23, 4, 5]],
      recomputeCrc: true,
      code: 'INVALID_RECORD',
    },
    {
      name: 'recordCount 0',
      edits: [
        [57, 4, 0],
        [23, 4, -1],
      ],
      recomputeCrc: true,
      code: 'INVALID_RECORD',
    },
    {
      name: 'negative recordCount',
      edits: [
        [57, 4, -5],
        [23, 4, -6],
      ],
      recomputeCrc: true,
      code: 'INVALID_RECORD',
    },
    {
      name: 'more records than bytes',
      edits: [
        [57, 4, 500],
        [23, 4, 499],
      ],
      recomputeCrc: true,
      code: 'CORRUPT_MESSAGE',
    },
    { name: 'a wrong CRC', edits: [[17, 1, 0x55]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'a changed covered byte', edits: [[70, 1, 0x55]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'length beyond the body', edits: [[8, 4, 1000]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'length below a header', edits: [[8, 4, 48]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'negative length', edits: [[8, 4, -1]], recomputeCrc: false, code: 'CORRUPT_MESSAGE' },
    { name: 'producerId −2', edits: [[43, 8, -2]], recomputeCrc: true, code: 'INVALID_RECORD' },
    {
      name: 'producerId without epoch',
      edits: [
        [43, 8, 5],
        [53, 4, 0],
      ],
      recomputeCrc: true,
      code: 'INVALID_RECORD',
    },
    {
      name: 'producerId without sequence',
      edits: [
        [43, 8, 5],
        [51, 2, 0],
      ],
      recomputeCrc: true,
      code: 'INVALID_RECORD',
    },
    {
      name: 'a timestamp beyond 2^53',
      edits: [[35, 8, 2 ** 60]],
      recomputeCrc: true,
      code: 'CORRUPT_MESSAGE',
    },
  ];
  for (const { name, edits, recomputeCrc, code } of cases) {
    it(`rejects ${name} with ${code}`, () => {
      // Prepare
      const buf = batch([hello, hello]);
      for (const edit of edits) write(buf, edit);
      if (recomputeCrc) recrc(buf);

      // Act / Assess
      expectSluiceError(() => validateBatches(buf), code);
      expectSluiceError(() => decodeRecordBatch(buf), code);
    });
  }

  it('rejects a sequence range that would wrap past 2^31 − 1 with INVALID_RECORD', () => {
    // Prepare: an idempotent producer at sequence 2^31 − 1
    const idempotent = (records: ProducerRecord[]) =>
      encodeRecordBatch(records, {
        compression: 'none',
        producerId: 5,
        producerEpoch: 0,
        baseSequence: 0x7fffffff,
      });

    // Act / Assess: one record fits, two would wrap
    expect(validateBatches(idempotent([hello]))).toHaveLength(1);
    const error = expectSluiceError(() => validateBatches(idempotent([hello, hello])), 'INVALID_RECORD');
    expect(error.message).toContain('2147483647');
  });

  it('rejects a partial trailing batch and an empty body with CORRUPT_MESSAGE, saying so', () => {
    // Prepare
    const whole = batch();
    const body = Buffer.concat([whole, whole.subarray(0, 30)]);

    // Act / Assess
    const error = expectSluiceError(() => validateBatches(body), 'CORRUPT_MESSAGE');
    expect(error.message).toContain(`partial batch: 30 bytes at byte ${whole.length}`);
    expectSluiceError(() => validateBatches(Buffer.concat([whole, whole.subarray(0, 5)])), 'CORRUPT_MESSAGE');
    expectSluiceError(() => validateBatches(Buffer.alloc(0)), 'CORRUPT_MESSAGE');
  });

  it('rejects a batch larger than maxBatchBytes with MESSAGE_TOO_LARGE', () => {
    // Prepare
    const body = Buffer.concat([batch(), batch(records(20))]);

    // Act / Assess
    expect(validateBatches(body, { maxBatchBytes: body.length })).toHaveLength(2);
    const error = expectSluiceError(() => validateBatches(body, { maxBatchBytes: 500 }), 'MESSAGE_TOO_LARGE');
    expect(error.message).toContain('500');
  });
});

describe('Function: decodeRecordBatch', () => {
  it('decodes keys, values, headers, offsets and timestamps', () => {
    // Prepare
    const input: ProducerRecord[] = [
      hello,
      { key: null, value: null, headers: [{ key: 'ünï', value: null }], timestamp: NOW - 5 },
      { value: Buffer.alloc(0), timestamp: NOW + 2 ** 40 },
    ];

    // Act
    const { header, records: decoded } = decodeRecordBatch(
      encodeRecordBatch(input, { compression: 'none', now: NOW, baseOffset: 10 }),
    );

    // Assess
    expect(header.recordCount).toBe(3);
    expect(plain(decoded)).toEqual([
      {
        offset: 10,
        timestamp: NOW,
        key: Buffer.from('k1'),
        value: Buffer.from('hello'),
        headers: [{ key: 'h', value: Buffer.from('v') }],
      },
      { offset: 11, timestamp: NOW - 5, key: null, value: null, headers: [{ key: 'ünï', value: null }] },
      { offset: 12, timestamp: NOW + 2 ** 40, key: null, value: Buffer.alloc(0), headers: [] },
    ]);
  });

  it('gives every record the batch maxTimestamp under LogAppendTime', () => {
    // Prepare
    const buf = batch(records(3));
    buf.writeInt16BE(0x08, 21);
    buf.writeBigInt64BE(BigInt(NOW + 1000), 35);
    recrc(buf);

    // Act
    const { header, records: decoded } = decodeRecordBatch(buf);

    // Assess
    expect(header.timestampType).toBe('LogAppendTime');
    expect(decoded.map((r) => r.timestamp)).toEqual([NOW + 1000, NOW + 1000, NOW + 1000]);
  });

  it('returns Buffers that are views of the batch when it is not compressed', () => {
    const buf = batch();
    const value = decodeRecordBatch(buf).records[0]!.value!;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.buffer).toBe(buf.buffer);
  });

  it('skips the CRC check only when told to', () => {
    const buf = batch();
    buf[17] = buf[17]! ^ 0xff;
    expectSluiceError(() => decodeRecordBatch(buf), 'CORRUPT_MESSAGE');
    expect(decodeRecordBatch(buf, { verifyCrc: false }).records).toHaveLength(1);
  });

  it('refuses bytes after the batch, and a batch cut short', () => {
    const buf = batch();
    expectSluiceError(() => decodeRecordBatch(Buffer.concat([buf, Buffer.alloc(1)])), 'CORRUPT_MESSAGE');
    expectSluiceError(() => decodeRecordBatch(buf.subarray(0, buf.length - 1)), 'CORRUPT_MESSAGE');
  });

  it('reads an lz4 batch whose frame uses the npm lz4 default layout (FLG 0x64, BD 0x70)', () => {
    // Prepare
    const plainBatch = batch(records(50));
    const frame = lz4.encode(plainBatch.subarray(RECORD_BATCH_HEADER_BYTES));
    const buf = Buffer.concat([plainBatch.subarray(0, RECORD_BATCH_HEADER_BYTES), frame]);
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeInt16BE(3, 21);
    recrc(buf);

    // Act
    const decoded = decodeRecordBatch(buf);

    // Assess
    expect(plain(decoded.records)).toEqual(plain(decodeRecordBatch(plainBatch).records));
  });

  it('caps the decompressed size of every codec with RECORD_LIST_TOO_LARGE', () => {
    // Prepare
    const big = records(2000);

    for (const compression of ['none', 'lz4', 'gzip'] as const) {
      // Act / Assess
      const buf = batch(big, compression);
      expect(decodeRecordBatch(buf, { maxDecompressedBytes: 1_000_000 }).records).toHaveLength(2000);
      expectSluiceError(
        () => decodeRecordBatch(buf, { maxDecompressedBytes: 50_000 }),
        'RECORD_LIST_TOO_LARGE',
      );
    }
  });

  it('stops a gzip bomb at the cap', () => {
    // Prepare: 80 MB of zeros (beyond the 64 MB default cap) in ~80 KB
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024));
    const buf = Buffer.concat([batch().subarray(0, RECORD_BATCH_HEADER_BYTES), bomb]);
    buf.writeInt32BE(buf.length - 12, 8);
    buf.writeInt16BE(1, 21);
    recrc(buf);

    // Act / Assess
    expectSluiceError(() => decodeRecordBatch(buf), 'RECORD_LIST_TOO_LARGE');
  });

  it('rejects records that do not add up, with CORRUPT_MESSAGE or INVALID_RECORD', () => {
    // Prepare: the example record is 22 00 00 00 04 6b31 0a 68656c6c6f 02 02 68 02 76
    const example = Buffer.from(
      '2200000004' + '6b31' + '0a' + '68656c6c6f' + '02' + '02' + '68' + '02' + '76',
      'hex',
    );
    const edit = (at: number, byte: number) => {
      const copy = Buffer.from(example);
      copy[at] = byte;
      return copy;
    };
    const cases: [Buffer, number, ErrorCode][] = [
      [example, 2, 'CORRUPT_MESSAGE'], // one record where two are claimed
      [Buffer.concat([example, Buffer.from([0])]), 1, 'CORRUPT_MESSAGE'], // a byte after the last record
      [edit(0, 0x20), 1, 'CORRUPT_MESSAGE'], // length 16, but the fields take 17
      [edit(0, 0x24), 1, 'CORRUPT_MESSAGE'], // length 18, beyond the data
      [edit(3, 0x02), 1, 'INVALID_RECORD'], // offsetDelta 1 for the first record
      [edit(4, 0x03), 1, 'CORRUPT_MESSAGE'], // key length −2
      [edit(4, 0x40), 1, 'CORRUPT_MESSAGE'], // key length 32, beyond the record
      [edit(13, 0x03), 1, 'CORRUPT_MESSAGE'], // header count −2
      [edit(13, 0x7e), 1, 'CORRUPT_MESSAGE'], // header count 63
      [edit(14, 0x01), 1, 'CORRUPT_MESSAGE'], // header key length −1
      [edit(16, 0x05), 1, 'CORRUPT_MESSAGE'], // header value length −3
      [edit(16, 0x04), 1, 'CORRUPT_MESSAGE'], // header value length 2, beyond the record
    ];

    for (const [recordBytes, count, code] of cases) {
      // Act / Assess
      expectSluiceError(() => decodeRecordBatch(handMade(recordBytes, count)), code);
    }
    // Record attributes are unused: any value decodes.
    expect(decodeRecordBatch(handMade(edit(1, 0x80), 1)).records).toHaveLength(1);
  });

  it('decodes a record whose timestamp delta and lengths take several varint bytes', () => {
    // Prepare
    const value = Buffer.alloc(20_000, 7);
    const input: ProducerRecord[] = [
      { value, timestamp: 0 },
      { value, timestamp: Number.MAX_SAFE_INTEGER },
    ];

    // Act
    const decoded = decodeRecordBatch(encodeRecordBatch(input, { compression: 'none' })).records;

    // Assess
    expect(decoded.map((r) => r.timestamp)).toEqual([0, Number.MAX_SAFE_INTEGER]);
    expect(decoded.every((r) => r.value!.equals(value))).toBe(true);
  });

  it('refuses record count claims that cannot fit before allocating for them', () => {
    const buf = handMade(Buffer.alloc(0), 1);
    buf.writeInt32BE(0x7ffffffe, 23);
    buf.writeInt32BE(0x7fffffff, 57);
    expectSluiceError(() => decodeRecordBatch(recrc(buf)), 'CORRUPT_MESSAGE');
  });
});

describe('Function: decodeRecordBatches', () => {
  it('decodes concatenated batches and reports a partial trailing batch in partialBytes', () => {
    // Prepare
    const a = batch();
    const b = batch(records(4), 'lz4');
    const c = batch(records(2), 'gzip');

    for (const cut of [0, 5, 12, 60, 61, c.length - 1]) {
      // Act
      const result = decodeRecordBatches(Buffer.concat([a, b, c.subarray(0, cut)]));

      // Assess
      expect(result.batches.map((x) => x.records.length)).toEqual([1, 4]);
      expect(result.partialBytes).toBe(cut);
    }
    expect(decodeRecordBatches(Buffer.concat([a, b, c])).batches).toHaveLength(3);
    expect(decodeRecordBatches(Buffer.alloc(0))).toEqual({ batches: [], partialBytes: 0 });
  });

  it('still throws on a broken complete batch', () => {
    const a = batch();
    a[70] = a[70]! ^ 1;
    expectSluiceError(() => decodeRecordBatches(Buffer.concat([batch(), a])), 'CORRUPT_MESSAGE');
  });
});
