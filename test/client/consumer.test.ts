import { beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, ConsumerOptions, KafkaMessage, Sluice } from '../../client';
import { http } from '../api/support';
import { client, createTopic, stackBehindProxyForAll, uniqueName, waitFor } from './support';

const { stack, proxy } = stackBehindProxyForAll();
let sluice: Sluice;
beforeAll(() => {
  sluice = client(stack.url);
});

const GROUP_TIMING: ConsumerOptions = {
  sessionTimeoutMs: 2_000,
  heartbeatIntervalMs: 100,
  autoCommitIntervalMs: 100,
  maxWaitMs: 200,
};

async function produce(topic: string, values: string[], partition = 0): Promise<void> {
  const producer = sluice.producer();
  await producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
  await producer.disconnect();
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Runs a consumer until `until` holds over the delivered messages; returns them. */
async function consume(
  consumer: Consumer,
  until: (got: KafkaMessage[]) => boolean,
  onMessage?: (m: KafkaMessage, got: KafkaMessage[]) => void | Promise<void>,
): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      await onMessage?.(message, got);
      got.push(message);
    },
  });
  await waitFor(() => until(got), 15_000, 'messages');
  return got;
}

describe('Class: Consumer', () => {
  describe('Method: assign (no group)', () => {
    it('skips the records of a batch before the requested offset', async () => {
      const topic = await createTopic(sluice, 1);
      await produce(topic, range(0, 10).map(String)); // one batch, offsets 0–9
      const consumer = sluice.consumer({ maxWaitMs: 100 });
      consumer.assign([{ topic, partition: 0, offset: 5 }]);

      const batches: number[][] = [];
      await consumer.run({
        eachBatch: async ({ batch }) => {
          batches.push(batch.messages.map((m) => m.offset));
        },
      });
      await waitFor(() => batches.flat().length >= 5);
      await consumer.disconnect();

      expect(batches.flat()).toEqual([5, 6, 7, 8, 9]);
    });

    it('seeks, pauses and resumes', async () => {
      const topic = await createTopic(sluice, 1);
      // Not paused: fetched in the same requests the paused partition would be in.
      const control = await createTopic(sluice, 1);
      await produce(topic, range(0, 10).map(String));
      const consumer = sluice.consumer({ maxWaitMs: 100 });
      consumer.assign([
        { topic, partition: 0, offset: 0 },
        { topic: control, partition: 0, offset: 0 },
      ]);
      const got: KafkaMessage[] = [];
      const controlGot: KafkaMessage[] = [];
      let fetches = 0;
      consumer.on('fetch', () => {
        fetches++;
      });
      await consumer.run({
        eachMessage: async ({ topic: from, message }) => {
          if (from === control) {
            controlGot.push(message);
            return;
          }
          if (message.offset === 3) consumer.seek({ topic, partition: 0, offset: 8 });
          got.push(message);
        },
      });
      await waitFor(() => got.at(-1)?.offset === 9, 15_000, 'messages');
      expect(got.map((m) => m.offset)).toEqual([0, 1, 2, 3, 8, 9]);

      consumer.pause([{ topic }]);
      expect(consumer.paused()).toEqual([{ topic, partition: 0 }]);
      await produce(topic, ['10', '11']);
      await produce(control, ['c']);
      // The control record was written after the paused ones: once it was handed over, and two more
      // fetches have run since, an unpaused partition would have been read with it.
      await waitFor(() => controlGot.length === 1, 10_000, 'the control record');
      const seen = fetches;
      await waitFor(() => fetches >= seen + 2, 10_000, 'two more fetches');
      expect(got).toHaveLength(6);
      consumer.resume([{ topic }]);
      await waitFor(() => got.length === 8);
      await consumer.disconnect();
      expect(got.map((m) => m.value?.toString())).toEqual(['0', '1', '2', '3', '8', '9', '10', '11']);
    });

    it('resets by its policy when the offset is out of range', async () => {
      const topic = await createTopic(sluice, 1);
      await produce(topic, ['a', 'b', 'c']);
      const consumer = sluice.consumer({ maxWaitMs: 100 });
      consumer.assign([{ topic, partition: 0, offset: 1_000 }], { fromBeginning: true });

      const got = await consume(consumer, (g) => g.length >= 3);
      await consumer.disconnect();

      expect(got.map((m) => m.offset)).toEqual([0, 1, 2]);
    });

    it('reads every partition of a subscribed topic, with headers, keys and timestamps', async () => {
      const topic = await createTopic(sluice, 3);
      const producer = sluice.producer();
      await producer.send({
        topic,
        messages: range(0, 30).map((i) => ({
          key: `k${i}`,
          value: `v${i}`,
          headers: { trace: `t${i}`, tag: ['a', 'b'] },
          timestamp: 1_764_288_000_000 + i,
        })),
      });
      await producer.disconnect();
      const consumer = sluice.consumer({ maxWaitMs: 100 });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });

      const got = await consume(consumer, (g) => g.length >= 30);
      await consumer.disconnect();

      const byKey = new Map(got.map((m) => [m.key!.toString(), m]));
      expect(byKey.size).toBe(30);
      const m7 = byKey.get('k7')!;
      expect(m7.value!.toString()).toBe('v7');
      expect(m7.timestamp).toBe(1_764_288_000_007);
      expect((m7.headers.trace as Buffer).toString()).toBe('t7');
      expect((m7.headers.tag as Buffer[]).map(String)).toEqual(['a', 'b']);
    });

    it('fetches on the per-partition routes with perTopicAuth', async () => {
      const topic = await createTopic(sluice, 2);
      await produce(topic, ['a', 'b'], 0);
      await produce(topic, ['c'], 1);
      const perTopic = client(proxy.url, { perTopicAuth: true });
      const consumer = perTopic.consumer({ maxWaitMs: 300 });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const before = proxy.seen.length;

      const got = await consume(consumer, (g) => g.length >= 3);
      await consumer.disconnect();

      expect(got.map((m) => m.value!.toString()).sort()).toEqual(['a', 'b', 'c']);
      const seen = proxy.seen.slice(before);
      expect(seen.some((s) => s.path === '/v1/fetch')).toBe(false);
      const fetches = seen.filter((s) => s.method === 'GET' && /\/partitions\/\d\/batches\?/.test(s.path));
      expect(fetches.length).toBeGreaterThan(0);
      for (const f of fetches) expect(f.accept).toBe('application/vnd.kafka.record-batch');
    });
  });

  describe('Method: run (group)', () => {
    it('auto-commits only what the handler finished (F11), then crashes after its retries', async () => {
      const topic = await createTopic(sluice, 1);
      const group = uniqueName('g');
      await produce(topic, range(0, 10).map(String));
      const consumer = sluice.consumer({
        groupId: group,
        ...GROUP_TIMING,
        retry: { retries: 2, initialRetryTimeMs: 10, maxRetryTimeMs: 20 },
      });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let crash: unknown;
      consumer.on('crash', ({ error }) => {
        crash = error;
      });
      const stopped = new Promise<void>((resolve) => consumer.on('stop', () => resolve()));

      await consumer.run({
        eachMessage: async ({ message }) => {
          if (message.offset === 6) throw new Error('poison record');
        },
      });
      await stopped;

      expect((crash as Error).message).toBe('poison record');
      const offsets = await sluice.admin().fetchOffsets({ groupId: group, topic });
      expect(offsets.map((o) => o.offset)).toEqual([6]);
    });

    it('resumes from the last commit after a member stops without committing (F9)', async () => {
      const topic = await createTopic(sluice, 1);
      const group = uniqueName('g');
      await produce(topic, range(0, 10).map(String));
      const first = sluice.consumer({ groupId: group, ...GROUP_TIMING, autoCommit: false });
      await first.subscribe({ topics: [topic], fromBeginning: true });
      const got1 = await consume(
        first,
        (g) => g.length === 10,
        async (m) => {
          if (m.offset === 3) await first.commitOffsets([{ topic, partition: 0, offset: 4 }]);
        },
      );
      await first.disconnect();

      const second = sluice.consumer({ groupId: group, ...GROUP_TIMING });
      await second.subscribe({ topics: [topic], fromBeginning: true });
      const got2 = await consume(second, (g) => g.at(-1)?.offset === 9);
      await second.disconnect();

      expect(got1.map((m) => m.offset)).toEqual(range(0, 10));
      expect(got2.map((m) => m.offset)).toEqual(range(4, 10));
      const offsets = await sluice.admin().fetchOffsets({ groupId: group, topic });
      expect(offsets.map((o) => o.offset)).toEqual([10]);
    });

    it('hands revoked partitions over with their processed offsets committed: nothing read twice', async () => {
      const topic = await createTopic(sluice, 4);
      const group = uniqueName('g');
      const producer = sluice.producer();
      await producer.send({
        topic,
        messages: range(0, 400).map((i) => ({ key: `k${i}`, value: String(i) })),
      });
      const seen: string[] = [];
      const a = sluice.consumer({ groupId: group, ...GROUP_TIMING, autoCommitIntervalMs: 60_000 });
      await a.subscribe({ topics: [topic], fromBeginning: true });
      let slow = true;
      await a.run({
        eachMessage: async ({ partition, message }) => {
          seen.push(`${partition}/${message.offset}`);
          if (slow) await new Promise((r) => setTimeout(r, 2));
        },
      });
      await waitFor(() => seen.length >= 50);

      const b = sluice.consumer({ groupId: group, ...GROUP_TIMING, autoCommitIntervalMs: 60_000 });
      await b.subscribe({ topics: [topic], fromBeginning: true });
      await b.run({
        eachMessage: async ({ partition, message }) => {
          seen.push(`${partition}/${message.offset}`);
        },
      });
      await waitFor(() => a.assignment().length === 2 && b.assignment().length === 2, 15_000, 'rebalance');
      slow = false;
      await waitFor(() => new Set(seen).size === 400, 15_000, 'all records');
      await a.disconnect();
      await b.disconnect();
      await producer.disconnect();

      expect(seen).toHaveLength(400);
      const lag = await sluice.admin().describeGroup(group);
      expect(lag.totalLag).toBe(0);
      expect(lag.state).toBe('Empty');
    });

    it('joins again when the group has expelled it, and keeps consuming', async () => {
      const topic = await createTopic(sluice, 1);
      const group = uniqueName('g');
      const consumer = sluice.consumer({ groupId: group, ...GROUP_TIMING });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const joins: string[] = [];
      consumer.on('group.join', ({ memberId }) => joins.push(memberId));
      const got = await consume(consumer, () => true);
      await waitFor(() => consumer.assignment()[0]?.offset === 0, 10_000, 'assignment');

      // As if its session had expired: the group forgets it; its next heartbeat says UNKNOWN_MEMBER_ID.
      const res = await http(stack.url, 'DELETE', `/v1/groups/${group}/members/${joins[0]}`);
      expect(res.status).toBe(204);
      await waitFor(() => joins.length === 2, 10_000, 'a second join');
      await produce(topic, ['after']);
      await waitFor(() => got.length === 1, 10_000, 'the record');
      await consumer.disconnect();

      expect(joins[1]).not.toBe(joins[0]);
      expect(got[0]!.value!.toString()).toBe('after');
    });
  });
});
