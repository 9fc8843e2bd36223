/**
 * Bad input over the wire, with hand-built frames: each gets Kafka's error code (or a closed
 * connection where Kafka closes it), nothing is written, and the listener keeps serving others.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../shared/codec/crc32c';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import type { KafkaReader } from '../../shared/kafka/protocol/reader';
import type { KafkaWriter } from '../../shared/kafka/protocol/writer';
import { kafkaTestStackForAll, RawKafkaConnection, requestFrame, uniqueTopic } from './support';

const MAX_FRAME = 64 * 1024;
const kafka = kafkaTestStackForAll({ maxFrameBytes: MAX_FRAME, stalledFrameMs: 300, lingerMs: 2 });
const topic = uniqueTopic('bad');
beforeAll(async () => {
  await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 2 });
});

const batch = (value = 'v', options: Parameters<typeof encodeRecordBatch>[1] = {}) =>
  encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from(value) }], {
    compression: 'none',
    ...options,
  });

/** Sets attribute bits and recomputes the CRC, so only the bits are wrong. */
function withAttributes(b: Buffer, bits: number): Buffer {
  const out = Buffer.from(b);
  out.writeInt16BE(out.readInt16BE(21) | bits, 21);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

type Parts = { name: string; partitions: { index: number; records: Buffer | null }[] }[];
const produceBody =
  (parts: Parts, acks = -1) =>
  (w: KafkaWriter) => {
    w.nullableString(null).int16(acks).int32(5000);
    w.array(parts, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).records(p.records).taggedFields());
      w.taggedFields();
    });
    w.taggedFields();
  };

function readProduceResponse(r: KafkaReader, version: number) {
  const topics = r.array((r) => {
    const name = r.string();
    const partitions = r.array((r) => {
      const p = { index: r.int32(), errorCode: r.int16(), baseOffset: r.int64() };
      r.int64();
      if (version >= 5) r.int64();
      let errorMessage: string | null = null;
      if (version >= 8) {
        r.array((r) => [r.int32(), r.nullableString(), r.taggedFields()]);
        errorMessage = r.nullableString();
      }
      r.taggedFields();
      return { ...p, errorMessage };
    });
    r.taggedFields();
    return { name, partitions };
  });
  r.int32();
  r.taggedFields();
  return topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p })));
}

async function produce(c: RawKafkaConnection, parts: Parts, version = 7, acks = -1) {
  const { body } = await c.request(0, version, produceBody(parts, acks), { flexible: version >= 9 });
  return readProduceResponse(body, version);
}

const highWatermarks = async () =>
  (await kafka.stack.services.log.describeTopic(topic)).partitions.map((p) => p.highWatermark);

/** The listener still answers a fresh connection. */
async function stillServes() {
  const c = await RawKafkaConnection.connect(kafka.port);
  const { body } = await c.request(18, 2, () => {});
  expect(body.int16()).toBe(0);
  c.close();
}

describe('Bad frames close the connection, and only that one', () => {
  it('closes a connection that stalls mid-frame (a truncated frame)', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const other = await RawKafkaConnection.connect(kafka.port);
    const frame = requestFrame(
      0,
      7,
      1,
      produceBody([{ name: topic, partitions: [{ index: 0, records: batch() }] }]),
    );
    const before = await highWatermarks();
    c.write(frame.subarray(0, frame.length - 10));
    await c.closed;
    expect(await highWatermarks()).toEqual(before);
    const { body } = await other.request(18, 0, () => {});
    expect(body.int16()).toBe(0);
    other.close();
  });

  it('closes a connection at once for a frame over the size limit, without reading it', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(MAX_FRAME + 1);
    c.write(header);
    await c.closed;
    await stillServes();
  });

  it('closes a connection for a negative frame size', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    c.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    await c.closed;
    await stillServes();
  });

  it('closes a connection for a body that does not decode (an array count past the end)', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const before = await highWatermarks();
    c.write(requestFrame(0, 7, 1, (w) => w.nullableString(null).int16(-1).int32(1000).int32(1_000_000)));
    await c.closed;
    expect(await highWatermarks()).toEqual(before);
    await stillServes();
  });

  it('closes a connection for an unknown API key', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    c.write(requestFrame(9999, 0, 1, () => {}));
    await c.closed;
    await stillServes();
  });

  it('closes a connection for an unsupported version of an API other than ApiVersions', async () => {
    for (const [key, version] of [
      [3, 13],
      [1, 3],
      [0, 10],
    ]) {
      const c = await RawKafkaConnection.connect(kafka.port);
      c.write(requestFrame(key!, version!, 1, () => {}));
      await c.closed;
    }
    await stillServes();
  });

  it('answers requests already in flight on other connections while one is closed', async () => {
    const good = await RawKafkaConnection.connect(kafka.port);
    const bad = await RawKafkaConnection.connect(kafka.port);
    const pending = produce(good, [{ name: topic, partitions: [{ index: 1, records: batch('alongside') }] }]);
    bad.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    const [result] = await pending;
    expect(result!.errorCode).toBe(0);
    await bad.closed;
    good.close();
  });
});

describe('Bad produce requests get Kafka error codes and write nothing', () => {
  for (const version of [3, 7, 9]) {
    it(`v${version}: a corrupt CRC → CORRUPT_MESSAGE, an unknown topic and a partition out of range → UNKNOWN_TOPIC_OR_PARTITION`, async () => {
      const c = await RawKafkaConnection.connect(kafka.port);
      const before = await highWatermarks();
      const corrupt = Buffer.from(batch());
      corrupt[corrupt.length - 1]! ^= 0xff;
      const results = await produce(
        c,
        [
          {
            name: topic,
            partitions: [
              { index: 0, records: corrupt },
              { index: 7, records: batch() },
            ],
          },
          { name: uniqueTopic('missing'), partitions: [{ index: 0, records: batch() }] },
        ],
        version,
      );
      expect(results.map((r) => [r.index, r.errorCode])).toEqual([
        [0, KAFKA_ERRORS.CORRUPT_MESSAGE],
        [7, KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION],
        [0, KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
      expect(results.every((r) => r.baseOffset === -1n)).toBe(true);
      if (version >= 8) expect(results[0]!.errorMessage).toMatch(/CRC/i);
      expect(await highWatermarks()).toEqual(before);
      c.close();
    });
  }

  it('refuses transactional and control batches with UNSUPPORTED_FOR_MESSAGE_FORMAT, and bad acks with INVALID_REQUIRED_ACKS', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const before = await highWatermarks();
    const transactional = withAttributes(
      batch('t', { producerId: 7, producerEpoch: 0, baseSequence: 0 }),
      0x10,
    );
    const control = withAttributes(batch('c'), 0x20);
    const results = await produce(c, [
      {
        name: topic,
        partitions: [
          { index: 0, records: transactional },
          { index: 1, records: control },
        ],
      },
    ]);
    expect(results.map((r) => r.errorCode)).toEqual([
      KAFKA_ERRORS.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      KAFKA_ERRORS.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    ]);
    const acks = await produce(c, [{ name: topic, partitions: [{ index: 0, records: batch() }] }], 7, 2);
    expect(acks.map((r) => r.errorCode)).toEqual([KAFKA_ERRORS.INVALID_REQUIRED_ACKS]);
    const empty = await produce(c, [{ name: topic, partitions: [{ index: 0, records: null }] }]);
    expect(empty[0]!.errorCode).not.toBe(0);
    expect(await highWatermarks()).toEqual(before);
    c.close();
  });

  it('writes a good partition of a request beside a bad one', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const before = await highWatermarks();
    const corrupt = Buffer.from(batch());
    corrupt[30]! ^= 0x01;
    const results = await produce(c, [
      {
        name: topic,
        partitions: [
          { index: 0, records: batch('good') },
          { index: 1, records: corrupt },
        ],
      },
    ]);
    expect(results.map((r) => [r.errorCode, r.baseOffset])).toEqual([
      [0, BigInt(before[0]!)],
      [KAFKA_ERRORS.CORRUPT_MESSAGE, -1n],
    ]);
    expect(await highWatermarks()).toEqual([before[0]! + 1, before[1]!]);
    c.close();
  });
});

describe('Produce answers', () => {
  it('acks=0 still appends and answers nothing: the next answer on the connection is the next request’s', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const before = await highWatermarks();
    c.write(
      requestFrame(
        0,
        7,
        41,
        produceBody([{ name: topic, partitions: [{ index: 0, records: batch('fire') }] }], 0),
      ),
    );
    c.write(requestFrame(18, 0, 42, () => {}));
    const frame = await c.next();
    expect(frame.readInt32BE(0)).toBe(42);
    for (let i = 0; i < 50 && (await highWatermarks())[0] === before[0]; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await highWatermarks())[0]).toBe(before[0]! + 1);
    c.close();
  });

  it('answers pipelined requests in order, and one partition twice in a request in order', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const before = await highWatermarks();
    for (let id = 1; id <= 5; id++) {
      c.write(
        requestFrame(
          0,
          7,
          id,
          produceBody([
            {
              name: topic,
              partitions: [
                { index: 1, records: batch(`a${id}`) },
                { index: 1, records: batch(`b${id}`) },
              ],
            },
          ]),
        ),
      );
    }
    const offsets: bigint[] = [];
    for (let id = 1; id <= 5; id++) {
      const frame = await c.next();
      expect(frame.readInt32BE(0)).toBe(id);
      const { KafkaReader } = await import('../../shared/kafka/protocol/reader');
      const r = new KafkaReader(frame, { offset: 4 });
      offsets.push(...readProduceResponse(r, 7).map((p) => p.baseOffset));
    }
    const start = BigInt(before[1]!);
    expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => start + BigInt(i)));
    const [fetched] = await kafka.stack.services.log.fetch({
      partitions: [{ topic, partition: 1, offset: before[1]! }],
    });
    const { decodeRecordBatches } = await import('../../shared/codec/record-batch');
    const values = decodeRecordBatches(fetched!.records)
      .batches.flatMap((b) => b.records)
      .filter((r) => r.offset >= before[1]!)
      .map((r) => r.value!.toString());
    expect(values).toEqual([1, 2, 3, 4, 5].flatMap((i) => [`a${i}`, `b${i}`]));
    c.close();
  });
});

describe('Bad fetch and list-offsets requests', () => {
  const fetchBody =
    (partition: number, offset: number, sessionId = 0, sessionEpoch = -1) =>
    (w: KafkaWriter) => {
      w.int32(-1)
        .int32(0)
        .int32(1)
        .int32(1 << 20)
        .int8(0)
        .int32(sessionId)
        .int32(sessionEpoch);
      w.array([0], (w) => {
        w.string(topic);
        w.array([0], (w) =>
          w
            .int32(partition)
            .int32(-1)
            .int64(offset)
            .int64(-1)
            .int32(1 << 20),
        );
      });
      w.array([], () => {});
    };

  it('answers an offset past the high-water mark with OFFSET_OUT_OF_RANGE, and a partition out of range with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const hw = (await highWatermarks())[0]!;
    for (const [partition, offset, code] of [
      [0, hw + 100, KAFKA_ERRORS.OFFSET_OUT_OF_RANGE],
      [5, 0, KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION],
    ]) {
      const c = await RawKafkaConnection.connect(kafka.port);
      const { body } = await c.request(1, 10, fetchBody(partition!, offset!));
      expect([body.int32(), body.int16(), body.int32()]).toEqual([0, 0, 0]);
      const [t] = body.array((r) => ({
        topic: r.string(),
        partitions: r.array((r) => ({ index: r.int32(), errorCode: r.int16(), hw: r.int64() })),
      }));
      expect(t!.partitions[0]!.errorCode).toBe(code);
      if (code === KAFKA_ERRORS.OFFSET_OUT_OF_RANGE) expect(t!.partitions[0]!.hw).toBe(BigInt(hw));
      c.close();
    }
  });

  it('answers an incremental fetch session with FETCH_SESSION_ID_NOT_FOUND', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const { body } = await c.request(1, 10, fetchBody(0, 0, 1234, 3));
    expect([body.int32(), body.int16(), body.int32()]).toEqual([
      0,
      KAFKA_ERRORS.FETCH_SESSION_ID_NOT_FOUND,
      0,
    ]);
    c.close();
  });
});
