/**
 * kcat (librdkafka 2.0) against the listener: metadata, produce keyed records from a file, consume from
 * the beginning, from an offset and from a timestamp, and the round trip with the Sluice SDK.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../client';
import { partitionForKey } from '../../shared/codec/partitioner';
import { kafkaTestStackForAll, kcat, readWithSdk, uniqueTopic } from './support';

const kafka = kafkaTestStackForAll();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-kcat-'));
});

/** Kafka's Java partitioner with 12 partitions (values from Kafka's own tests, /work/shared/facts.md). */
const JAVA_PARTITIONS: Record<string, number> = {
  '21': 0,
  foobar: 6,
  abc: 3,
  'tenant/acme': 1,
  'user-1': 8,
  'a-little-bit-longer-string': 11,
};
const KEYS = Object.keys(JAVA_PARTITIONS);

interface Line {
  partition: number;
  offset: number;
  key: string;
  value: string;
  timestamp: number;
  headers: string;
}

const FORMAT = '%p|%o|%k|%s|%T|%h\\n';
const parse = (stdout: string): Line[] =>
  stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [partition, offset, key, value, timestamp, headers] = l.split('|');
      return {
        partition: Number(partition),
        offset: Number(offset),
        key: key!,
        value: value!,
        timestamp: Number(timestamp),
        headers: headers!,
      };
    });

/** kcat -C from where `from` says (-p, -o) to the end of each partition (-e), one FORMAT line a record. */
const consume = (topic: string, ...from: string[]) =>
  kcat(kafka.bootstrap, ['-C', '-t', topic, ...from, '-e', '-f', FORMAT]);

describe('kcat', () => {
  const topic = uniqueTopic('kcat');
  let produced: { key: string; value: string }[];

  beforeAll(async () => {
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 12 });
  });

  it('lists the listener as the only broker and the topic with its 12 partitions (-L)', async () => {
    const { code, stdout } = await kcat(kafka.bootstrap, ['-L', '-J', '-t', topic]);
    expect(code).toBe(0);
    const meta = JSON.parse(stdout);
    expect(meta.brokers).toEqual([{ id: 0, name: `127.0.0.1:${kafka.port}` }]);
    expect(meta.topics).toHaveLength(1);
    expect(meta.topics[0].topic).toBe(topic);
    expect(meta.topics[0].partitions).toHaveLength(12);
    expect(meta.topics[0].partitions.every((p: { leader: number }) => p.leader === 0)).toBe(true);
  });

  it('produces keyed records from a file with -K: onto the partitions Kafka’s Java client chooses', async () => {
    // Prepare
    produced = [];
    for (let round = 0; round < 3; round++)
      for (const key of KEYS) produced.push({ key, value: `v${round}-${key}` });
    const file = join(dir, 'records.txt');
    await writeFile(file, produced.map((r) => `${r.key}:${r.value}`).join('\n'));
    // Act
    const { code, stderr } = await kcat(kafka.bootstrap, [
      '-P',
      '-t',
      topic,
      '-K:',
      '-H',
      'source=kcat',
      '-l',
      file,
    ]);
    // Assess
    expect(code, stderr).toBe(0);
    for (const key of KEYS) {
      expect(partitionForKey(key, 12)).toBe(JAVA_PARTITIONS[key]);
      const p = JAVA_PARTITIONS[key]!;
      const [result] = await kafka.stack.services.log.fetch({
        partitions: [{ topic, partition: p, offset: 0 }],
      });
      expect(result!.highWatermark).toBe(3);
    }
    const total = (await kafka.stack.services.log.describeTopic(topic)).partitions.reduce(
      (sum, p) => sum + p.highWatermark,
      0,
    );
    expect(total).toBe(produced.length);
  });

  it('consumes every record from the beginning to the end (-o beginning -e)', async () => {
    const { code, stdout, stderr } = await consume(topic, '-o', 'beginning');
    expect(code, stderr).toBe(0);
    const lines = parse(stdout);
    expect(lines).toHaveLength(produced.length);
    for (const key of KEYS) {
      const mine = lines.filter((l) => l.key === key);
      expect(mine.map((l) => [l.partition, l.offset, l.value])).toEqual(
        [0, 1, 2].map((o) => [JAVA_PARTITIONS[key], o, `v${o}-${key}`]),
      );
      expect(mine.every((l) => l.headers === 'source=kcat')).toBe(true);
    }
  });

  it('consumes one partition from an offset (-p -o)', async () => {
    const { code, stdout } = await consume(topic, '-p', '8', '-o', '1');
    expect(code).toBe(0);
    expect(parse(stdout).map((l) => [l.offset, l.value])).toEqual([
      [1, 'v1-user-1'],
      [2, 'v2-user-1'],
    ]);
  });

  it('consumes from a timestamp (-o s@<ts>)', async () => {
    // Prepare: two rounds on one partition, the second after a known time.
    const t = uniqueTopic('kcat-ts');
    await kafka.stack.services.log.createTopic({ name: t, partitionCount: 1 });
    expect((await kcat(kafka.bootstrap, ['-P', '-t', t, '-p', '0'], 'early-1\nearly-2\n')).code).toBe(0);
    await new Promise((r) => setTimeout(r, 30));
    const boundary = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    expect((await kcat(kafka.bootstrap, ['-P', '-t', t, '-p', '0'], 'late-1\nlate-2\n')).code).toBe(0);
    // Act
    const { code, stdout } = await consume(t, '-p', '0', '-o', `s@${boundary}`);
    // Assess
    expect(code).toBe(0);
    const lines = parse(stdout);
    expect(lines.map((l) => [l.offset, l.value])).toEqual([
      [2, 'late-1'],
      [3, 'late-2'],
    ]);
    expect(lines.every((l) => l.timestamp >= boundary)).toBe(true);
  });
});

describe('Round trip across the two doors', () => {
  it('reads records produced with kcat through the Sluice SDK: same offsets, keys, headers and timestamps', async () => {
    // Prepare
    const topic = uniqueTopic('kcat-sdk');
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 12 });
    const input = KEYS.map((k) => `${k}:hello ${k}`).join('\n');
    expect(
      (await kcat(kafka.bootstrap, ['-P', '-t', topic, '-K:', '-H', 'h1=one', '-H', 'h2=two'], input)).code,
    ).toBe(0);
    const consumed = await consume(topic, '-o', 'beginning');
    const viaKafka = parse(consumed.stdout);
    // Act
    const viaSdk = await readWithSdk(
      kafka.stack.url,
      topic,
      [...new Set(viaKafka.map((l) => l.partition))],
      KEYS.length,
    );
    // Assess
    expect(viaSdk).toHaveLength(KEYS.length);
    for (const { partition, message } of viaSdk) {
      const twin = viaKafka.find((l) => l.key === message.key?.toString())!;
      expect([partition, message.offset, message.value?.toString(), message.timestamp]).toEqual([
        twin.partition,
        twin.offset,
        twin.value,
        twin.timestamp,
      ]);
      expect(partition).toBe(JAVA_PARTITIONS[message.key!.toString()]);
      expect(message.headers.h1?.toString()).toBe('one');
      expect(message.headers.h2?.toString()).toBe('two');
    }
  });

  it('reads records produced by the Sluice SDK with kcat', async () => {
    // Prepare
    const topic = uniqueTopic('sdk-kcat');
    await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 12 });
    const producer = new Sluice({ endpoint: kafka.stack.url }, {}).producer();
    const timestamp = 1_700_000_000_000;
    const meta = await producer.send({
      topic,
      messages: KEYS.map((key, i) => ({
        key,
        value: `sdk ${key}`,
        timestamp: timestamp + i,
        headers: { via: 'sdk' },
      })),
    });
    await producer.disconnect();
    // Act
    const { code, stdout } = await consume(topic, '-o', 'beginning');
    // Assess
    expect(code).toBe(0);
    const lines = parse(stdout);
    expect(lines).toHaveLength(KEYS.length);
    KEYS.forEach((key, i) => {
      const line = lines.find((l) => l.key === key)!;
      expect([line.partition, line.value, line.timestamp, line.headers]).toEqual([
        JAVA_PARTITIONS[key],
        `sdk ${key}`,
        timestamp + i,
        'via=sdk',
      ]);
      expect(line.offset).toBe(meta[i]!.offset);
    });
  });
});
