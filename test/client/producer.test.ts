import { beforeAll, describe, expect, it } from 'vitest';
import { type Sluice, SluiceError } from '../../client';
import { decodeProduceRequest } from '../../shared/api/framing';
import { partitionForKey } from '../../shared/codec/partitioner';
import { decodeRecordBatches, readBatchHeader } from '../../shared/codec/record-batch';
import { client, createTopic, stackBehindProxyForAll } from './support';

const { stack, proxy } = stackBehindProxyForAll();
let sluice: Sluice;
beforeAll(() => {
  sluice = client(proxy.url);
});

/** Every record of a partition, decoded, from offset 0 to the high-water mark. */
async function readPartition(topic: string, partition: number) {
  const out: { offset: number; key: string | null; value: string | null }[] = [];
  const consumer = client(stack.url).consumer({ maxWaitMs: 0 });
  const admin = client(stack.url).admin();
  const { partitions } = await admin.describeTopic(topic);
  const hw = partitions[partition]!.highWatermark;
  if (hw === 0) return out;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  consumer.assign([{ topic, partition, offset: 0 }]);
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
      });
      if (message.offset === hw - 1) done();
    },
  });
  await finished;
  await consumer.disconnect();
  return out;
}

const event = (i: number) =>
  JSON.stringify({
    id: `evt-${i.toString().padStart(8, '0')}`,
    type: i % 3 === 0 ? 'order.created' : 'order.paid',
    customer: `user-${i % 97}`,
    amount: { value: (i * 37) % 10_000, currency: 'EUR' },
    at: new Date(1_764_288_000_000 + i * 1000).toISOString(),
  });

describe('Class: Producer', () => {
  describe('Method: send', () => {
    it('sends one multi-partition request for one send, each key on the partition Kafka would choose', async () => {
      // Prepare
      const topic = await createTopic(sluice, 6);
      const producer = sluice.producer();
      const before = proxy.requests('POST', '/v1/produce').length;
      const messages = Array.from({ length: 600 }, (_, i) => ({ key: `user-${i % 50}`, value: `v${i}` }));

      // Act
      const meta = await producer.send({ topic, messages });

      // Assess: one request's bytes (a retry of it, on a loaded machine, resends the same bytes)
      const sent = proxy.requests('POST', '/v1/produce').slice(before);
      const statuses = sent.map((r) => r.status).join(', ');
      expect(new Set(sent.map((r) => r.body.toString('base64'))).size, `statuses: ${statuses}`).toBe(1);
      expect(meta).toHaveLength(600);
      meta.forEach((m, i) => {
        expect(m.topic).toBe(topic);
        expect(m.partition).toBe(partitionForKey(`user-${i % 50}`, 6));
      });
      const offsets = new Set(meta.map((m) => `${m.partition}/${m.offset}`));
      expect(offsets.size).toBe(600);
      const partition = meta[0]!.partition;
      const stored = await readPartition(topic, partition);
      const mine = meta.map((m, i) => ({ ...m, value: `v${i}` })).filter((m) => m.partition === partition);
      for (const m of mine) expect(stored[m.offset]?.value).toBe(m.value);
      await producer.disconnect();
    });

    it('gathers the sends of one linger window into one request', async () => {
      const topic = await createTopic(sluice, 3);
      // A window long enough that a loaded machine cannot spread the five sends across two of them.
      const producer = sluice.producer({ lingerMs: 2_000 });
      const before = proxy.requests('POST', '/v1/produce').length;

      const sends = [0, 1, 2, 3, 4].map((i) =>
        producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] }),
      );
      await Promise.all(sends);

      const sent = proxy.requests('POST', '/v1/produce').slice(before);
      expect(new Set(sent.map((r) => r.body.toString('base64'))).size).toBe(1); // a retry resends the same bytes
      await producer.disconnect();
    });

    it('sends at once on flush, without waiting out lingerMs', async () => {
      const topic = await createTopic(sluice, 2);
      const producer = sluice.producer({ lingerMs: 60_000 });
      const started = Date.now();

      const sent = producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
      await producer.flush();

      const meta = await sent;
      expect(Date.now() - started).toBeLessThan(5_000);
      // No key: the sticky partitioner keeps one send's records together.
      expect(new Set(meta.map((m) => m.partition)).size).toBe(1);
      expect(meta.map((m) => m.offset)).toEqual([0, 1]);
      await producer.disconnect();
    });

    it('splits a partition into batches of at most maxBatchBytes, in order', async () => {
      const topic = await createTopic(sluice, 1);
      const producer = sluice.producer({ maxBatchBytes: 16 * 1024, lingerMs: 1_000, compression: 'none' });
      const before = proxy.requests('POST', '/v1/produce').length;
      const value = 'x'.repeat(1000);

      const meta = await producer.send({
        topic,
        messages: Array.from({ length: 200 }, (_, i) => ({ value: `${i}:${value}` })),
      });

      expect(meta.map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const requests = proxy.requests('POST', '/v1/produce').slice(before);
      let batches = 0;
      for (const r of requests) {
        for (const part of decodeProduceRequest(r.body)) {
          for (let at = 0; at < part.batches.length; at += readBatchHeader(part.batches, at).sizeInBytes) {
            expect(readBatchHeader(part.batches, at).sizeInBytes).toBeLessThanOrEqual(16 * 1024 + 61);
            batches++;
          }
        }
      }
      expect(batches).toBeGreaterThanOrEqual(200_000 / (16 * 1024));
      const stored = await readPartition(topic, 0);
      expect(stored.map((s) => Number(s.value!.split(':')[0]))).toEqual(
        Array.from({ length: 200 }, (_, i) => i),
      );
      await producer.disconnect();
    });

    it('puts compressed batches on the wire: a few bytes of framing, no base64', async () => {
      const topic = await createTopic(sluice, 4);
      const producer = sluice.producer();
      const before = proxy.requests('POST', '/v1/produce').length;
      const messages = Array.from({ length: 10_000 }, (_, i) => ({ key: `user-${i % 97}`, value: event(i) }));
      const payload = messages.reduce((n, m) => n + Buffer.byteLength(m.key) + Buffer.byteLength(m.value), 0);

      await producer.send({ topic, messages });

      const requests = proxy.requests('POST', '/v1/produce').slice(before);
      const wire = requests.reduce((n, r) => n + r.body.length, 0);
      let batchBytes = 0;
      let parts = 0;
      for (const r of requests) {
        expect(r.contentType).toBe('application/octet-stream');
        expect(r.accept).toBe('application/octet-stream');
        expect(r.body.subarray(0, 2).toString('latin1')).toBe('SL');
        for (const part of decodeProduceRequest(r.body)) {
          parts++;
          batchBytes += part.batches.length;
          expect(readBatchHeader(part.batches).compression).toBe('lz4');
          // The records travel as the producer compressed them.
          expect(decodeRecordBatches(part.batches).batches[0]!.records.length).toBeGreaterThan(0);
        }
      }
      const framing = wire - batchBytes;
      expect(framing).toBeLessThanOrEqual(requests.length * 6 + parts * (10 + Buffer.byteLength(topic)));
      const perPayloadByte = wire / payload;
      console.log(
        `bytes on the wire per payload byte (10,000 JSON events, lz4): ${perPayloadByte.toFixed(3)} ` +
          `(${wire} B for ${payload} B of keys and values; framing ${framing} B in ${requests.length} request(s))`,
      );
      expect(perPayloadByte).toBeLessThan(0.4);
      await producer.disconnect();
    });

    it('stores a batch once when its answer was lost and the retry comes back as a duplicate', async () => {
      const topic = await createTopic(sluice, 2);
      const producer = sluice.producer();
      let lost = 0;
      proxy.fault = ({ method, path }) => {
        if (method === 'POST' && path === '/v1/produce' && lost === 0) {
          lost++;
          return { kind: 'lose-answer' };
        }
        return { kind: 'pass' };
      };
      try {
        const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
        const meta = await producer.send({ topic, messages });

        expect(lost).toBe(1);
        const { partitions } = await sluice.admin().describeTopic(topic);
        expect(partitions.reduce((n, p) => n + p.highWatermark, 0)).toBe(100);
        for (const p of [0, 1]) {
          const stored = await readPartition(topic, p);
          const expected = meta
            .map((m, i) => ({ ...m, value: `v${i}` }))
            .filter((m) => m.partition === p)
            .sort((a, b) => a.offset - b.offset);
          expect(stored.map((s) => [s.offset, s.value])).toEqual(expected.map((m) => [m.offset, m.value]));
        }
      } finally {
        proxy.fault = () => ({ kind: 'pass' });
        await producer.disconnect();
      }
    });

    it('retries a retriable answer and keeps order with maxInFlightRequests > 1', async () => {
      const topic = await createTopic(sluice, 1);
      // Profile latency: no pacing, so requests are pipelined as the faults below need.
      const producer = sluice.producer({
        profile: 'latency',
        maxInFlightRequests: 3,
        maxBatchBytes: 4096,
        lingerMs: 0,
      });
      let produces = 0;
      let refused = 0;
      proxy.fault = ({ method, path }) => {
        // The first request makes the producer id known; then two pipelined requests are refused, so the
        // ones behind them come back OUT_OF_ORDER_SEQUENCE and must be sent again after them.
        if (method === 'POST' && path === '/v1/produce' && [2, 3].includes(++produces)) {
          refused++;
          return {
            kind: 'answer',
            status: 503,
            body: { error: { code: 'STORAGE_UNAVAILABLE', message: 'injected' } },
          };
        }
        return { kind: 'pass' };
      };
      try {
        const sends = Array.from({ length: 30 }, (_, i) =>
          producer.send({ topic, messages: [{ value: `${i}:${'y'.repeat(1500)}` }] }),
        );
        const meta = (await Promise.all(sends)).flat();

        expect(refused).toBe(2);
        expect(producer.stats.retries).toBeGreaterThan(0);
        const stored = await readPartition(topic, 0);
        expect(stored).toHaveLength(30);
        expect(stored.map((s) => Number(s.value!.split(':')[0]))).toEqual(
          Array.from({ length: 30 }, (_, i) => i),
        );
        expect(meta.map((m) => m.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      } finally {
        proxy.fault = () => ({ kind: 'pass' });
        await producer.disconnect();
      }
    });

    it('waits for buffer memory instead of growing without bound (back-pressure)', async () => {
      const topic = await createTopic(sluice, 2);
      const bufferMemoryBytes = 64 * 1024;
      const producer = sluice.producer({
        bufferMemoryBytes,
        maxBatchBytes: 16 * 1024,
        lingerMs: 100,
        compression: 'none',
      });
      const before = proxy.requests('POST', '/v1/produce').length;
      proxy.fault = ({ path }) => (path === '/v1/produce' ? { kind: 'delay', ms: 30 } : { kind: 'pass' });
      try {
        const messages = Array.from({ length: 400 }, (_, i) => ({
          key: `k${i % 7}`,
          value: 'z'.repeat(1000),
        }));

        const meta = await producer.send({ topic, messages });

        expect(meta).toHaveLength(400);
        const requests = proxy.requests('POST', '/v1/produce').slice(before);
        // 400 KB went through a 64 KiB buffer: many requests, none larger than the buffer.
        expect(requests.length).toBeGreaterThanOrEqual(6);
        for (const r of requests) expect(r.body.length).toBeLessThanOrEqual(bufferMemoryBytes);
      } finally {
        proxy.fault = () => ({ kind: 'pass' });
        await producer.disconnect();
      }
    });

    it('honours explicit partitions and a custom partitioner', async () => {
      const topic = await createTopic(sluice, 4);
      const producer = sluice.producer({
        partitioner: ({ partitionCount, key }) => (key?.length ?? 0) % partitionCount,
      });

      const meta = await producer.send({
        topic,
        messages: [
          { value: 'p3', partition: 3 },
          { key: 'ab', value: 'custom' },
          { key: 'abc', value: 'custom' },
        ],
      });

      expect(meta.map((m) => m.partition)).toEqual([3, 2, 3]);
      await producer.disconnect();
    });

    it('rejects with typed errors: unknown topic, a partition beyond the topic, a disconnected producer', async () => {
      const topic = await createTopic(sluice, 2);
      const producer = sluice.producer();

      await expect(
        producer.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] }),
      ).rejects.toMatchObject({
        code: 'UNKNOWN_TOPIC_OR_PARTITION',
        retriable: false,
      });
      const err = await producer.send({ topic, messages: [{ value: 'x', partition: 7 }] }).catch((e) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect(err.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
      await producer.disconnect();
      await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toThrow(/disconnected/);
    });

    it('produces on the per-partition routes with perTopicAuth', async () => {
      const perTopic = client(proxy.url, { perTopicAuth: true });
      const topic = await createTopic(perTopic, 3);
      const producer = perTopic.producer();
      const before = proxy.seen.length;

      const meta = await producer.send({
        topic,
        messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });

      const after = proxy.seen.slice(before);
      expect(after.some((s) => s.path === '/v1/produce')).toBe(false);
      const routes = after.filter((s) => /\/partitions\/\d+\/batches$/.test(s.path));
      expect(routes.length).toBe(new Set(meta.map((m) => m.partition)).size);
      for (const r of routes) expect(r.contentType).toBe('application/vnd.kafka.record-batch');
      await producer.disconnect();
    });
  });
});
