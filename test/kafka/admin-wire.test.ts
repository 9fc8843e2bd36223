import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../shared/errors';
import { KafkaListener } from '../../shared/kafka/listener';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import type { KafkaReader } from '../../shared/kafka/protocol/reader';
import type { KafkaWriter } from '../../shared/kafka/protocol/writer';
import { topicIdToUuid, ZERO_UUID } from '../../shared/kafka/topic-id';
import { startedForAll } from '../support/lifecycle';
import { kafkaTestStackForAll, RawKafkaConnection, requestFrame, uniqueTopic } from './support';
import { http as httpCall } from './support-admin';

/**
 * The admin APIs at every version, classic and flexible, with hand-built frames: what no one client
 * covers (DeleteTopics by topic id, DescribeCluster, documentation, manual assignments, every refusal).
 */
const kafka = kafkaTestStackForAll();
const c = startedForAll(
  () => RawKafkaConnection.connect(kafka.port),
  async (connection) => connection.close(),
);
const http = (method: string, path: string, body?: unknown) => httpCall(kafka.stack.url, method, path, body);

interface NewTopic {
  name: string;
  partitions?: number;
  rf?: number;
  assignments?: [number, number[]][];
  configs?: [string, string | null][];
}

/** CreateTopics at `version`; returns each topic's answer. */
async function createTopics(version: number, topics: NewTopic[], validateOnly = false) {
  const flexible = version >= 5;
  const { body } = await c.request(
    19,
    version,
    (w: KafkaWriter) => {
      w.array(topics, (w, t) => {
        w.string(t.name)
          .int32(t.partitions ?? -1)
          .int16(t.rf ?? -1);
        w.array(t.assignments ?? [], (w, [p, ids]) => {
          w.int32(p)
            .array(ids, (w, id) => w.int32(id))
            .taggedFields();
        });
        w.array(t.configs ?? [], (w, [k, v]) => w.string(k).nullableString(v).taggedFields());
        w.taggedFields();
      });
      w.int32(10_000);
      if (version >= 1) w.bool(validateOnly);
      w.taggedFields();
    },
    { flexible },
  );
  if (version >= 2) body.int32();
  const results = body.array((r: KafkaReader) => {
    const name = r.string();
    const topicId = version >= 7 ? Buffer.from(r.uuid()) : null;
    const errorCode = r.int16();
    const errorMessage = version >= 1 ? r.nullableString() : null;
    let numPartitions = -1;
    let replicationFactor = -1;
    let configs: Record<string, string | null> | null = null;
    if (version >= 5) {
      numPartitions = r.int32();
      replicationFactor = r.int16();
      const entries = r.nullableArray((r) => {
        const entry = [r.string(), r.nullableString()] as const;
        r.bool();
        r.int8();
        r.bool();
        r.taggedFields();
        return entry;
      });
      configs = entries === null ? null : Object.fromEntries(entries);
    }
    r.taggedFields();
    return { name, topicId, errorCode, errorMessage, numPartitions, replicationFactor, configs };
  });
  body.taggedFields();
  expect(body.remaining).toBe(0);
  return results;
}

async function topicCount(): Promise<number> {
  return (await http('GET', '/v1/topics')).body.topics.length;
}

describe('API: CreateTopics v0–v7', () => {
  it('creates a topic at every version, with its configs and id in the answer from v5 and v7', async () => {
    for (let version = 0; version <= 7; version++) {
      // Prepare
      const name = uniqueTopic(`ct${version}`);

      // Act
      const [result] = await createTopics(version, [
        { name, partitions: 2, rf: 1, configs: [['retention.ms', '90000']] },
      ]);

      // Assess
      expect(result).toMatchObject({ name, errorCode: 0, errorMessage: null });
      const viaHttp = (await http('GET', `/v1/topics/${name}`)).body;
      expect(viaHttp).toMatchObject({ partitionCount: 2, retentionMs: 90_000 });
      if (version >= 5) {
        expect(result!.numPartitions).toBe(2);
        expect(result!.replicationFactor).toBe(1);
        expect(result!.configs).toMatchObject({
          'retention.ms': '90000',
          'retention.bytes': '-1',
          'cleanup.policy': 'delete',
        });
      }
      if (version >= 7) expect(result!.topicId!.equals(topicIdToUuid(viaHttp.topicId))).toBe(true);
    }
  });

  it('takes the defaults for −1, any positive replication factor, and a manual assignment to this broker', async () => {
    const [defaults, rf3, assigned] = [uniqueTopic('def'), uniqueTopic('rf3'), uniqueTopic('asg')];
    const results = await createTopics(7, [
      { name: defaults },
      { name: rf3, partitions: 1, rf: 3 },
      {
        name: assigned,
        assignments: [
          [1, [0]],
          [0, [0]],
          [2, [0]],
        ],
      },
    ]);
    expect(results.map((r) => [r.errorCode, r.numPartitions, r.replicationFactor])).toEqual([
      [0, 1, 1],
      [0, 1, 1],
      [0, 3, 1],
    ]);
    expect((await http('GET', `/v1/topics/${assigned}`)).body.partitionCount).toBe(3);
  });

  it('refuses each bad topic with its own Kafka error, creates none of them, and still creates the good one', async () => {
    // Prepare
    const existing = uniqueTopic('exists');
    expect((await http('POST', '/v1/topics', { name: existing, partitions: 1 })).status).toBe(201);
    const dotted = `${uniqueTopic('col')}.x`;
    expect((await http('POST', '/v1/topics', { name: dotted, partitions: 1 })).status).toBe(201);
    const good = uniqueTopic('good');
    const twice = uniqueTopic('twice');
    const before = await topicCount();
    const fresh = () => uniqueTopic('bad');

    // Act
    const results = await createTopics(7, [
      { name: existing, partitions: 1 },
      { name: 'bad name', partitions: 1 },
      { name: 'x'.repeat(250), partitions: 1 },
      { name: '..', partitions: 1 },
      { name: fresh(), partitions: 0 },
      { name: fresh(), partitions: -2 },
      { name: fresh(), partitions: 1025 },
      { name: fresh(), partitions: 1, rf: 0 },
      { name: fresh(), partitions: 1, configs: [['segment.bytes', '1000']] },
      { name: fresh(), partitions: 1, configs: [['cleanup.policy', 'compact']] },
      { name: fresh(), partitions: 1, configs: [['compression.type', 'lz4']] },
      { name: fresh(), partitions: 1, configs: [['retention.ms', '0']] },
      { name: fresh(), partitions: 1, configs: [['retention.ms', '1e3']] },
      {
        name: fresh(),
        partitions: 1,
        configs: [
          ['retention.ms', '1'],
          ['retention.ms', '2'],
        ],
      },
      { name: fresh(), assignments: [[0, [7]]] },
      { name: fresh(), assignments: [[1, [0]]] },
      { name: fresh(), partitions: 2, assignments: [[0, [0]]] },
      { name: dotted.replace('.x', '_x'), partitions: 1 },
      { name: twice, partitions: 1 },
      { name: twice, partitions: 2 },
      { name: good, partitions: 1, configs: [['retention.bytes', null]] },
    ]);

    // Assess
    const E = KAFKA_ERRORS;
    expect(results.map((r) => r.errorCode)).toEqual([
      E.TOPIC_ALREADY_EXISTS,
      E.INVALID_TOPIC_EXCEPTION,
      E.INVALID_TOPIC_EXCEPTION,
      E.INVALID_TOPIC_EXCEPTION,
      E.INVALID_PARTITIONS,
      E.INVALID_PARTITIONS,
      E.INVALID_PARTITIONS,
      E.INVALID_REPLICATION_FACTOR,
      E.INVALID_CONFIG,
      E.INVALID_CONFIG,
      E.INVALID_CONFIG,
      E.INVALID_CONFIG,
      E.INVALID_CONFIG,
      E.INVALID_CONFIG,
      E.INVALID_REPLICA_ASSIGNMENT,
      E.INVALID_REPLICA_ASSIGNMENT,
      E.INVALID_REQUEST,
      E.INVALID_TOPIC_EXCEPTION,
      E.INVALID_REQUEST,
      E.INVALID_REQUEST,
      E.NONE,
    ]);
    for (const r of results.slice(0, -1)) {
      expect(r.errorMessage, r.name).toMatch(/\w/);
      expect(r.numPartitions).toBe(-1);
      expect(r.topicId!.equals(ZERO_UUID)).toBe(true);
    }
    expect(await topicCount()).toBe(before + 1);
    expect((await http('GET', `/v1/topics/${twice}`)).status).toBe(404);
  });

  it('checks everything and creates nothing when ValidateOnly is set', async () => {
    const name = uniqueTopic('validate');
    const existing = uniqueTopic('validate-exists');
    await createTopics(4, [{ name: existing, partitions: 1 }]);
    const results = await createTopics(
      6,
      [
        { name, partitions: 4 },
        { name: existing, partitions: 1 },
      ],
      true,
    );
    expect(results.map((r) => [r.errorCode, r.numPartitions])).toEqual([
      [0, 4],
      [KAFKA_ERRORS.TOPIC_ALREADY_EXISTS, -1],
    ]);
    expect((await http('GET', `/v1/topics/${name}`)).status).toBe(404);
  });
});

describe('API: DeleteTopics v0–v6', () => {
  async function deleteTopics(version: number, topics: { name: string | null; id?: Buffer }[]) {
    const flexible = version >= 4;
    const { body } = await c.request(
      20,
      version,
      (w) => {
        if (version >= 6) {
          w.array(topics, (w, t) =>
            w
              .nullableString(t.name)
              .uuid(t.id ?? ZERO_UUID)
              .taggedFields(),
          );
        } else {
          w.array(topics, (w, t) => w.string(t.name!));
        }
        w.int32(10_000).taggedFields();
      },
      { flexible },
    );
    if (version >= 1) body.int32();
    const results = body.array((r) => {
      const name = version >= 6 ? r.nullableString() : r.string();
      const topicId = version >= 6 ? Buffer.from(r.uuid()) : null;
      const errorCode = r.int16();
      const errorMessage = version >= 5 ? r.nullableString() : null;
      r.taggedFields();
      return { name, topicId, errorCode, errorMessage };
    });
    body.taggedFields();
    expect(body.remaining).toBe(0);
    return results;
  }

  it('deletes by name at every version, and answers UNKNOWN_TOPIC_OR_PARTITION for a missing one', async () => {
    for (let version = 0; version <= 6; version++) {
      const name = uniqueTopic(`dt${version}`);
      expect((await http('POST', '/v1/topics', { name, partitions: 2 })).status).toBe(201);
      const [deleted, missing] = await deleteTopics(version, [{ name }, { name: uniqueTopic('missing') }]);
      expect(deleted).toMatchObject({ name, errorCode: 0 });
      expect(missing!.errorCode).toBe(KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION);
      expect((await http('GET', `/v1/topics/${name}`)).status).toBe(404);
    }
  });

  it('deletes by topic id at v6; a name and an id together, an unknown id or a repeat is refused', async () => {
    // Prepare
    const name = uniqueTopic('byid');
    const other = uniqueTopic('both');
    const topic = (await http('POST', '/v1/topics', { name, partitions: 1 })).body;
    const both = (await http('POST', '/v1/topics', { name: other, partitions: 1 })).body;
    const id = topicIdToUuid(topic.topicId);
    const unknownId = Buffer.from(id);
    unknownId[15] = unknownId[15]! ^ 0xff;

    // Act
    const results = await deleteTopics(6, [
      { name: null, id },
      { name: other, id: topicIdToUuid(both.topicId) },
      { name: null, id: unknownId },
      { name: null },
      { name: uniqueTopic('rep') },
      { name: 'x.y' },
      { name: 'x.y' },
    ]);

    // Assess
    expect(results.map((r) => r.errorCode)).toEqual([
      0,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.UNKNOWN_TOPIC_ID,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.INVALID_REQUEST,
    ]);
    expect(results[0]!.name).toBe(name);
    expect(results[0]!.topicId!.equals(id)).toBe(true);
    expect((await http('GET', `/v1/topics/${name}`)).status).toBe(404);
    expect((await http('GET', `/v1/topics/${other}`)).status).toBe(200);
  });
});

describe('API: CreatePartitions v0–v3', () => {
  async function createPartitions(
    version: number,
    topics: { name: string; count: number; assignments?: number[][] | null }[],
    validateOnly = false,
  ) {
    const { body } = await c.request(
      37,
      version,
      (w) => {
        w.array(topics, (w, t) => {
          w.string(t.name).int32(t.count);
          w.nullableArray(t.assignments ?? null, (w, ids) =>
            w.array(ids, (w, id) => w.int32(id)).taggedFields(),
          );
          w.taggedFields();
        });
        w.int32(10_000).bool(validateOnly).taggedFields();
      },
      { flexible: version >= 2 },
    );
    body.int32();
    const results = body.array((r) => {
      const result = { name: r.string(), errorCode: r.int16(), errorMessage: r.nullableString() };
      r.taggedFields();
      return result;
    });
    body.taggedFields();
    expect(body.remaining).toBe(0);
    return results;
  }

  it('grows a topic at every version; refuses fewer, equal, too many, bad assignments and repeats', async () => {
    const name = uniqueTopic('cp');
    expect((await http('POST', '/v1/topics', { name, partitions: 1 })).status).toBe(201);
    for (let version = 0; version <= 3; version++) {
      const [grown] = await createPartitions(version, [{ name, count: version + 2 }]);
      expect(grown).toEqual({ name, errorCode: 0, errorMessage: null });
    }
    expect((await http('GET', `/v1/topics/${name}`)).body.partitionCount).toBe(5);

    const other = uniqueTopic('cp-twice');
    const results = await createPartitions(3, [
      { name, count: 4 },
      { name, count: 5 },
      { name: uniqueTopic('cp-missing'), count: 2 },
      { name: other, count: 2 },
      { name: other, count: 3 },
    ]);
    expect(results.map((r) => r.errorCode)).toEqual([
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.INVALID_REQUEST,
    ]);
    const refusals = await Promise.all([
      createPartitions(3, [{ name, count: 4 }]),
      createPartitions(3, [{ name, count: 5 }]),
      createPartitions(3, [{ name, count: 1025 }]),
      createPartitions(3, [{ name, count: 7, assignments: [[0]] }]),
      createPartitions(3, [{ name, count: 6, assignments: [[3]] }]),
    ]);
    expect(refusals.map(([r]) => [r!.errorCode, r!.errorMessage])).toEqual([
      [
        KAFKA_ERRORS.INVALID_PARTITIONS,
        'Topic currently has 5 partitions, which is higher than the requested 4.',
      ],
      [KAFKA_ERRORS.INVALID_PARTITIONS, 'Topic already has 5 partitions.'],
      [KAFKA_ERRORS.INVALID_PARTITIONS, expect.stringContaining('at most 1024')],
      [KAFKA_ERRORS.INVALID_REPLICA_ASSIGNMENT, expect.stringContaining('2 but 1 assignments')],
      [KAFKA_ERRORS.INVALID_REPLICA_ASSIGNMENT, expect.stringContaining('only broker 0')],
    ]);
    const [validated] = await createPartitions(
      1,
      [{ name, count: 9, assignments: [[0], [0], [0], [0]] }],
      true,
    );
    expect(validated!.errorCode).toBe(0);
    expect((await http('GET', `/v1/topics/${name}`)).body.partitionCount).toBe(5);
  });
});

describe('API: DescribeConfigs v0–v4', () => {
  async function describeConfigs(
    version: number,
    resources: { type: number; name: string; keys?: string[] | null }[],
    options: { synonyms?: boolean; documentation?: boolean } = {},
  ) {
    const { body } = await c.request(
      32,
      version,
      (w) => {
        w.array(resources, (w, res) => {
          w.int8(res.type)
            .string(res.name)
            .nullableArray(res.keys ?? null, (w, k) => w.string(k))
            .taggedFields();
        });
        if (version >= 1) w.bool(options.synonyms ?? false);
        if (version >= 3) w.bool(options.documentation ?? false);
        w.taggedFields();
      },
      { flexible: version >= 4 },
    );
    body.int32();
    const results = body.array((r) => {
      const errorCode = r.int16();
      const errorMessage = r.nullableString();
      const resourceType = r.int8();
      const resourceName = r.string();
      const configs = r.array((r) => {
        const name = r.string();
        const value = r.nullableString();
        const readOnly = r.bool();
        const sourceOrDefault = version === 0 ? r.bool() : r.int8();
        const sensitive = r.bool();
        const synonyms =
          version >= 1
            ? r.array((r) => {
                const s = { name: r.string(), value: r.nullableString(), source: r.int8() };
                r.taggedFields();
                return s;
              })
            : [];
        const type = version >= 3 ? r.int8() : null;
        const documentation = version >= 3 ? r.nullableString() : null;
        r.taggedFields();
        return { name, value, readOnly, sourceOrDefault, sensitive, synonyms, type, documentation };
      });
      r.taggedFields();
      return { errorCode, errorMessage, resourceType, resourceName, configs };
    });
    body.taggedFields();
    expect(body.remaining).toBe(0);
    return results;
  }

  it('describes a topic at every version: values, defaults, sources, synonyms, types and documentation', async () => {
    const name = uniqueTopic('dc');
    expect(
      (await http('POST', '/v1/topics', { name, partitions: 1, retentionBytes: 1_000_000 })).status,
    ).toBe(201);
    for (let version = 0; version <= 4; version++) {
      const [result] = await describeConfigs(version, [{ type: 2, name }], {
        synonyms: true,
        documentation: true,
      });
      expect(result).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: name });
      const byName = Object.fromEntries(result!.configs.map((e) => [e.name, e]));
      expect(Object.keys(byName).sort()).toEqual([
        'cleanup.policy',
        'compression.type',
        'max.message.bytes',
        'message.timestamp.type',
        'retention.bytes',
        'retention.ms',
      ]);
      expect(byName['retention.bytes']).toMatchObject({
        value: '1000000',
        readOnly: false,
        sensitive: false,
      });
      expect(byName['retention.ms']!.value).toBe('604800000');
      expect(byName['cleanup.policy']).toMatchObject({ value: 'delete', readOnly: true });
      if (version === 0) {
        expect(byName['retention.bytes']!.sourceOrDefault).toBe(false);
        expect(byName['retention.ms']!.sourceOrDefault).toBe(true);
      } else {
        expect(byName['retention.bytes']!.sourceOrDefault).toBe(1); // DYNAMIC_TOPIC_CONFIG
        expect(byName['retention.ms']!.sourceOrDefault).toBe(5); // DEFAULT_CONFIG
        expect(byName['retention.bytes']!.synonyms).toEqual([
          { name: 'retention.bytes', value: '1000000', source: 1 },
          { name: 'log.retention.bytes', value: '-1', source: 5 },
        ]);
      }
      if (version >= 3) {
        expect(byName['retention.ms']!.type).toBe(5); // LONG
        expect(byName['retention.ms']!.documentation).toMatch(/kept/);
      }
    }
  });

  it('filters keys, describes the broker, and refuses unknown topics, brokers and resource types', async () => {
    const name = uniqueTopic('dc-keys');
    expect((await http('POST', '/v1/topics', { name, partitions: 1 })).status).toBe(201);
    const results = await describeConfigs(4, [
      { type: 2, name, keys: ['retention.ms', 'no.such.key'] },
      { type: 4, name: '0', keys: ['log.retention.ms', 'num.partitions'] },
      { type: 4, name: '' },
      { type: 2, name: uniqueTopic('dc-missing') },
      { type: 2, name: 'bad name' },
      { type: 4, name: '7' },
      { type: 8, name: '0' },
      { type: 3, name: 'g' },
    ]);
    expect(results.map((r) => r.errorCode)).toEqual([
      0,
      0,
      0,
      KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION,
      KAFKA_ERRORS.INVALID_TOPIC_EXCEPTION,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.INVALID_REQUEST,
      KAFKA_ERRORS.INVALID_REQUEST,
    ]);
    expect(results[0]!.configs.map((e) => [e.name, e.value])).toEqual([['retention.ms', '604800000']]);
    expect(results[1]!.configs.map((e) => [e.name, e.value])).toEqual([
      ['num.partitions', '1'],
      ['log.retention.ms', '604800000'],
    ]);
    expect(results[2]!.configs.length).toBeGreaterThan(5);
    expect(results[2]!.configs.every((e) => e.readOnly && e.documentation === null)).toBe(true);
  });
});

describe('API: DescribeCluster v0–v1', () => {
  it('answers this listener as the one broker and the controller; a controller endpoint is refused', async () => {
    for (const [version, endpointType] of [
      [0, 1],
      [1, 1],
      [1, 2],
    ] as const) {
      const { body } = await c.request(
        60,
        version,
        (w) => {
          w.bool(true);
          if (version >= 1) w.int8(endpointType);
          w.taggedFields();
        },
        { flexible: true },
      );
      body.int32();
      const errorCode = body.int16();
      const errorMessage = body.nullableString();
      if (version >= 1) expect(body.int8()).toBe(endpointType);
      const clusterId = body.string();
      const controllerId = body.int32();
      const brokers = body.array((r) => {
        const b = { id: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() };
        r.taggedFields();
        return b;
      });
      const operations = body.int32();
      body.taggedFields();
      expect(body.remaining).toBe(0);
      expect(clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
      if (endpointType === 2) {
        expect(errorCode).toBe(KAFKA_ERRORS.MISMATCHED_ENDPOINT_TYPE);
        expect(errorMessage).toMatch(/endpoint/);
        expect(brokers).toEqual([]);
      } else {
        expect([errorCode, errorMessage, controllerId]).toEqual([0, null, 0]);
        expect(brokers).toEqual([{ id: 0, host: '127.0.0.1', port: kafka.port, rack: null }]);
        expect(operations).toBeGreaterThan(0);
      }
    }
  });
});

describe('Admin APIs: malformed requests, races and storage failures', () => {
  it('closes the connection on a truncated body at any byte, creates nothing, and serves the next connection', async () => {
    // Prepare: a valid CreateTopics v7 frame for one topic, and the same for CreatePartitions v3
    const name = uniqueTopic('trunc');
    const createFrame = requestFrame(
      19,
      7,
      1,
      (w) => {
        w.array([name], (w, n) => {
          w.string(n)
            .int32(2)
            .int16(1)
            .array([], () => {});
          w.array([['retention.ms', '1000']], (w, [k, v]) => w.string(k!).nullableString(v!).taggedFields());
          w.taggedFields();
        });
        w.int32(1000).bool(false).taggedFields();
      },
      { flexible: true },
    );
    const before = await topicCount();

    // Act / Assess: cut the body after the header at each byte, with a frame length that matches the cut
    const headerBytes = 4 + 2 + 2 + 4 + 2 + 'test'.length + 1;
    for (let cut = headerBytes; cut < createFrame.length; cut += 3) {
      const frame = Buffer.from(createFrame.subarray(0, cut));
      frame.writeInt32BE(cut - 4, 0);
      const conn = await RawKafkaConnection.connect(kafka.port);
      conn.write(frame);
      await expect(conn.next(5000)).rejects.toThrow(/closed/);
      conn.close();
    }
    expect(await topicCount()).toBe(before);
    const [ok] = await createTopics(7, [{ name, partitions: 2 }]);
    expect(ok!.errorCode).toBe(0);
  }, 60_000);

  it('lets exactly one of two listeners’ racing creates win; the other gets TOPIC_ALREADY_EXISTS', async () => {
    // Prepare: a second listener on the same stack
    const second = new KafkaListener({ services: kafka.stack.services, host: '127.0.0.1', port: 0 });
    const { port } = await second.start();
    const other = await RawKafkaConnection.connect(port);
    const name = uniqueTopic('race');
    const request = (conn: RawKafkaConnection) =>
      conn.request(
        19,
        4,
        (w) => {
          w.array([name], (w, n) =>
            w
              .string(n)
              .int32(3)
              .int16(1)
              .array([], () => {})
              .array([], () => {}),
          );
          w.int32(1000).bool(false);
        },
        {},
      );

    // Act
    const answers = await Promise.all([request(c), request(other)]);

    // Assess
    const codes = answers
      .map(({ body }) => {
        body.int32();
        const [result] = body.array((r) => {
          r.string();
          const code = r.int16();
          r.nullableString();
          return code;
        });
        return result;
      })
      .sort();
    expect(codes).toEqual([0, KAFKA_ERRORS.TOPIC_ALREADY_EXISTS]);
    expect((await http('GET', `/v1/topics/${name}`)).body.partitionCount).toBe(3);
    other.close();
    await second.close();
  });

  it('answers a storage failure per topic with the retriable KAFKA_STORAGE_ERROR', async () => {
    // Prepare: the topic store fails its next create
    const { log } = kafka.stack.services;
    const create = log.topics.create.bind(log.topics);
    log.topics.create = async () => {
      throw new SluiceError('STORAGE_UNAVAILABLE', 'DynamoDB is unreachable (injected)');
    };
    const name = uniqueTopic('storage');
    let results: Awaited<ReturnType<typeof createTopics>>;
    try {
      // Act
      results = await createTopics(7, [{ name, partitions: 1 }]);
    } finally {
      log.topics.create = create;
    }

    // Assess
    expect(results[0]).toMatchObject({
      errorCode: KAFKA_ERRORS.KAFKA_STORAGE_ERROR,
      errorMessage: /injected/,
    });
    expect((await http('GET', `/v1/topics/${name}`)).status).toBe(404);
  });
});
