import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_ERRORS } from '../../shared/kafka/protocol/errors';
import { type KafkaTestStack, startKafkaTestStack, uniqueTopic } from './support';
import { http as httpCall, recordingApis, versionsOf } from './support-admin';

/**
 * confluent-kafka for Python (1.7.0 on librdkafka 2.0.2, Debian's python3-confluent-kafka) and its
 * AdminClient against a listener over the embedded stack. librdkafka negotiates CreateTopics v4,
 * DeleteTopics v1, CreatePartitions v0 and DescribeConfigs v1 here (checked below). Each phase runs
 * one Python process that performs a list of operations and prints their outcomes as JSON (errors as
 * Kafka's numeric codes: librdkafka's names differ); every call has a timeout.
 */
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

const SCRIPT = `
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

admin = AdminClient({'bootstrap.servers': sys.argv[1], 'socket.timeout.ms': 10000})
TIMEOUT = 15

def outcome(future):
    try:
        future.result(timeout=TIMEOUT)
        return {'ok': True}
    except KafkaException as e:
        return {'error': e.args[0].code()}

def run(op):
    kind = op['op']
    if kind == 'create':
        topics = [NewTopic(t['name'], t['partitions'], t.get('rf', 1), config=t.get('config', {})) for t in op['topics']]
        fs = admin.create_topics(topics, request_timeout=TIMEOUT, validate_only=op.get('validate_only', False))
        return {name: outcome(f) for name, f in fs.items()}
    if kind == 'delete':
        fs = admin.delete_topics(op['topics'], request_timeout=TIMEOUT)
        return {name: outcome(f) for name, f in fs.items()}
    if kind == 'partitions':
        fs = admin.create_partitions([NewPartitions(t['name'], t['count']) for t in op['topics']], request_timeout=TIMEOUT)
        return {name: outcome(f) for name, f in fs.items()}
    if kind == 'describe':
        resources = [ConfigResource(r['type'], r['name']) for r in op['resources']]
        out = {}
        for resource, f in admin.describe_configs(resources, request_timeout=TIMEOUT).items():
            try:
                entries = f.result(timeout=TIMEOUT)
                out[resource.name] = {k: {'value': v.value, 'default': v.is_default, 'read_only': v.is_read_only} for k, v in entries.items()}
            except KafkaException as e:
                out[resource.name] = {'error': e.args[0].code()}
        return out
    if kind == 'list':
        md = admin.list_topics(timeout=TIMEOUT)
        return {name: len(t.partitions) for name, t in md.topics.items() if t.error is None}
    raise ValueError(kind)

print(json.dumps([run(op) for op in json.loads(sys.argv[2])]))
`;

// biome-ignore lint/suspicious/noExplicitAny: outcomes are JSON printed by the script
async function python(ops: unknown[]): Promise<any[]> {
  const { stdout } = await run(PYTHON, ['-c', SCRIPT, kafka.bootstrap, JSON.stringify(ops)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout);
}

const http = (method: string, path: string, body?: unknown) => httpCall(kafka.stack.url, method, path, body);

let kafka: KafkaTestStack;
const recorded = recordingApis();
const available = existsSync(PYTHON);

beforeAll(async () => {
  kafka = await startKafkaTestStack({ apis: recorded.apis });
});

afterAll(async () => {
  await kafka?.stop();
});

describe.skipIf(!available)('confluent-kafka AdminClient (librdkafka 2.0.2)', () => {
  it('creates, grows, describes and deletes topics; the HTTP API sees each change', async () => {
    // Prepare
    const a = uniqueTopic('ck-a');
    const b = uniqueTopic('ck-b');
    const viaHttp = uniqueTopic('ck-http');
    expect(
      (await http('POST', '/v1/topics', { name: viaHttp, partitions: 2, retentionBytes: 5_000_000 })).status,
    ).toBe(201);

    // Act: create and grow through Kafka
    const [created, grown, listed, described] = await python([
      {
        op: 'create',
        topics: [
          { name: a, partitions: 3, config: { 'retention.ms': '120000', 'cleanup.policy': 'delete' } },
          { name: b, partitions: 1, rf: 3 },
        ],
      },
      { op: 'partitions', topics: [{ name: a, count: 6 }] },
      { op: 'list' },
      {
        op: 'describe',
        resources: [
          { type: 'topic', name: a },
          { type: 'topic', name: viaHttp },
          { type: 'broker', name: '0' },
        ],
      },
    ]);

    // Assess
    expect(created).toEqual({ [a]: { ok: true }, [b]: { ok: true } });
    expect(grown).toEqual({ [a]: { ok: true } });
    expect(listed).toMatchObject({ [a]: 6, [b]: 1, [viaHttp]: 2 });
    expect((await http('GET', `/v1/topics/${a}`)).body).toMatchObject({
      partitionCount: 6,
      retentionMs: 120_000,
    });
    expect((await http('GET', `/v1/topics/${b}`)).body).toMatchObject({ partitionCount: 1 });
    expect(described[a]['retention.ms']).toEqual({ value: '120000', default: false, read_only: false });
    expect(described[a]['cleanup.policy']).toMatchObject({ value: 'delete', default: true });
    expect(described[a]['compression.type']).toMatchObject({ value: 'producer' });
    expect(described[viaHttp]['retention.bytes']).toMatchObject({ value: '5000000', default: false });
    expect(described['0']['log.retention.ms']).toMatchObject({ value: '604800000' });

    // Act: delete through Kafka, one of them created through HTTP
    const [deleted, again] = await python([
      { op: 'delete', topics: [a, viaHttp] },
      { op: 'delete', topics: [a] },
    ]);

    // Assess
    expect(deleted).toEqual({ [a]: { ok: true }, [viaHttp]: { ok: true } });
    expect(again).toEqual({ [a]: { error: KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION } });
    expect((await http('GET', `/v1/topics/${a}`)).status).toBe(404);
    expect((await http('GET', `/v1/topics/${viaHttp}`)).status).toBe(404);
    expect((await http('GET', `/v1/topics/${b}`)).status).toBe(200);
  }, 120_000);

  it('answers bad input with Kafka’s error codes and writes nothing', async () => {
    // Prepare
    const existing = uniqueTopic('ck-exists');
    expect((await http('POST', '/v1/topics', { name: existing, partitions: 2 })).status).toBe(201);
    const tooMany = uniqueTopic('ck-many');
    const unknownConfig = uniqueTopic('ck-config');
    const badValue = uniqueTopic('ck-value');
    const validateOnly = uniqueTopic('ck-validate');
    const before = (await http('GET', '/v1/topics')).body.topics.length;

    // Act
    const [created, validated, shrunk, unknown, described] = await python([
      {
        op: 'create',
        topics: [
          { name: existing, partitions: 1 },
          { name: 'bad/name', partitions: 1 },
          { name: tooMany, partitions: 5000 },
          { name: unknownConfig, partitions: 1, config: { 'no.such.config': '1' } },
          { name: badValue, partitions: 1, config: { 'retention.bytes': '0' } },
        ],
      },
      { op: 'create', validate_only: true, topics: [{ name: validateOnly, partitions: 4 }] },
      { op: 'partitions', topics: [{ name: existing, count: 1 }] },
      { op: 'partitions', topics: [{ name: uniqueTopic('ck-none'), count: 3 }] },
      { op: 'describe', resources: [{ type: 'topic', name: uniqueTopic('ck-none') }] },
    ]);

    // Assess
    expect(created).toEqual({
      [existing]: { error: KAFKA_ERRORS.TOPIC_ALREADY_EXISTS },
      'bad/name': { error: KAFKA_ERRORS.INVALID_TOPIC_EXCEPTION },
      [tooMany]: { error: KAFKA_ERRORS.INVALID_PARTITIONS },
      [unknownConfig]: { error: KAFKA_ERRORS.INVALID_CONFIG },
      [badValue]: { error: KAFKA_ERRORS.INVALID_CONFIG },
    });
    expect(validated).toEqual({ [validateOnly]: { ok: true } });
    expect(Object.values(shrunk)).toEqual([{ error: KAFKA_ERRORS.INVALID_PARTITIONS }]);
    expect(Object.values(unknown)).toEqual([{ error: KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION }]);
    expect(Object.values(described)).toEqual([{ error: KAFKA_ERRORS.UNKNOWN_TOPIC_OR_PARTITION }]);
    expect((await http('GET', '/v1/topics')).body.topics.length).toBe(before);
    expect((await http('GET', `/v1/topics/${existing}`)).body.partitionCount).toBe(2);
  }, 120_000);

  it('negotiated the versions librdkafka 2.0.2 sends (its highest, within ours)', () => {
    expect(
      versionsOf(recorded.versions, ['CreateTopics', 'DeleteTopics', 'CreatePartitions', 'DescribeConfigs']),
    ).toEqual({ CreateTopics: [4], DeleteTopics: [1], CreatePartitions: [0], DescribeConfigs: [1] });
  });
});
