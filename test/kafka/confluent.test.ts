/**
 * confluent-kafka for Python (librdkafka 2.0) against the listener: produce with each of Kafka's
 * compression codecs, consume by assign (no group), batches stored as the client compressed them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../shared/codec/partitioner';
import { KAFKA_APIS } from '../../shared/kafka/apis/index';
import { type KafkaTestStack, run, startKafkaTestStack, uniqueTopic } from './support';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'confluent_client.py');
const PYTHON = '/usr/bin/python3';
const COUNT = 120;
const PARTITIONS = 4;

let kafka: KafkaTestStack;
beforeAll(async () => {
  kafka = await startKafkaTestStack();
});
afterAll(async () => {
  await kafka?.stop();
});

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l));

/**
 * Kafka's codec ids in a batch's attributes (bits 0–2), as librdkafka will write them here. librdkafka
 * compresses with lz4 only when the broker advertises FindCoordinator (its "LZ4" feature dates from
 * the broker release that added it, rdkafka_feature.c); until consumer groups are advertised it sends
 * lz4 batches uncompressed, and the records still round-trip.
 */
const CODEC_ID = { gzip: 1, snappy: 2, lz4: KAFKA_APIS.some((a) => a.key === 10) ? 3 : 0, zstd: 4 } as const;

describe('confluent-kafka (Python)', () => {
  for (const compression of ['lz4', 'gzip', 'zstd', 'snappy'] as const) {
    it(`produces ${compression}-compressed batches and consumes them by assign`, async () => {
      // Prepare
      const topic = uniqueTopic(`py-${compression}`);
      await kafka.stack.services.log.createTopic({ name: topic, partitionCount: PARTITIONS });
      // Act
      const produced = await run(
        PYTHON,
        [SCRIPT, 'produce', kafka.bootstrap, topic, compression, String(COUNT)],
        {
          timeoutMs: 30_000,
        },
      );
      const consumed = await run(
        PYTHON,
        [SCRIPT, 'consume', kafka.bootstrap, topic, [...Array(PARTITIONS).keys()].join(','), String(COUNT)],
        { timeoutMs: 30_000 },
      );
      // Assess: every delivery acknowledged, on the partition Java's partitioner picks
      const reports = jsonLines(produced.stdout);
      expect(reports, produced.stderr).toHaveLength(COUNT);
      expect(reports.filter((r) => r.error !== null)).toEqual([]);
      for (const r of reports) expect(r.partition).toBe(partitionForKey(r.key, PARTITIONS));
      // Assess: read back whole, with the offsets the producer was told
      const records = jsonLines(consumed.stdout);
      expect(records.filter((r) => r.error)).toEqual([]);
      expect(records).toHaveLength(COUNT);
      const delivered = new Map(reports.map((r) => [`${r.partition}/${r.offset}`, r.key]));
      for (const r of records) {
        expect(delivered.get(`${r.partition}/${r.offset}`)).toBe(r.key);
        const n = JSON.parse(r.value).n;
        expect(r.headers.seq).toBe(String(n));
        expect(r.key).toBe(`key-${n % 17}`);
      }
      // Assess: stored as sent, compressed with the producer's codec
      const fetched = await kafka.stack.services.log.fetch({
        partitions: [...Array(PARTITIONS).keys()].map((partition) => ({ topic, partition, offset: 0 })),
      });
      for (const f of fetched) {
        if (f.records.length === 0) continue;
        expect(f.records.readInt16BE(21) & 0x07).toBe(CODEC_ID[compression]);
        if (compression === 'zstd') {
          // An independent zstd (the CLI) reads the records section exactly as Sluice stored it.
          const size = 12 + f.records.readInt32BE(8);
          const plain = await run('zstd', ['-d', '-c'], { input: f.records.subarray(61, size) });
          expect(plain.code, plain.stderr).toBe(0);
          expect(plain.stdout).toContain('compressible payload');
        }
      }
    });
  }
});
