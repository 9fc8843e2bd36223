import fc from 'fast-check';
import lz4 from 'lz4';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import { describe, expect, it } from 'vitest';
import {
  jsDecompressBlock,
  lz4CompressFrame,
  lz4DecompressFrame,
  lz4FrameBound,
  lz4Implementation,
  useLz4Implementation,
} from '../../shared/codec/lz4';
import {
  codecImplementations,
  expectSluiceError,
  itLoadsTheNativeAddon,
  MB,
  text,
  wholeBuffer,
} from './helpers';

const IMPLEMENTATIONS = codecImplementations(useLz4Implementation);

function compress(data: Buffer): Buffer {
  const out = Buffer.alloc(lz4FrameBound(data.length));
  return out.subarray(0, lz4CompressFrame(data, 0, data.length, out, 0));
}

const decompress = wholeBuffer(lz4DecompressFrame);

/** A frame around given blocks: [data, raw] pairs, with a chosen FLG/BD (and block checksums if FLG says). */
function frame(blocks: [Buffer, boolean][], flg = 0x60, bd = 0x40): Buffer {
  const descriptor = Buffer.from([flg, bd]);
  const hc = (xxh32(0, descriptor, 0, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, bd, hc])];
  for (const [data, raw] of blocks) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE((data.length | (raw ? 0x80000000 : 0)) >>> 0);
    parts.push(size, data);
    if (flg & 0x10) parts.push(Buffer.alloc(4, 0xab)); // a block checksum, which readers skip
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** 64 KiB of zeros as one LZ4 block: a few hundred bytes that expand ~250×. */
function zeroBlock(): Buffer {
  const out = Buffer.alloc(70_000);
  const n = lz4.encodeBlock(Buffer.alloc(65_536), out);
  return out.subarray(0, n);
}

describe('Function: lz4CompressFrame', () => {
  itLoadsTheNativeAddon(lz4Implementation);

  for (const impl of IMPLEMENTATIONS) {
    it(`writes Kafka's frame header and end mark (${impl})`, () => {
      // Prepare
      useLz4Implementation(impl);

      // Act
      const out = compress(text(1000));

      // Assess
      expect(out.subarray(0, 7).toString('hex')).toBe('04224d18604082');
      expect(out.subarray(-4).toString('hex')).toBe('00000000');
    });

    it(`stores an incompressible block raw (${impl})`, () => {
      // Prepare
      useLz4Implementation(impl);
      const random = Buffer.from(Array.from({ length: 5000 }, (_, i) => ((i * 2654435761) >>> 24) ^ (i * 7)));

      // Act
      const out = compress(random);

      // Assess
      expect(out.readUInt32LE(7)).toBe((0x80000000 | 5000) >>> 0);
      expect(decompress(out)).toEqual(random);
    });

    it(`round-trips any data, across 64 KiB blocks, and npm lz4 reads it (${impl})`, () => {
      useLz4Implementation(impl);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
            fc.integer({ min: 0, max: 200_000 }).map((n) => text(n, n)),
          ),
          (data) => {
            // Act
            const out = compress(data);

            // Assess
            expect(decompress(out).equals(data)).toBe(true);
            expect(lz4.decode(out).equals(data)).toBe(true);
          },
        ),
        { numRuns: 60 },
      );
    });
  }
});

describe('Function: lz4CompressFrame with lz4js', () => {
  it("keeps LZ4's end-of-block rule that lz4js alone breaks, so full blocks decode in LZ4's C decoder", () => {
    // Prepare: data on which lz4js's own compressBlock starts a match 10 bytes before the block's end
    useLz4Implementation('js');
    const sizes = [76_706, 100_553, 123_186, 65_536, 131_072];

    for (const size of sizes) {
      // Act
      const out = compress(text(size, size));

      // Assess: every block decodes with the native decoder given exactly its decompressed size
      let pos = 7;
      let remaining = size;
      for (let word = out.readUInt32LE(pos); word !== 0; word = out.readUInt32LE(pos)) {
        const blockSize = word & 0x7fffffff;
        const expected = Math.min(remaining, 65_536);
        if ((word & 0x80000000) === 0) {
          const target = Buffer.alloc(expected);
          expect(lz4.decodeBlock(out, target, pos + 4, pos + 4 + blockSize)).toBe(expected);
        }
        remaining -= expected;
        pos += 4 + blockSize;
      }
      expect(lz4.decode(out).equals(text(size, size))).toBe(true);
    }
  });
});

describe('Function: lz4DecompressFrame', () => {
  for (const impl of IMPLEMENTATIONS) {
    it(`reads frames of npm lz4, its default (FLG 0x64, BD 0x70) and Kafka's layout (${impl})`, () => {
      // Prepare
      useLz4Implementation(impl);
      const data = text(300_000);
      const byDefault = lz4.encode(data);
      const kafkaLike = lz4.encode(data, { blockMaxSize: 65536, streamChecksum: false });

      // Act / Assess
      expect(byDefault.subarray(4, 6).toString('hex')).toBe('6470');
      expect(decompress(byDefault).equals(data)).toBe(true);
      expect(decompress(kafkaLike).equals(data)).toBe(true);
    });

    it(`skips block checksums, as Kafka does (${impl})`, () => {
      useLz4Implementation(impl);
      const hello = frame(
        [
          [Buffer.from('hello'), true],
          [Buffer.from('!'), true],
        ],
        0x70,
      );
      expect(decompress(hello).toString()).toBe('hello!');
    });

    it(`reads frames the other implementation wrote (${impl})`, () => {
      // Prepare
      useLz4Implementation(impl === 'js' ? 'native' : 'js');
      const data = text(150_000, 9);
      const out = compress(data);
      useLz4Implementation(impl);

      // Act / Assess
      expect(decompress(out).equals(data)).toBe(true);
    });

    it(`rejects dependent blocks, reserved bits, dictionaries, bad checksums and framing (${impl})`, () => {
      // Prepare
      useLz4Implementation(impl);
      const block: [Buffer, boolean][] = [[Buffer.from('hello'), true]];
      const good = frame(block);
      const badHc = Buffer.from(good);
      badHc[6] = badHc[6]! ^ 1;
      const badMagic = Buffer.from(good);
      badMagic[0] = 0;
      const cases = [
        frame(block, 0x40), // dependent blocks
        frame(block, 0x62), // reserved FLG bit
        frame(block, 0x61), // dictionary id
        frame(block, 0xa0), // version 2
        frame(block, 0x60, 0x41), // reserved BD bits
        frame(block, 0x60, 0xc0), // reserved BD bit 7
        frame(block, 0x60, 0x30), // 16 KB blocks
        badHc,
        badMagic,
        good.subarray(0, good.length - 1), // no end mark
        good.subarray(0, 9), // inside a block size
        Buffer.concat([good, Buffer.from([0])]), // trailing byte
        frame([[Buffer.alloc(65_537), true]]), // block beyond 64 KB
        frame([[Buffer.from([0x00, 0x01, 0x00]), false]]), // match offset before the output
        frame([[Buffer.alloc(0), false]]), // empty compressed block
        Buffer.alloc(3),
      ];

      // Act / Assess
      for (const bad of cases) expectSluiceError(() => decompress(bad), 'CORRUPT_MESSAGE');
    });

    it(`stops a compression bomb with RECORD_LIST_TOO_LARGE (${impl})`, () => {
      // Prepare: ~0.3 KB per 64 KiB block
      useLz4Implementation(impl);
      const zeros = zeroBlock();
      const bomb = frame(Array.from({ length: 40 }, () => [zeros, false] as [Buffer, boolean]));
      expect(bomb.length).toBeLessThan(40 * 400);

      // Act / Assess
      expect(decompress(bomb, 40 * 65_536).equals(Buffer.alloc(40 * 65_536))).toBe(true);
      const error = expectSluiceError(() => decompress(bomb, 1 * MB), 'RECORD_LIST_TOO_LARGE');
      expect(error.message).toContain('1048576');
      expectSluiceError(() => decompress(bomb, 40 * 65_536 - 1), 'RECORD_LIST_TOO_LARGE');
    });

    it(`stops a bomb of 4 MB blocks at the default cap without allocating its size (${impl})`, () => {
      // Prepare: 4 MB blocks of zeros, ~16 KB each, 100 of them = 400 MB
      useLz4Implementation(impl);
      const out = Buffer.alloc(lz4.encodeBound(4 * MB));
      const n = lz4.encodeBlock(Buffer.alloc(4 * MB), out);
      const bomb = frame(
        Array.from({ length: 100 }, () => [out.subarray(0, n), false] as [Buffer, boolean]),
        0x60,
        0x70,
      );

      // Act / Assess
      expectSluiceError(() => decompress(bomb), 'RECORD_LIST_TOO_LARGE');
    });

    it(`rejects raw blocks beyond the cap before decompressing (${impl})`, () => {
      useLz4Implementation(impl);
      const raw = frame([
        [Buffer.alloc(60_000), true],
        [Buffer.alloc(60_000), true],
      ]);
      expectSluiceError(() => decompress(raw, 100_000), 'RECORD_LIST_TOO_LARGE');
      expect(decompress(raw, 120_000)).toHaveLength(120_000);
    });

    it(`counts raw and compressed blocks together against the cap (${impl})`, () => {
      // Prepare: a compressed block of 64 KiB of zeros, then a raw block of 10 bytes
      useLz4Implementation(impl);
      const mixed = frame([
        [zeroBlock(), false],
        [Buffer.alloc(10, 7), true],
      ]);

      // Act / Assess
      expect(decompress(mixed, 65_546)).toEqual(Buffer.concat([Buffer.alloc(65_536), Buffer.alloc(10, 7)]));
      expectSluiceError(() => decompress(mixed, 65_545), 'RECORD_LIST_TOO_LARGE');
      expectSluiceError(() => decompress(mixed, 65_536), 'RECORD_LIST_TOO_LARGE');
    });
  }
});

describe('Function: jsDecompressBlock', () => {
  it('decodes what the native compressor writes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
          fc.integer({ min: 0, max: 65_536 }).map((n) => text(n, n + 3)),
        ),
        (data) => {
          // Prepare
          const block = Buffer.alloc(lz4.encodeBound(data.length));
          const n = lz4.encodeBlock(data, block);
          if (n === 0) return; // incompressible: the frame would store it raw
          const out = Buffer.alloc(data.length + 10);

          // Act
          const written = jsDecompressBlock(block, 0, n, out, 5, 5 + data.length);

          // Assess
          expect(written).toBe(data.length);
          expect(out.subarray(5, 5 + data.length).equals(data)).toBe(true);
        },
      ),
    );
  });

  it('returns −1, never throws or writes outside its range, on garbage; agrees with native LZ4 when both decode', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 5000 }),
        (array, room) => {
          // Prepare
          const src = Buffer.from(array);
          const dst = Buffer.alloc(room + 16, 0xee);

          // Act
          const n = jsDecompressBlock(src, 0, src.length, dst, 8, 8 + room);

          // Assess
          expect(n).toBeGreaterThanOrEqual(-1);
          expect(n).toBeLessThanOrEqual(room);
          expect(dst.subarray(0, 8).every((b) => b === 0xee)).toBe(true);
          expect(dst.subarray(8 + room).every((b) => b === 0xee)).toBe(true);
          const native = Buffer.alloc(Math.max(room, 1));
          const m = lz4.decodeBlock(src, native.subarray(0, room), 0, src.length);
          if (n >= 0 && m >= 0) {
            expect(m).toBe(n);
            expect(native.subarray(0, n).equals(dst.subarray(8, 8 + n))).toBe(true);
          }
        },
      ),
    );
  });
});
