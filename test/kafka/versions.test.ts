/**
 * Every API at the edges of its version range, in the classic and the flexible encodings, with
 * hand-built requests read back field by field (kcat, librdkafka and kafkajs use only some versions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import type { KafkaReader } from '../../shared/kafka/protocol/reader';
import { topicIdToUuid, uuidToTopicId } from '../../shared/kafka/topic-id';
import { type KafkaTestStack, RawKafkaConnection, startKafkaTestStack, uniqueTopic } from './support';

let kafka: KafkaTestStack;
let c: RawKafkaConnection;
const topic = uniqueTopic('ver');
let topicId: string;
beforeAll(async () => {
  kafka = await startKafkaTestStack({ lingerMs: 1 });
  topicId = (await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 3 })).topicId;
  c = await RawKafkaConnection.connect(kafka.port);
});
afterAll(async () => {
  c?.close();
  await kafka?.stop();
});

describe('Topic ids', () => {
  it('convert between ULIDs and UUIDs without loss', () => {
    expect(uuidToTopicId(topicIdToUuid(topicId))).toBe(topicId);
    expect(topicIdToUuid('00000000000000000000000000').equals(Buffer.alloc(16))).toBe(true);
  });
});

describe('API: Metadata', () => {
  for (const version of [1, 4, 8, 9, 10, 12]) {
    it(`v${version}: the broker, the topic and an unknown one`, async () => {
      const flexible = version >= 9;
      const { body: r } = await c.request(
        3,
        version,
        (w) => {
          w.array([topic, 'no-such-topic', 'bad name!'], (w, name) => {
            if (version >= 10) w.uuid(Buffer.alloc(16));
            w.string(name).taggedFields();
          });
          if (version >= 4) w.bool(false);
          if (version >= 8 && version <= 10) w.bool(false);
          if (version >= 8) w.bool(true);
          w.taggedFields();
        },
        { flexible },
      );
      if (version >= 3) expect(r.int32()).toBe(0);
      const brokers = r.array((r) => {
        const b = { nodeId: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() };
        r.taggedFields();
        return b;
      });
      expect(brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: kafka.port, rack: null }]);
      if (version >= 2) expect(r.nullableString()).toHaveLength(22);
      expect(r.int32()).toBe(0);
      const topics = r.array((r) => {
        const errorCode = r.int16();
        const name = version >= 12 ? r.nullableString() : r.string();
        const id = version >= 10 ? uuidToTopicId(r.uuid()) : null;
        r.bool();
        const partitions = r.array((r) => {
          const p = { errorCode: r.int16(), index: r.int32(), leader: r.int32() };
          if (version >= 7) r.int32();
          r.array((r) => r.int32());
          r.array((r) => r.int32());
          if (version >= 5) r.array((r) => r.int32());
          r.taggedFields();
          return p;
        });
        const ops = version >= 8 ? r.int32() : null;
        r.taggedFields();
        return { errorCode, name, id, partitions, ops };
      });
      if (version >= 8 && version <= 10) r.int32();
      r.taggedFields();
      expect(r.remaining).toBe(0);
      expect(topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([
        [topic, 0, 3],
        ['no-such-topic', KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION, 0],
        ['bad name!', KAFKA_ERRORS.INVALID_TOPIC_EXCEPTION, 0],
      ]);
      expect(topics[0]!.partitions.map((p) => [p.index, p.leader, p.errorCode])).toEqual([
        [0, 0, 0],
        [1, 0, 0],
        [2, 0, 0],
      ]);
      if (version >= 10) expect(topics[0]!.id).toBe(topicId);
      if (version >= 8) expect(topics[0]!.ops).toBeGreaterThan(0);
    });
  }

  it('v12: finds a topic by id, and answers an unknown id with UNKNOWN_TOPIC_ID', async () => {
    const { body: r } = await c.request(
      3,
      12,
      (w) => {
        w.array([topicIdToUuid(topicId), Buffer.alloc(16, 1)], (w, id) =>
          w.uuid(id).nullableString(null).taggedFields(),
        );
        w.bool(false).bool(false).taggedFields();
      },
      { flexible: true },
    );
    r.int32();
    r.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString(), r.taggedFields()]);
    r.nullableString();
    r.int32();
    const topics = r.array((r) => {
      const t = { errorCode: r.int16(), name: r.nullableString() };
      r.uuid();
      r.bool();
      r.array((r) => [
        r.int16(),
        r.int32(),
        r.int32(),
        r.int32(),
        r.array((r) => r.int32()),
        r.array((r) => r.int32()),
        r.array((r) => r.int32()),
        r.taggedFields(),
      ]);
      r.int32();
      r.taggedFields();
      return t;
    });
    expect(topics).toEqual([
      { errorCode: 0, name: topic },
      { errorCode: KAFKA_ERRORS.UNKNOWN_TOPIC_ID, name: null },
    ]);
  });
});

describe('API: Produce, Fetch and ListOffsets across their versions', () => {
  const produced: { version: number; partition: number; offset: bigint }[] = [];

  it.each([0, 3, 8, 9])(
    'Produce v%i appends and answers its base offset (v0–v2: refuses v2 batches)',
    async (version) => {
      const records = encodeRecordBatch(
        [{ key: Buffer.from('k'), value: Buffer.from(`p${version}`), timestamp: 1000 + version }],
        {
          compression: 'none',
        },
      );
      const { body: r } = await c.request(
        0,
        version,
        (w) => {
          if (version >= 3) w.nullableString(null);
          w.int16(1).int32(1000);
          w.array([0], (w) => {
            w.string(topic);
            w.array([0], (w) => w.int32(2).records(records).taggedFields());
            w.taggedFields();
          });
          w.taggedFields();
        },
        { flexible: version >= 9 },
      );
      const [p] = r.array((r) => {
        expect(r.string()).toBe(topic);
        const [p] = r.array((r) => {
          const p = { index: r.int32(), errorCode: r.int16(), baseOffset: r.int64() };
          if (version >= 2) r.int64();
          if (version >= 5) r.int64();
          if (version >= 8) {
            r.array(() => {});
            r.nullableString();
          }
          r.taggedFields();
          return p;
        });
        r.taggedFields();
        return p!;
      });
      if (version >= 1) r.int32();
      r.taggedFields();
      expect(r.remaining).toBe(0);
      if (version < 3) {
        expect([p!.index, p!.errorCode, p!.baseOffset]).toEqual([2, KAFKA_ERRORS.INVALID_RECORD, -1n]);
        return;
      }
      expect([p!.index, p!.errorCode]).toEqual([2, 0]);
      produced.push({ version, partition: 2, offset: p!.baseOffset });
    },
  );

  const readFetch = (r: KafkaReader, version: number) => {
    r.int32();
    if (version >= 7) {
      expect(r.int16()).toBe(0);
      expect(r.int32()).toBe(0);
    }
    const out = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const p = {
          index: r.int32(),
          errorCode: r.int16(),
          hw: r.int64(),
          lso: r.int64(),
          logStart: version >= 5 ? r.int64() : -1n,
        };
        expect(r.nullableArray((r) => [r.int64(), r.int64(), r.taggedFields()])).toBeNull();
        if (version >= 11) expect(r.int32()).toBe(-1);
        const records = r.records();
        r.taggedFields();
        return { ...p, records };
      });
      r.taggedFields();
      return { name, partitions };
    });
    r.taggedFields();
    expect(r.remaining).toBe(0);
    return out;
  };

  it.each([4, 7, 11, 12])(
    'Fetch v%i returns the batches as stored, the high-water mark and log start',
    async (version) => {
      const flexible = version >= 12;
      const { body } = await c.request(
        1,
        version,
        (w) => {
          w.int32(-1)
            .int32(100)
            .int32(1)
            .int32(1 << 20)
            .int8(1);
          if (version >= 7) w.int32(0).int32(-1);
          w.array([0], (w) => {
            w.string(topic);
            w.array([0], (w) => {
              w.int32(2);
              if (version >= 9) w.int32(-1);
              w.int64(0);
              if (version >= 12) w.int32(-1);
              if (version >= 5) w.int64(-1);
              w.int32(1 << 20).taggedFields();
            });
            w.taggedFields();
          });
          if (version >= 7) w.array([], () => {});
          if (version >= 11) w.string('');
          w.taggedFields();
        },
        { flexible },
      );
      const [t] = readFetch(body, version);
      const p = t!.partitions[0]!;
      expect([p.errorCode, p.hw, p.lso]).toEqual([0, 3n, 3n]);
      if (version >= 5) expect(p.logStart).toBe(0n);
      const { decodeRecordBatches } = await import('../../shared/codec/record-batch');
      const values = decodeRecordBatches(p.records!).batches.flatMap((b) =>
        b.records.map((r) => [r.offset, r.value!.toString()]),
      );
      expect(values).toEqual([
        [0, 'p3'],
        [1, 'p8'],
        [2, 'p9'],
      ]);
      expect(produced.map((x) => x.offset)).toEqual([0n, 1n, 2n]);
    },
  );

  it.each([1, 4, 5, 6, 7])(
    'ListOffsets v%i: earliest, latest, by timestamp, past the end',
    async (version) => {
      const specs = [-2n, -1n, 1003n, 99_999n, ...(version >= 7 ? [-3n] : [])];
      const { body: r } = await c.request(
        2,
        version,
        (w) => {
          w.int32(-1);
          if (version >= 2) w.int8(0);
          w.array([0], (w) => {
            w.string(topic);
            w.array(specs, (w, ts) => {
              w.int32(2);
              if (version >= 4) w.int32(-1);
              w.int64(ts).taggedFields();
            });
            w.taggedFields();
          });
          w.taggedFields();
        },
        { flexible: version >= 6 },
      );
      if (version >= 2) r.int32();
      const [answers] = r.array((r) => {
        expect(r.string()).toBe(topic);
        const ps = r.array((r) => {
          const p = { index: r.int32(), errorCode: r.int16(), timestamp: r.int64(), offset: r.int64() };
          if (version >= 4) expect(r.int32()).toBe(-1);
          r.taggedFields();
          return p;
        });
        r.taggedFields();
        return ps;
      });
      r.taggedFields();
      expect(r.remaining).toBe(0);
      expect(answers!.map((p) => [p.index, p.errorCode, p.offset, p.timestamp])).toEqual(
        [
          [2, 0, 0n, -1n],
          [2, 0, 3n, -1n],
          [2, 0, 0n, 1003n],
          [2, 0, -1n, -1n],
          [2, 0, 2n, 1009n],
        ].slice(0, specs.length),
      );
    },
  );
});
