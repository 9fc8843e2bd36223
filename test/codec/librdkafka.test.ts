import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRecordBatches,
  readBatchHeader,
  useSnappyImplementation,
  useZstdImplementation,
} from '../../shared/codec';
import { ACCEPT_BATCH, http } from '../api/support';
import { type KafkaTestStack, startKafkaTestStack, uniqueTopic } from '../kafka/support';

/**
 * The codec against batches a real Kafka client compressed: confluent-kafka (librdkafka 2.0.2) produces
 * snappy and zstd through the listener, the batches are fetched as stored, and both of the codec's
 * implementations decode them to the records sent. It also pins what librdkafka writes: snappy as one
 * raw stream (no snappy-java framing), zstd as one frame.
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '../kafka/fixtures/confluent_client.py');
const COUNT = 300;
const run = promisify(execFile);

let kafka: KafkaTestStack;

beforeAll(async () => {
  kafka = await startKafkaTestStack();
});

afterAll(async () => {
  await kafka?.stop();
});

afterEach(() => {
  useSnappyImplementation('auto');
  useZstdImplementation('auto');
});

describe.skipIf(!existsSync(PYTHON) || !existsSync(SCRIPT))('Codec: batches librdkafka compressed', () => {
  for (const compression of ['snappy', 'zstd'] as const) {
    it(`decodes librdkafka's ${compression} batches with every implementation`, async () => {
      // Prepare: one partition, so every record lands in it
      const topic = uniqueTopic(`rdk-${compression}`);
      await kafka.stack.services.log.createTopic({ name: topic, partitionCount: 1 });
      const { stdout } = await run(
        PYTHON,
        [SCRIPT, 'produce', kafka.bootstrap, topic, compression, String(COUNT)],
        {
          timeout: 60_000,
        },
      );
      const reports = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(reports.filter((r) => r.error === null)).toHaveLength(COUNT);

      // Act: the stored batches, exactly as the client sent them
      const res = await http(
        kafka.stack.url,
        'GET',
        `/v1/topics/${topic}/partitions/0/batches?offset=0&maxBytes=4194304`,
        {
          headers: ACCEPT_BATCH,
        },
      );
      expect(res.status).toBe(200);
      const starts: number[] = [];
      for (let at = 0; at < res.body.length; at += readBatchHeader(res.body, at).sizeInBytes) starts.push(at);

      // Assess: what librdkafka wrote, then the records, once per implementation
      expect(starts.length).toBeGreaterThan(0);
      for (const at of starts) {
        expect(readBatchHeader(res.body, at).compression).toBe(compression);
        const records = res.body.subarray(at + 61);
        if (compression === 'snappy')
          expect(records.subarray(0, 8).toString('hex')).not.toBe('82534e4150505900');
        else expect(records.readUInt32LE(0)).toBe(0xfd2fb528);
      }
      const implementations =
        compression === 'snappy' ? (['native', 'js'] as const) : (['auto', 'js'] as const);
      for (const impl of implementations) {
        if (compression === 'snappy') useSnappyImplementation(impl);
        else useZstdImplementation(impl);
        const records = decodeRecordBatches(res.body).batches.flatMap((b) => b.records);
        expect(records.map((r) => r.offset)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
        records.forEach((r, i) => {
          expect(r.key?.toString()).toBe(`key-${i % 17}`);
          expect(JSON.parse(r.value!.toString()).n).toBe(i);
          expect(r.headers).toEqual([{ key: 'seq', value: Buffer.from(String(i)) }]);
        });
      }
    }, 90_000);
  }
});
