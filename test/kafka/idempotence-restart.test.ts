import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../shared/api/services';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { startTestStorage, type TestStorage } from '../support/storage';
import { type Child, run } from './support-groups';

/**
 * The idempotent producer across a listener crash: a confluent-kafka producer (enable.idempotence=true,
 * acks=all) sends through a `sluice kafka` listener running as its own process; the listener is killed
 * with SIGKILL mid-run and started again on the same port. librdkafka reconnects and retries its
 * unacknowledged batches with their original sequences; the log's idempotence stores each once and
 * answers a retry with its first offsets. Every acknowledged record is in the log exactly once, at the
 * offset it was acknowledged with.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const PRODUCER = join(import.meta.dirname, 'groups-fixtures', 'idempotent_producer.py');
const COUNT = 3000;
const PARTITIONS = 3;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('Kafka idempotence: a listener killed and restarted mid-run', () => {
  let storage: TestStorage;
  let services: Services;
  const children: Child[] = [];
  beforeAll(async () => {
    storage = await startTestStorage();
    services = createServices(storage.config, storage.clients);
  }, 30_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await storage?.stop();
  });

  const startListener = (port: number) => {
    const c = run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'kafka', '--listen', `127.0.0.1:${port}`],
      {
        AWS_ENDPOINT_URL_DYNAMODB: storage.config.dynamoEndpoint,
        AWS_ENDPOINT_URL_S3: storage.config.s3Endpoint,
        AWS_REGION: 'us-east-1',
        SLUICE_BUCKET: storage.config.bucket,
        SLUICE_TOPICS_TABLE: storage.config.topicsTable,
        SLUICE_LOG_TABLE: storage.config.logTable,
        SLUICE_GROUPS_TABLE: storage.config.groupsTable,
      },
    );
    children.push(c);
    return c;
  };

  it('stores every acknowledged record exactly once, at its acknowledged offset', async () => {
    // Prepare
    const topic = `idem-${Date.now()}`;
    await services.log.createTopic({ name: topic, partitionCount: PARTITIONS });
    const port = await freePort();
    let listener = startListener(port);
    await listener.waitFor(/Kafka listener on/, 30_000);

    // Act
    const producer = run('/usr/bin/python3', [
      '-u',
      PRODUCER,
      `127.0.0.1:${port}`,
      topic,
      String(COUNT),
      String(PARTITIONS),
    ]);
    children.push(producer);
    await producer.waitFor(/^ACK v(1\d\d\d|[5-9]\d\d) /, 60_000);
    listener.kill('SIGKILL');
    await listener.exited;
    const ackedAtKill = producer.lines.filter((l) => l.startsWith('ACK ')).length;
    await new Promise((r) => setTimeout(r, 500));
    listener = startListener(port);
    await listener.waitFor(/Kafka listener on/, 30_000);
    await producer.waitFor(/^DONE/, 120_000);
    listener.kill('SIGTERM');

    // Assess
    const acks = producer.lines
      .filter((l) => l.startsWith('ACK '))
      .map((l) => {
        const [, value, partition, offset] = l.split(' ');
        return { value: value!, partition: Number(partition), offset: Number(offset) };
      });
    const failed = producer.lines.filter((l) => l.startsWith('FAIL '));
    expect(ackedAtKill).toBeLessThan(COUNT);
    expect(failed).toEqual([]);
    expect(acks.length).toBe(COUNT);
    const stored = new Map<string, { partition: number; offset: number }[]>();
    const producerIds = new Set<number>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      let offset = 0;
      const { highWatermark } = await services.log.partitionBounds(topic, partition);
      while (offset < highWatermark) {
        const [r] = await services.log.fetch({
          partitions: [{ topic, partition, offset }],
          maxBytes: 1 << 20,
        });
        for (const batch of decodeRecordBatches(r!.records).batches) {
          producerIds.add(batch.header.producerId);
          for (const record of batch.records) {
            if (record.offset < offset) continue;
            const value = record.value!.toString();
            stored.set(value, [...(stored.get(value) ?? []), { partition, offset: record.offset }]);
          }
        }
        offset = r!.nextOffset;
      }
    }
    const duplicates = [...stored].filter(([, at]) => at.length > 1);
    expect(duplicates).toEqual([]);
    for (const ack of acks)
      expect(stored.get(ack.value)).toEqual([{ partition: ack.partition, offset: ack.offset }]);
    expect(stored.size).toBe(COUNT);
    // The id came from InitProducerId: the Kafka range, disjoint from the SDK's random ids below 2^48.
    expect([...producerIds].every((id) => id >= 2 ** 48 && id < 2 ** 53)).toBe(true);
  }, 200_000);
});
