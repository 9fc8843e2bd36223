import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaTestStack, startKafkaTestStack, uniqueTopic } from './support';
import { http as httpCall, recordingApis, versionsOf } from './support-admin';

/**
 * kafkajs 2.2.4's admin client against a listener over the embedded stack: it negotiates CreateTopics
 * v3, DeleteTopics v1, CreatePartitions v1, DescribeConfigs v2 and Metadata v6 here. Every change made
 * through Kafka is checked through the HTTP API, and the other way round.
 */
let kafka: KafkaTestStack;
const recorded = recordingApis();
let admin: Admin;

beforeAll(async () => {
  kafka = await startKafkaTestStack({ apis: recorded.apis });
  admin = new Kafka({
    clientId: 'admin-test',
    brokers: [kafka.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    requestTimeout: 10_000,
  }).admin();
  await admin.connect();
}, 30_000);

afterAll(async () => {
  await admin?.disconnect();
  await kafka?.stop();
});

const http = (method: string, path: string, body?: unknown) => httpCall(kafka.stack.url, method, path, body);

/** The Kafka error type kafkajs reports for each failed topic of an aggregate error. */
async function errorTypes(action: Promise<unknown>): Promise<string[]> {
  try {
    await action;
  } catch (caught) {
    // kafkajs wraps an error it retried (UNKNOWN_TOPIC_OR_PARTITION on delete) in the retrier's own.
    const err = (caught as { cause?: unknown }).cause ?? caught;
    const errors = (err as { errors?: { type?: string }[] }).errors;
    if (Array.isArray(errors)) return errors.map((e) => String(e.type));
    return [String((err as { type?: string }).type)];
  }
  throw new Error('expected the call to fail');
}

describe('kafkajs admin: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, Metadata', () => {
  it('creates topics with configs, visible through Metadata and the HTTP API', async () => {
    // Prepare
    const a = uniqueTopic('kjs-a');
    const b = uniqueTopic('kjs-b');

    // Act
    const created = await admin.createTopics({
      topics: [
        {
          topic: a,
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '3600000' }],
        },
        {
          topic: b,
          configEntries: [
            { name: 'retention.bytes', value: '1048576' },
            { name: 'cleanup.policy', value: 'delete' },
          ],
        },
      ],
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [a, b] });

    // Assess
    expect(created).toBe(true);
    const byName = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
    expect(byName).toEqual({ [a]: 3, [b]: 1 });
    const viaHttp = await http('GET', `/v1/topics/${a}`);
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body).toMatchObject({
      name: a,
      partitionCount: 3,
      retentionMs: 3_600_000,
      retentionBytes: null,
    });
    expect((await http('GET', `/v1/topics/${b}`)).body).toMatchObject({
      partitionCount: 1,
      retentionBytes: 1_048_576,
    });
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([a, b]));
  });

  it('answers bad input with Kafka’s error codes and creates nothing', async () => {
    // Prepare
    const existing = uniqueTopic('kjs-exists');
    await admin.createTopics({ topics: [{ topic: existing }] });
    const before = (await http('GET', '/v1/topics')).body.topics.length;
    const fresh = () => uniqueTopic('kjs-bad');

    // Act / Assess: kafkajs reports an existing topic as `false`, not an error
    expect(await admin.createTopics({ topics: [{ topic: existing }] })).toBe(false);
    expect(await errorTypes(admin.createTopics({ topics: [{ topic: 'bad/name' }] }))).toEqual([
      'INVALID_TOPIC_EXCEPTION',
    ]);
    expect(await errorTypes(admin.createTopics({ topics: [{ topic: fresh(), numPartitions: 0 }] }))).toEqual([
      'INVALID_PARTITIONS',
    ]);
    expect(
      await errorTypes(admin.createTopics({ topics: [{ topic: fresh(), numPartitions: 5000 }] })),
    ).toEqual(['INVALID_PARTITIONS']);
    expect(
      await errorTypes(
        admin.createTopics({
          topics: [{ topic: fresh(), configEntries: [{ name: 'no.such.config', value: '1' }] }],
        }),
      ),
    ).toEqual(['INVALID_CONFIG']);
    expect(
      await errorTypes(
        admin.createTopics({
          topics: [{ topic: fresh(), configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        }),
      ),
    ).toEqual(['INVALID_CONFIG']);
    expect(
      await errorTypes(
        admin.createTopics({
          topics: [{ topic: fresh(), configEntries: [{ name: 'retention.ms', value: 'soon' }] }],
        }),
      ),
    ).toEqual(['INVALID_CONFIG']);
    expect((await http('GET', '/v1/topics')).body.topics.length).toBe(before);
  });

  it('validates without creating when validateOnly is set', async () => {
    const topic = uniqueTopic('kjs-validate');
    await admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [{ topic, numPartitions: 2 }],
    });
    expect((await http('GET', `/v1/topics/${topic}`)).status).toBe(404);
  });

  it('grows partitions, and refuses to shrink or to exceed the limit', async () => {
    // Prepare
    const topic = uniqueTopic('kjs-grow');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });

    // Act
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });

    // Assess
    expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(5);
    expect((await http('GET', `/v1/topics/${topic}`)).body.partitionCount).toBe(5);
    expect(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }))).toEqual([
      'INVALID_PARTITIONS',
    ]);
    expect(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] }))).toEqual([
      'INVALID_PARTITIONS',
    ]);
    expect(
      await errorTypes(admin.createPartitions({ topicPartitions: [{ topic, count: 100_000 }] })),
    ).toEqual(['INVALID_PARTITIONS']);
    expect(
      await errorTypes(
        admin.createPartitions({ topicPartitions: [{ topic: uniqueTopic('nope'), count: 2 }] }),
      ),
    ).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
    expect((await http('GET', `/v1/topics/${topic}`)).body.partitionCount).toBe(5);
  });

  it('describes topic and broker configs', async () => {
    // Prepare: a topic created through HTTP, with a retention of its own
    const topic = uniqueTopic('kjs-describe');
    expect(
      (await http('POST', '/v1/topics', { name: topic, partitions: 1, retentionMs: 60_000 })).status,
    ).toBe(201);

    // Act
    const { resources } = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic },
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.bytes'] },
        { type: ConfigResourceTypes.BROKER, name: '0' }, // the listener's node id
      ],
    });

    // Assess
    const [all, one, broker] = resources;
    const values = Object.fromEntries(all!.configEntries.map((c) => [c.configName, c.configValue]));
    expect(values).toMatchObject({
      'retention.ms': '60000',
      'retention.bytes': '-1',
      'cleanup.policy': 'delete',
      'compression.type': 'producer',
    });
    const retention = all!.configEntries.find((c) => c.configName === 'retention.ms')!;
    expect(retention.isDefault).toBe(false);
    expect(retention.configSynonyms.map((s) => s.configName)).toEqual(['retention.ms', 'log.retention.ms']);
    expect(one!.configEntries.map((c) => c.configName)).toEqual(['retention.bytes']);
    expect(broker!.errorCode).toBe(0);
    expect(broker!.configEntries.find((c) => c.configName === 'log.retention.ms')?.configValue).toBe(
      '604800000',
    );
    expect(
      await errorTypes(
        admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: uniqueTopic('nope') }],
        }),
      ),
    ).toEqual(['UNKNOWN_TOPIC_OR_PARTITION']);
  });

  it('deletes topics created through Kafka or HTTP, and reports unknown ones', async () => {
    // Prepare
    const viaKafka = uniqueTopic('kjs-del-k');
    const viaHttp = uniqueTopic('kjs-del-h');
    await admin.createTopics({ topics: [{ topic: viaKafka }] });
    expect((await http('POST', '/v1/topics', { name: viaHttp, partitions: 2 })).status).toBe(201);

    // Act
    await admin.deleteTopics({ topics: [viaKafka, viaHttp] });

    // Assess
    expect((await http('GET', `/v1/topics/${viaKafka}`)).status).toBe(404);
    expect((await http('GET', `/v1/topics/${viaHttp}`)).status).toBe(404);
    expect(await admin.listTopics()).not.toEqual(expect.arrayContaining([viaKafka]));
    expect(await errorTypes(admin.deleteTopics({ topics: [viaKafka] }))).toEqual([
      'UNKNOWN_TOPIC_OR_PARTITION',
    ]);
  });

  it('negotiated the versions kafkajs 2.2.4 sends (its highest, within ours)', () => {
    expect(
      versionsOf(recorded.versions, ['CreateTopics', 'DeleteTopics', 'CreatePartitions', 'DescribeConfigs']),
    ).toEqual({ CreateTopics: [3], DeleteTopics: [1], CreatePartitions: [1], DescribeConfigs: [2] });
  });
});
