import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cJs } from '../../shared/codec/crc32c';
import { kafkajsCrc32c } from './kafkajs';

describe('Function: crc32c', () => {
  it('gives the CRC-32C check value of "123456789"', () => {
    // Prepare
    const input = Buffer.from('123456789');

    // Act / Assess
    expect(crc32c(input)).toBe(0xe3069283);
    expect(crc32cJs(input)).toBe(0xe3069283);
  });

  it('runs on WebAssembly here', () => {
    expect(crc32cImplementation()).toBe('wasm');
  });

  it('agrees with @aws-crypto/crc32c and kafkajs on any range of any bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 7 }),
        (array, a, b, shift) => {
          // Prepare: an unaligned copy, and a random range inside it
          const buf = Buffer.alloc(array.length + shift).subarray(shift);
          buf.set(array);
          const start = array.length === 0 ? 0 : a % array.length;
          const end = start + (array.length === 0 ? 0 : b % (array.length - start + 1));
          const slice = buf.subarray(start, end);

          // Act
          const ours = crc32c(buf, start, end);

          // Assess
          expect(ours).toBe(awsCrc32c(slice));
          expect(ours).toBe(kafkajsCrc32c(Buffer.from(slice)));
          expect(crc32cJs(buf, start, end)).toBe(ours);
        },
      ),
    );
  });

  it('handles inputs larger than its 64 KiB WebAssembly window', () => {
    // Prepare
    const buf = Buffer.alloc(300_001);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;

    // Act / Assess
    expect(crc32c(buf, 3)).toBe(awsCrc32c(buf.subarray(3)));
    expect(crc32c(buf, 0, 131_072)).toBe(crc32cJs(buf, 0, 131_072));
  });
});
