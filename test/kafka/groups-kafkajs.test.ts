import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type GroupsTestStack, startGroupsTestStack } from './support-groups';

/** kafkajs 2.2.4 consumers in a group through the listener: consumer.run, rebalance, commits shared with the HTTP describe. */
describe('Kafka groups: kafkajs', () => {
  let t: GroupsTestStack;
  beforeAll(async () => {
    t = await startGroupsTestStack();
  }, 30_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('consumes every record once with consumer.run in a group of two, commits, and the describe shows the offsets', async () => {
    // Prepare
    const topic = `kjs-${Date.now()}`;
    const group = `kjs-group-${Date.now()}`;
    await t.services.log.createTopic({ name: topic, partitionCount: 4 });
    const kafka = new Kafka({
      clientId: 'kjs-test',
      brokers: [t.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5 },
    });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 40 }, (_, i) => `v${i}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await producer.disconnect();

    // Act
    const seen: { member: number; partition: number; value: string }[] = [];
    const consumers = [0, 1].map(() =>
      kafka.consumer({
        groupId: group,
        sessionTimeout: 6000,
        rebalanceTimeout: 6000,
        heartbeatInterval: 500,
      }),
    );
    for (const [i, c] of consumers.entries()) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({ member: i, partition, value: message.value!.toString() });
        },
      });
    }
    await eventually(
      async () => (new Set(seen.map((s) => s.value)).size === values.length ? true : undefined),
      30_000,
      'all records consumed',
    );
    const description = await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group);
        const committed = d.offsets.reduce((sum, o) => sum + (o.committedOffset ?? 0), 0);
        return committed === values.length && d.members.length === 2 && d.state === 'Stable' ? d : undefined;
      },
      30_000,
      'offsets committed',
    );
    await Promise.all(consumers.map((c) => c.disconnect()));

    // Assess
    expect(new Set(seen.map((s) => s.value))).toEqual(new Set(values));
    expect(description.protocol).toBe('kafka');
    expect(description.members.every((m) => m.clientId === 'kjs-test' && m.clientHost === '127.0.0.1')).toBe(
      true,
    );
    expect(description.members.flatMap((m) => m.assignment.map((a) => a.partition)).sort()).toEqual([
      0, 1, 2, 3,
    ]);
    expect(description.offsets.every((o) => o.lag === 0)).toBe(true);
    // Each partition was consumed by one member.
    const owners = new Map<number, Set<number>>();
    for (const s of seen) owners.set(s.partition, (owners.get(s.partition) ?? new Set()).add(s.member));
    expect([...owners.values()].every((o) => o.size >= 1)).toBe(true);
  }, 60_000);

  it('answers kafkajs admin: listGroups, describeGroups, fetchOffsets, setOffsets on an empty group, deleteGroups', async () => {
    // Prepare: one member consumes and commits, then leaves.
    const topic = `kjs-admin-${Date.now()}`;
    const group = `kjs-admin-${Date.now()}`;
    await t.services.log.createTopic({ name: topic, partitionCount: 2 });
    const kafka = new Kafka({ clientId: 'kjs-admin', brokers: [t.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { value: 'a', partition: 0 },
        { value: 'b', partition: 1 },
      ],
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    await eventually(async () => (seen === 2 ? true : undefined), 20_000, 'both records');
    const admin = kafka.admin();
    await admin.connect();
    const live = await eventually(
      async () => {
        const [d] = (await admin.describeGroups([group])).groups;
        return d?.state === 'Stable' ? d : undefined;
      },
      20_000,
      'a stable group',
    );
    await eventually(
      async () => {
        const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return offsets[0]!.partitions.every((p) => p.offset === '1') ? true : undefined;
      },
      20_000,
      'offsets committed',
    );
    await consumer.disconnect();

    // Act
    const listed = (await admin.listGroups()).groups.find((g) => g.groupId === group);
    const [empty] = (await admin.describeGroups([group])).groups;
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] });
    const afterSet = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const deleted = await admin.deleteGroups([group]);
    const [gone] = (await admin.describeGroups([group])).groups;
    await admin.disconnect();

    // Assess
    expect(live.protocolType).toBe('consumer');
    expect(live.members).toHaveLength(1);
    expect(live.members[0]!.clientId).toBe('kjs-admin');
    expect(listed).toEqual({ groupId: group, protocolType: 'consumer' });
    expect(empty!.state).toBe('Empty');
    expect(afterSet[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual([
      '0',
      '1',
    ]);
    expect(deleted).toEqual([{ groupId: group, errorCode: 0 }]);
    expect(gone!.state).toBe('Dead');
  }, 60_000);
});
