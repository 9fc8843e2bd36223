import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Compression,
  decodeRecordBatch,
  encodeRecordBatch,
  type ProducerRecord,
  type RecordHeader,
  validateBatches,
} from '../../shared/codec';
import { bytes, expectedRecords, plain, producerRecords } from './helpers';
import {
  KafkajsCompression,
  type KafkajsDecodedRecord,
  kafkajsCrc32c,
  kafkajsDecodeBatch,
  kafkajsEncodeBatch,
} from './kafkajs';

const NOW = 1_700_000_000_000;
const KAFKAJS_CODEC: Record<Exclude<Compression, 'snappy' | 'zstd'>, number> = {
  none: KafkajsCompression.None,
  gzip: KafkajsCompression.GZIP,
  lz4: KafkajsCompression.LZ4,
};

/** Headers as kafkajs represents them: an object, repeated keys collected into arrays. */
function kafkajsHeaders(headers: readonly RecordHeader[]): KafkajsDecodedRecord['headers'] {
  const out: KafkajsDecodedRecord['headers'] = {};
  for (const { key, value } of headers) {
    const previous = Object.hasOwn(out, key) ? out[key] : undefined;
    const next =
      previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    // defineProperty, so a header named "__proto__" is a property like any other, as in kafkajs's spread
    Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

describe('Interop: Sluice encodes, kafkajs 2.2.4 decodes', () => {
  // kafkajs folds headers into a plain object, so a header named like an Object.prototype member
  // ("toString") comes out as [that function, value]: a kafkajs quirk, not a format question.
  const records = producerRecords.filter((rs) =>
    rs.every((r) => (r.headers ?? []).every((h) => !(h.key in {}))),
  );

  for (const compression of ['none', 'lz4', 'gzip'] as const) {
    it(`agrees on every field (${compression})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          records,
          fc.nat({ max: 2 ** 40 }),
          fc.option(
            fc.record({
              producerId: fc.nat({ max: 2 ** 40 }),
              producerEpoch: fc.nat({ max: 0x7fff }),
              baseSequence: fc.nat({ max: 2 ** 30 }),
            }),
            { nil: undefined },
          ),
          async (records, baseOffset, producer) => {
            // Prepare
            const buf = encodeRecordBatch(records, {
              compression,
              now: NOW,
              baseOffset,
              partitionLeaderEpoch: 3,
              ...producer,
            });

            // Act
            const theirs = await kafkajsDecodeBatch(buf);

            // Assess: kafkajs checks no CRC, so check ours with its CRC code
            expect(buf.readUInt32BE(17)).toBe(kafkajsCrc32c(buf.subarray(21)));
            const timestamps = records.map((r) => r.timestamp ?? NOW);
            expect(theirs).toMatchObject({
              firstOffset: String(baseOffset),
              firstTimestamp: String(timestamps[0]),
              maxTimestamp: String(Math.max(...timestamps)),
              lastOffsetDelta: records.length - 1,
              partitionLeaderEpoch: 3,
              producerId: String(producer?.producerId ?? -1),
              producerEpoch: producer?.producerEpoch ?? -1,
              firstSequence: producer?.baseSequence ?? -1,
            });
            expect(
              theirs.records.map((r) => ({
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r.headers,
              })),
            ).toEqual(
              expectedRecords(records, NOW, baseOffset).map((r) => ({
                offset: String(r.offset),
                timestamp: String(r.timestamp),
                key: r.key,
                value: r.value,
                headers: kafkajsHeaders(r.headers),
              })),
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  }
});

describe('Interop: kafkajs 2.2.4 encodes, Sluice decodes', () => {
  // kafkajs cannot encode null header values (Buffer.byteLength(null) throws): leave them out.
  const kafkajsRecord = fc.record({
    key: fc.option(bytes(64), { nil: null }),
    value: fc.option(bytes(300), { nil: null }),
    headers: fc.dictionary(
      fc.string({ unit: 'grapheme', maxLength: 10 }).map((k) => `h-${k}`),
      fc.oneof(bytes(30), fc.array(bytes(10), { minLength: 1, maxLength: 3 })),
      { maxKeys: 3 },
    ),
    timestampDelta: fc.integer({ min: -100_000, max: 2 ** 40 }),
  });

  for (const compression of ['none', 'lz4', 'gzip'] as const) {
    it(`reads every field, CRC checked (${compression})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(kafkajsRecord, { minLength: 1, maxLength: 30 }),
          fc.nat({ max: 2 ** 40 }),
          fc.boolean(),
          async (records, firstOffset, idempotent) => {
            // Prepare
            const buf = await kafkajsEncodeBatch({
              compression: KAFKAJS_CODEC[compression],
              firstOffset,
              firstTimestamp: NOW,
              maxTimestamp: NOW + Math.max(...records.map((r) => r.timestampDelta)),
              lastOffsetDelta: records.length - 1,
              partitionLeaderEpoch: 0,
              producerId: idempotent ? 77 : -1,
              producerEpoch: idempotent ? 2 : -1,
              firstSequence: idempotent ? 1000 : -1,
              records: records.map((r, i) => ({ ...r, offsetDelta: i })),
            });

            // Act
            const headers = validateBatches(buf);
            const { header, records: decoded } = decodeRecordBatch(buf);

            // Assess
            expect(headers).toEqual([header]);
            expect(header).toMatchObject({
              baseOffset: firstOffset,
              compression,
              recordCount: records.length,
              producerId: idempotent ? 77 : -1,
              producerEpoch: idempotent ? 2 : -1,
              baseSequence: idempotent ? 1000 : -1,
            });
            expect(plain(decoded)).toEqual(
              records.map((r, i) => ({
                offset: firstOffset + i,
                timestamp: NOW + r.timestampDelta,
                key: r.key,
                value: r.value,
                headers: Object.entries(r.headers).flatMap(([key, value]) =>
                  (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v })),
                ),
              })),
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('reads a batch kafkajs wrote with its own defaults (epoch 0, sequence 0, no producer id)', async () => {
    // Prepare
    const records: ProducerRecord[] = [{ key: null, value: Buffer.from('x') }];
    const buf = await kafkajsEncodeBatch({
      compression: KafkajsCompression.None,
      firstOffset: 0,
      firstTimestamp: NOW,
      maxTimestamp: NOW,
      lastOffsetDelta: 0,
      producerEpoch: 0,
      firstSequence: 0,
      records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.from('x') }],
    });

    // Act / Assess
    expect(plain(decodeRecordBatch(buf).records)).toEqual(expectedRecords(records, NOW));
  });
});
