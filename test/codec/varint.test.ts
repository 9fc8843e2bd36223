import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteReader,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../shared/codec/varint';
import { expectSluiceError } from './helpers';
import { kafkajsReadVarlong, kafkajsVarint, kafkajsVarlong } from './kafkajs';

function varint(n: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarint(buf, 0, n));
}

function varlong(n: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, n));
}

describe('Function: writeVarint', () => {
  it('writes the zigzag LEB128 bytes Kafka writes', () => {
    // Prepare
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [63, '7e'],
      [-64, '7f'],
      [64, '8001'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];

    // Act
    const written = cases.map(([n]) => varint(n).toString('hex'));

    // Assess
    expect(written).toEqual(cases.map(([, hex]) => hex));
  });

  it('agrees with kafkajs and sizeOfVarint on every int32', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => {
        // Act
        const ours = varint(n);

        // Assess
        expect(ours).toEqual(kafkajsVarint(n));
        expect(sizeOfVarint(n)).toBe(ours.length);
        expect(new ByteReader(ours).readVarint()).toBe(n);
      }),
    );
  });
});

describe('Function: writeVarlong', () => {
  const safeIntegers = fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    fc.integer({ min: 2 ** 52 - 1000, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -(2 ** 52) + 1000 }),
  );

  it('agrees with kafkajs and sizeOfVarlong on safe integers, beyond 2^31 and 2^52 too', () => {
    fc.assert(
      fc.property(safeIntegers, (n) => {
        // Act
        const ours = varlong(n);

        // Assess
        expect(ours).toEqual(kafkajsVarlong(BigInt(n)));
        expect(sizeOfVarlong(n)).toBe(ours.length);
        const reader = new ByteReader(ours);
        expect(reader.readVarlong()).toBe(n);
        expect(reader.pos).toBe(ours.length);
      }),
    );
  });
});

describe('Class: ByteReader', () => {
  describe('Method: readVarlong', () => {
    it('reads any int64 kafkajs writes, or refuses it as beyond ±2^53 with CORRUPT_MESSAGE', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
          // Prepare
          const bytes = kafkajsVarlong(n);
          expect(kafkajsReadVarlong(bytes)).toBe(n);

          // Act / Assess
          if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
            expect(new ByteReader(bytes).readVarlong()).toBe(Number(n));
          } else {
            expectSluiceError(() => new ByteReader(bytes).readVarlong(), 'CORRUPT_MESSAGE');
          }
        }),
      );
    });

    it('refuses an 11-byte varlong', () => {
      // Prepare
      const bytes = Buffer.from('ffffffffffffffffffff01', 'hex');

      // Act / Assess
      expectSluiceError(() => new ByteReader(bytes).readVarlong(), 'CORRUPT_MESSAGE');
    });
  });

  describe('Method: readVarint', () => {
    it('refuses a varint cut short, longer than 5 bytes, or with bits beyond 32', () => {
      // Prepare
      const cases = ['', '80', 'ffff', 'ffffffffff01', 'ffffffff1f'];

      // Act / Assess
      for (const hex of cases) {
        expectSluiceError(() => new ByteReader(Buffer.from(hex, 'hex')).readVarint(), 'CORRUPT_MESSAGE');
      }
    });

    it('never reads past its end', () => {
      // Prepare
      const buf = Buffer.from('0280', 'hex');
      const reader = new ByteReader(buf, 0, 1);

      // Act
      const first = reader.readVarint();

      // Assess
      expect(first).toBe(1);
      expectSluiceError(() => reader.readVarint(), 'CORRUPT_MESSAGE');
    });
  });
});
