import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../shared/errors';
import { KAFKA_ERRORS, kafkaErrorCode, kafkaErrorName } from '../../shared/kafka/protocol/errors';
import { FrameDecoder } from '../../shared/kafka/protocol/frame';
import { KafkaProtocolError, KafkaReader } from '../../shared/kafka/protocol/reader';
import { KafkaWriter } from '../../shared/kafka/protocol/writer';

describe('Class: KafkaWriter / KafkaReader', () => {
  it('round-trips every primitive in both encodings', () => {
    for (const flexible of [false, true]) {
      // Prepare
      const w = new KafkaWriter({ flexible });
      const uuid = Buffer.alloc(16, 7);
      w.int8(-5)
        .int16(-300)
        .int32(-70000)
        .uint32(0xfffffff0)
        .int64(-(2n ** 40n))
        .float64(1.5)
        .bool(true);
      w.uuid(uuid).uvarint(300).varint(-64).string('héllo').nullableString(null).bytes(Buffer.from('ab'));
      w.nullableBytes(null)
        .array([1, 2, 3], (w, v) => w.int32(v))
        .nullableArray(null, () => {});
      w.taggedFields(
        new Map([
          [3, Buffer.from('x')],
          [0, Buffer.from('yz')],
        ]),
      );
      // Act
      const r = new KafkaReader(w.toBuffer(), { flexible });
      // Assess
      expect([r.int8(), r.int16(), r.int32(), r.uint32(), r.int64(), r.float64(), r.bool()]).toEqual([
        -5,
        -300,
        -70000,
        0xfffffff0,
        -(2n ** 40n),
        1.5,
        true,
      ]);
      expect(r.uuid()).toEqual(uuid);
      expect([r.uvarint(), r.varint(), r.string(), r.nullableString()]).toEqual([300, -64, 'héllo', null]);
      expect(r.bytes().toString()).toBe('ab');
      expect(r.nullableBytes()).toBeNull();
      expect(r.array((r) => r.int32())).toEqual([1, 2, 3]);
      expect(r.nullableArray((r) => r.int32())).toBeNull();
      const tags = r.taggedFields();
      expect(flexible ? [...tags.keys()] : []).toEqual(flexible ? [0, 3] : []);
      expect(r.remaining).toBe(0);
    }
  });

  it('keeps every byte when its buffer grows mid-write', () => {
    const w = new KafkaWriter({ initialSize: 1 });
    const big = Buffer.alloc(1000, 0xab);
    for (let i = 0; i < 50; i++)
      w.int32(i)
        .bytes(big)
        .string(`s${i}`)
        .uvarint(i * 1000);
    const r = new KafkaReader(w.toBuffer());
    for (let i = 0; i < 50; i++) {
      expect(r.int32()).toBe(i);
      expect(r.bytes().equals(big)).toBe(true);
      expect(r.string()).toBe(`s${i}`);
      expect(r.uvarint()).toBe(i * 1000);
    }
  });

  it('uses the compact forms when flexible (golden bytes)', () => {
    const w = new KafkaWriter({ flexible: true })
      .string('ab')
      .nullableString(null)
      .array([7], (w, v) => w.int8(v));
    expect(w.toBuffer().toString('hex')).toBe('03616200' + '0207');
    const c = new KafkaWriter()
      .string('ab')
      .nullableString(null)
      .array([7], (w, v) => w.int8(v));
    expect(c.toBuffer().toString('hex')).toBe('00026162' + 'ffff' + '0000000107');
  });

  it('round-trips uvarints and varints over their ranges (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (u, s) => {
          const r = new KafkaReader(new KafkaWriter().uvarint(u).varint(s).toBuffer());
          expect(r.uvarint()).toBe(u);
          expect(r.varint()).toBe(s);
        },
      ),
    );
  });

  it('throws KafkaProtocolError on truncation, null where required and lying counts', () => {
    expect(() => new KafkaReader(Buffer.from([0, 0, 0])).int32()).toThrow(KafkaProtocolError);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff])).string()).toThrow(KafkaProtocolError);
    expect(() => new KafkaReader(Buffer.from([0, 5, 0x61])).string()).toThrow(KafkaProtocolError);
    expect(() => new KafkaReader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).array((r) => r.int8())).toThrow(
      KafkaProtocolError,
    );
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uvarint()).toThrow(
      KafkaProtocolError,
    );
    expect(() => new KafkaReader(Buffer.from([2, 1, 0, 1, 0]), { flexible: true }).taggedFields()).toThrow(
      KafkaProtocolError,
    );
  });
});

describe('Class: FrameDecoder', () => {
  it('cuts frames across chunk boundaries', () => {
    const d = new FrameDecoder(100);
    const frame = (n: number) => Buffer.concat([Buffer.from([0, 0, 0, n]), Buffer.alloc(n, n)]);
    const stream = Buffer.concat([frame(10), frame(12), frame(11)]);
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 7) got.push(...d.push(stream.subarray(i, i + 7)));
    expect(got.map((f) => f.length)).toEqual([10, 12, 11]);
    expect(d.midFrame).toBe(false);
  });

  it('refuses frames over the limit and below the smallest header', () => {
    expect(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 101]))).toThrow(KafkaProtocolError);
    expect(() => new FrameDecoder(100).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(
      KafkaProtocolError,
    );
    expect(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 3]))).toThrow(KafkaProtocolError);
  });
});

describe('Function: kafkaErrorCode', () => {
  it('maps Sluice codes to Kafka codes', () => {
    expect(kafkaErrorCode(new SluiceError('UNKNOWN_TOPIC_OR_PARTITION'))).toBe(3);
    expect(kafkaErrorCode(new SluiceError('CORRUPT_MESSAGE'))).toBe(2);
    expect(kafkaErrorCode(new SluiceError('OUT_OF_ORDER_SEQUENCE'))).toBe(45);
    expect(kafkaErrorCode(new Error('boom'))).toBe(KAFKA_ERRORS.UNKNOWN_SERVER_ERROR);
    expect(kafkaErrorName(35)).toBe('UNSUPPORTED_VERSION');
  });
});
