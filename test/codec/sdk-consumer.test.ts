import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaMessage, Sluice } from '../../client';
import { encodeRecordBatch, type ProducerRecord } from '../../shared/codec';
import { snappyCompressXerial } from '../../shared/codec/snappy';
import { http, RECORD_BATCH } from '../api/support';
import { client, createTopic, startTestStack, type TestStack, waitFor } from '../client/support';
import { recrc } from './helpers';

/**
 * Batches as Kafka clients compress them — snappy raw (librdkafka), snappy in snappy-java's framing
 * (Java), zstd from libzstd (the CLI) — stored as sent through the binary produce route, then read by
 * the SDK consumer and by the JSON fetch route, which decode them.
 */
let stack: TestStack;
let sluice: Sluice;

beforeAll(async () => {
  stack = await startTestStack();
  sluice = client(stack.url);
});

afterAll(async () => {
  await stack?.stop();
});

const NOW = 1_700_000_000_000;

function records(tag: string): ProducerRecord[] {
  return Array.from({ length: 50 }, (_, i) => ({
    key: Buffer.from(`${tag}-k${i % 3}`),
    value: Buffer.from(JSON.stringify({ tag, i, text: 'abc'.repeat(i) })),
    headers: [{ key: 'codec', value: Buffer.from(tag) }],
    timestamp: NOW + i,
  }));
}

/** A batch of `rs` whose records are compressed by `compress`, under codec id `codec`. */
function batchWith(rs: ProducerRecord[], codec: number, compress: (raw: Buffer) => Buffer): Buffer {
  const plain = encodeRecordBatch(rs, { compression: 'none', now: NOW });
  const buf = Buffer.concat([plain.subarray(0, 61), compress(plain.subarray(61))]);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt16BE(codec, 21);
  return recrc(buf);
}

describe('SDK consumer and JSON fetch: snappy and zstd batches written by other clients', () => {
  it('reads each batch with its keys, values, headers and timestamps', async () => {
    // Prepare: three batches, stored as sent
    const topic = await createTopic(sluice, 1);
    const batches = [
      {
        tag: 'snappy-raw',
        batch: encodeRecordBatch(records('snappy-raw'), { compression: 'snappy', now: NOW }),
      },
      { tag: 'snappy-java', batch: batchWith(records('snappy-java'), 2, (raw) => snappyCompressXerial(raw)) },
      {
        tag: 'zstd',
        batch: batchWith(records('zstd'), 4, (raw) =>
          execFileSync('/usr/bin/zstd', ['-q', '-c'], { input: raw }),
        ),
      },
    ];
    for (const { batch } of batches) {
      const res = await http(stack.url, 'POST', `/v1/topics/${topic}/partitions/0/batches`, {
        body: batch,
        headers: RECORD_BATCH,
      });
      expect(res.status, res.body.toString()).toBe(200);
    }
    const expected = batches.flatMap(({ tag }) =>
      records(tag).map((r) => ({
        key: r.key!.toString(),
        value: r.value!.toString(),
        timestamp: r.timestamp,
        codec: tag,
      })),
    );

    // Act: the SDK consumer, by assignment
    const consumer = sluice.consumer({ maxWaitMs: 100 });
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    const got: KafkaMessage[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message);
      },
    });
    await waitFor(() => got.length >= expected.length, 15_000, 'messages');
    await consumer.disconnect();
    const json = await http(stack.url, 'GET', `/v1/topics/${topic}/partitions/0/records?offset=100`);

    // Assess
    expect(
      got.map((m) => ({
        key: m.key?.toString(),
        value: m.value?.toString(),
        timestamp: m.timestamp,
        codec: m.headers?.codec?.toString(),
      })),
    ).toEqual(expected);
    expect(got.map((m) => m.offset)).toEqual(expected.map((_, i) => i));
    expect(json.status).toBe(200);
    const fetched = json.json().records as { offset: number; value: string }[];
    expect(fetched[0]).toMatchObject({ offset: 100, value: expected[100]!.value });
  }, 30_000);
});
