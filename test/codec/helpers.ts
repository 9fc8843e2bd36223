import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import { crc32c } from '../../shared/codec/crc32c';
import type { Implementation } from '../../shared/codec/native';
import type { DecodedRecord, ProducerRecord, RecordHeader } from '../../shared/codec/record-batch';
import { type ErrorCode, SluiceError } from '../../shared/errors';

/** Recomputes the CRC of the batch at `at` after a test edited covered bytes on purpose. */
export function recrc(buf: Buffer, at = 0): Buffer {
  const size = buf.readInt32BE(at + 8) + 12;
  buf.writeUInt32BE(crc32c(buf, at + 21, at + size), at + 17);
  return buf;
}

/** Runs `fn`, expects a SluiceError with `code`, returns it for further checks. */
export function expectSluiceError(fn: () => unknown, code: ErrorCode): SluiceError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(SluiceError);
  expect((thrown as SluiceError).code, (thrown as Error).message).toBe(code);
  return thrown as SluiceError;
}

/** Runs `fn`; anything thrown must be a SluiceError. Returns whether it threw. */
export function throwsOnlySluiceError(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    if (!(err instanceof SluiceError)) throw err;
    return true;
  }
}

export const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

export const header: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.string({ unit: 'grapheme', maxLength: 20 }),
  value: fc.option(bytes(40), { nil: null }),
});

export const timestamp: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

export const producerRecord: fc.Arbitrary<ProducerRecord> = fc.record(
  {
    key: fc.option(bytes(64), { nil: null }),
    value: fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 8, arbitrary: bytes(300) },
      // Repetitive text, so lz4 has something to compress.
      { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s.repeat(5))) },
    ),
    headers: fc.array(header, { maxLength: 4 }),
    timestamp,
  },
  { requiredKeys: ['value'] },
);

export const producerRecords = fc.array(producerRecord, { minLength: 1, maxLength: 40 });

/** What decoding `records` encoded with `now` must give. */
export function expectedRecords(records: readonly ProducerRecord[], now: number, baseOffset = 0) {
  return records.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: r.timestamp ?? now,
    key: r.key ?? null,
    value: r.value,
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
  }));
}

/** Decoded records as plain data (Buffers as Buffers; no views' extra properties). */
export function plain(records: readonly DecodedRecord[]) {
  return records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : Buffer.from(r.key),
    value: r.value === null ? null : Buffer.from(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value) })),
  }));
}

/** Text-like data that compresses, of any length. */
export function text(length: number, seed = 1): Buffer {
  const words = ['order', 'user', 'event', '{"id":', '"ts":', 'click', 'view', '}\n'];
  let s = '';
  let x = seed;
  while (s.length < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += words[x % words.length] + String(x % 1000);
  }
  return Buffer.from(s.slice(0, length));
}

/**
 * The implementations a codec's tests run on: its native addon and the pure-JS path (what Lambda bundles
 * run). The codec goes back to 'auto' after every test of the file.
 */
export function codecImplementations(
  use: (choice: 'auto' | Implementation) => void,
): readonly Implementation[] {
  afterEach(() => {
    use('auto');
  });
  return ['native', 'js'];
}

/** The native addon must load here: otherwise the 'native' runs would test the JS path a second time. */
export function itLoadsTheNativeAddon(implementation: () => Implementation): void {
  it('loads the native addon here', () => {
    expect(implementation()).toBe('native');
  });
}

export const MB = 1024 * 1024;

/** A codec's decompressor applied to a whole buffer, capped at 64 MB unless told otherwise. */
export function wholeBuffer(
  decompress: (src: Buffer, start: number, end: number, maxBytes: number) => Buffer,
): (data: Buffer, maxBytes?: number) => Buffer {
  return (data, maxBytes = 64 * MB) => decompress(data, 0, data.length, maxBytes);
}
