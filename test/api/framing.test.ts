import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFetchRequest,
  decodeFetchResponse,
  decodeProduceRequest,
  decodeProduceResponse,
  encodeFetchRequest,
  encodeFetchResponse,
  encodeProduceRequest,
  encodeProduceResponse,
} from '../../shared/api/framing';
import { SluiceError } from '../../shared/errors';
import type { FetchPartitionResult, FetchRequest, ProducePartitionRequest } from '../../shared/log/types';

const topic = fc.string({ minLength: 1, maxLength: 40, unit: 'binary' });
const bytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xfffffffe });

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('INVALID_REQUEST');
    expect((err as SluiceError).message).toMatch(message);
    return;
  }
  throw new Error('expected an INVALID_REQUEST error');
}

describe('Module: framing', () => {
  describe('Method: encodeProduceRequest / decodeProduceRequest', () => {
    it('writes the documented layout', () => {
      const frame = encodeProduceRequest([{ topic: 'ab', partition: 3, batches: Buffer.from([9, 8]) }]);
      expect(frame.toString('hex')).toBe(
        ['534c', '01', '01', '0001', '0002', '6162', '00000003', '00000002', '0908'].join(''),
      );
    });

    it('round-trips any request', () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ topic, partition: fc.integer({ min: 0, max: 0xffffffff }), batches: bytes }), {
            minLength: 1,
            maxLength: 10,
          }),
          (parts: ProducePartitionRequest[]) => {
            expect(decodeProduceRequest(encodeProduceRequest(parts))).toEqual(parts);
          },
        ),
      );
    });

    it('rejects every truncation and any trailing byte', () => {
      const frame = encodeProduceRequest([{ topic: 't', partition: 0, batches: Buffer.from('abc') }]);
      for (let n = 0; n < frame.length; n++)
        expectInvalid(() => decodeProduceRequest(frame.subarray(0, n)), /binary framing/);
      expectInvalid(
        () => decodeProduceRequest(Buffer.concat([frame, Buffer.from([0])])),
        /1 unexpected bytes/,
      );
    });

    it('rejects a wrong magic, version or kind, and an empty request', () => {
      const frame = encodeProduceRequest([{ topic: 't', partition: 0, batches: Buffer.from('abc') }]);
      const edit = (at: number, v: number) => {
        const b = Buffer.from(frame);
        b[at] = v;
        return b;
      };
      expectInvalid(() => decodeProduceRequest(edit(0, 0)), /magic/);
      expectInvalid(() => decodeProduceRequest(edit(2, 2)), /version 2/);
      expectInvalid(() => decodeProduceRequest(edit(3, 3)), /kind 3/);
      expectInvalid(
        () => decodeProduceRequest(Buffer.from([0x53, 0x4c, 1, 1, 0, 0])),
        /at least one partition/,
      );
      expect(() => encodeProduceRequest([])).toThrow(/at least one partition/);
    });

    it('rejects a topic that is not UTF-8', () => {
      const frame = encodeProduceRequest([{ topic: 'ab', partition: 0, batches: Buffer.alloc(0) }]);
      frame[8] = 0xff;
      expectInvalid(() => decodeProduceRequest(frame), /UTF-8/);
    });
  });

  describe('Method: encodeProduceResponse / decodeProduceResponse', () => {
    it('round-trips results and errors with their details', () => {
      const results = [
        { topic: 'a', partition: 0, baseOffset: 5, lastOffset: 9, duplicate: false },
        { topic: 'a', partition: 1, baseOffset: 0, lastOffset: 0, duplicate: true },
        {
          topic: 'b',
          partition: 2,
          error: new SluiceError('OUT_OF_ORDER_SEQUENCE', 'gap', { details: { expected: 3 } }),
        },
      ];
      const decoded = decodeProduceResponse(encodeProduceResponse(results));
      expect(decoded.slice(0, 2)).toEqual(results.slice(0, 2));
      const error = decoded[2]!.error!;
      expect(error).toBeInstanceOf(SluiceError);
      expect(error.toJSON()).toEqual({
        error: { code: 'OUT_OF_ORDER_SEQUENCE', message: 'gap', expected: 3 },
      });
      expect(error.status).toBe(409);
    });

    it('keeps an error code it does not know as UNKNOWN_SERVER_ERROR with the code in details', () => {
      const frame = encodeProduceResponse([
        { topic: 'a', partition: 0, error: new SluiceError('THROTTLED') },
      ]);
      const patched = Buffer.from(frame.toString('latin1').replace('THROTTLED', 'FUTURECOD'), 'latin1');
      const [result] = decodeProduceResponse(patched);
      expect(result!.error?.code).toBe('UNKNOWN_SERVER_ERROR');
      expect(result!.error?.details).toEqual({ code: 'FUTURECOD' });
    });
  });

  describe('Method: encodeFetchRequest / decodeFetchRequest', () => {
    it('round-trips any request, optional limits included', () => {
      fc.assert(
        fc.property(
          fc.record(
            {
              partitions: fc.array(
                fc.record(
                  { topic, partition: fc.integer({ min: 0, max: 0xffffffff }), offset, maxBytes: u32 },
                  { requiredKeys: ['topic', 'partition', 'offset'] },
                ),
                { minLength: 1, maxLength: 10 },
              ),
              maxWaitMs: u32,
              minBytes: u32,
              maxBytes: u32,
            },
            { requiredKeys: ['partitions'] },
          ),
          (req: FetchRequest) => {
            expect(decodeFetchRequest(encodeFetchRequest(req))).toEqual(req);
          },
        ),
      );
    });

    it('rejects offsets that are negative or past 2^53 − 1', () => {
      const frame = encodeFetchRequest({ partitions: [{ topic: 't', partition: 0, offset: 0 }] });
      for (const bad of [-1n, 2n ** 53n, 2n ** 63n - 1n]) {
        const b = Buffer.from(frame);
        b.writeBigInt64BE(bad, b.length - 12);
        expectInvalid(() => decodeFetchRequest(b), /offset must be a non-negative integer/);
      }
      expect(() =>
        encodeFetchRequest({ partitions: [{ topic: 't', partition: 0, offset: -1 }] }),
      ).not.toThrow();
      expect(() => encodeFetchRequest({ partitions: [{ topic: 't', partition: 0, offset: 1.5 }] })).toThrow();
    });
  });

  describe('Method: encodeFetchResponse / decodeFetchResponse', () => {
    it('round-trips any response', () => {
      const result = fc.record({
        topic,
        partition: fc.integer({ min: 0, max: 0xffffffff }),
        highWatermark: offset,
        logStartOffset: offset,
        nextOffset: offset,
        records: bytes,
      });
      fc.assert(
        fc.property(fc.array(result, { maxLength: 10 }), (results: FetchPartitionResult[]) => {
          expect(decodeFetchResponse(encodeFetchResponse(results))).toEqual(results);
        }),
      );
    });

    it('carries an error with both bounds, and -1 for unknown bounds', () => {
      const error = new SluiceError('OFFSET_OUT_OF_RANGE', 'out', {
        details: { logStartOffset: 2, highWatermark: 7 },
      });
      const [r] = decodeFetchResponse(
        encodeFetchResponse([
          {
            topic: 't',
            partition: 0,
            highWatermark: -1,
            logStartOffset: -1,
            nextOffset: 9,
            records: Buffer.alloc(0),
            error,
          },
        ]),
      );
      expect(r).toMatchObject({ highWatermark: -1, logStartOffset: -1, nextOffset: 9 });
      expect(r!.error?.details).toEqual({ logStartOffset: 2, highWatermark: 7 });
    });
  });
});
