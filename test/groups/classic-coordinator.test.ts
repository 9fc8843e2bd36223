import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAssignment, encodeSubscription } from '../../shared/groups/classic/consumer-protocol';
import { ClassicGroupCoordinator } from '../../shared/groups/classic/coordinator';
import type { JoinGroupRequest, MemberRef, SyncGroupRequest } from '../../shared/groups/classic/types';
import { DynamoGroupStore } from '../../shared/store/group-store';
import { startTestStorage, type TestStorage } from '../support/storage';
import { Clock, errorCode, FakeTopics, makeService, uniqueGroup } from './support';

/**
 * The Kafka classic coordinator on the real store: Kafka's answers for each step of the protocol, two
 * coordinators (two listeners) seeing one group, and one group shared with the Sluice group service.
 */

const TOPIC = 'orders';

describe('Class: ClassicGroupCoordinator', () => {
  let storage: TestStorage;
  let store: DynamoGroupStore;
  const topics = new FakeTopics({ [TOPIC]: 4 });
  beforeAll(async () => {
    storage = await startTestStorage();
    store = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
  }, 30_000);
  afterAll(async () => {
    await storage?.stop();
  });

  const coordinator = (clock = new Clock()) =>
    new ClassicGroupCoordinator({
      store,
      topics,
      now: clock.now,
      options: { initialRebalanceDelayMs: 0, pollIntervalMs: 5 },
    });
  const joinRequest = (groupId: string, fields: Partial<JoinGroupRequest> = {}): JoinGroupRequest => ({
    groupId,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription([TOPIC]) }],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    requireKnownMemberId: false,
    clientId: 'test-client',
    clientHost: '10.0.0.7',
    ...fields,
  });
  /** A member's own reference in its generation, as heartbeats and syncs carry it. */
  const memberRef = (
    groupId: string,
    member: { readonly generationId: number; readonly memberId: string },
    groupInstanceId: string | null = null,
  ): MemberRef => ({
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId,
  });
  /** A follower's SyncGroup unless `fields` say otherwise (a leader's carries its assignments). */
  const syncRequest = (
    groupId: string,
    member: { readonly generationId: number; readonly memberId: string },
    fields: Partial<SyncGroupRequest> = {},
  ): SyncGroupRequest => ({
    ...memberRef(groupId, member),
    protocolType: null,
    protocolName: null,
    assignments: [],
    ...fields,
  });
  const assignment = (...partitions: number[]) =>
    encodeAssignment(partitions.map((partition) => ({ topic: TOPIC, partition })));

  /** One member joins and syncs as leader with partitions 0–3. */
  async function soloGroup(c: ClassicGroupCoordinator, groupId: string) {
    const j = await c.joinGroup(joinRequest(groupId));
    const s = await c.syncGroup(
      syncRequest(groupId, j, {
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: j.memberId, assignment: assignment(0, 1, 2, 3) }],
      }),
    );
    expect(s.error).toBe('NONE');
    return j;
  }

  describe('Method: joinGroup', () => {
    it('answers MEMBER_ID_REQUIRED with an id first (v4+), then admits the member with it', async () => {
      const c = coordinator();
      const group = uniqueGroup('k');
      const first = await c.joinGroup(joinRequest(group, { requireKnownMemberId: true }));
      const second = await c.joinGroup(
        joinRequest(group, { requireKnownMemberId: true, memberId: first.memberId }),
      );
      expect(first.error).toBe('MEMBER_ID_REQUIRED');
      expect(first.memberId).toMatch(/^test-client-/);
      expect(second).toMatchObject({ error: 'NONE', memberId: first.memberId, leader: first.memberId });
      expect(second.members.map((m) => m.memberId)).toEqual([first.memberId]);
    });

    it('refuses an unknown member id, a bad session timeout and an empty protocol list', async () => {
      const c = coordinator();
      const group = uniqueGroup('k');
      expect((await c.joinGroup(joinRequest(group, { memberId: 'nobody-1' }))).error).toBe(
        'UNKNOWN_MEMBER_ID',
      );
      expect((await c.joinGroup(joinRequest(group, { sessionTimeoutMs: 10 }))).error).toBe(
        'INVALID_SESSION_TIMEOUT',
      );
      expect((await c.joinGroup(joinRequest(group, { protocols: [] }))).error).toBe(
        'INCONSISTENT_GROUP_PROTOCOL',
      );
      expect((await c.joinGroup(joinRequest('bad/name'))).error).toBe('INVALID_GROUP_ID');
    });

    it('waits for every member to rejoin, across two coordinators (listeners), and picks one leader', async () => {
      const clock = new Clock();
      const [a, b] = [coordinator(clock), coordinator(clock)];
      const group = uniqueGroup('k');
      const j1 = await soloGroup(a, group);
      // A second member joins through the other listener; the first learns of it by heartbeat and rejoins.
      const pending = b.joinGroup(joinRequest(group, { clientId: 'second' }));
      await new Promise((r) => setTimeout(r, 50));
      expect(await a.heartbeat(memberRef(group, j1))).toBe('REBALANCE_IN_PROGRESS');
      const [r1, r2] = await Promise.all([
        a.joinGroup(joinRequest(group, { memberId: j1.memberId })),
        pending,
      ]);
      expect(r1.generationId).toBe(j1.generationId + 1);
      expect(r2.generationId).toBe(r1.generationId);
      expect(r1.leader).toBe(j1.memberId);
      expect(r1.members).toHaveLength(2);
      expect(r2.members).toEqual([]);
      // The follower's SyncGroup waits for the leader's, and each gets its own assignment.
      const follower = b.syncGroup(syncRequest(group, r2));
      const leader = await a.syncGroup(
        syncRequest(group, r1, {
          protocolType: 'consumer',
          protocolName: 'range',
          assignments: [
            { memberId: r1.memberId, assignment: assignment(0, 1) },
            { memberId: r2.memberId, assignment: assignment(2, 3) },
          ],
        }),
      );
      expect(leader.assignment).toEqual(assignment(0, 1));
      expect((await follower).assignment).toEqual(assignment(2, 3));
    });

    it('refuses a Kafka member in a group with live Sluice members, and the other way round', async () => {
      const clock = new Clock();
      const sluice = makeService(storage, topics, clock, {}, store);
      const sdkGroup = uniqueGroup('mixed');
      await sluice.join(sdkGroup, { topics: [TOPIC] });
      expect((await coordinator(clock).joinGroup(joinRequest(sdkGroup))).error).toBe(
        'INCONSISTENT_GROUP_PROTOCOL',
      );

      const kafkaGroup = uniqueGroup('mixed');
      await soloGroup(coordinator(clock), kafkaGroup);
      expect(await errorCode(sluice.join(kafkaGroup, { topics: [TOPIC] }))).toBe(
        'INCONSISTENT_GROUP_PROTOCOL',
      );
      // Once the Kafka members' sessions end, the group may change sides.
      clock.advance(10_001);
      expect((await sluice.join(kafkaGroup, { topics: [TOPIC] })).assignment.length).toBe(4);
    });
  });

  describe('Method: heartbeat and expiry', () => {
    it('expels a member that stops heartbeating after its session, and the survivor rebalances', async () => {
      const clock = new Clock();
      const c = coordinator(clock);
      const group = uniqueGroup('k');
      const j1 = await soloGroup(c, group);
      const pending = c.joinGroup(joinRequest(group));
      const r1 = await c.joinGroup(joinRequest(group, { memberId: j1.memberId }));
      const r2 = await pending;
      await Promise.all([
        c.syncGroup(
          syncRequest(group, r1, {
            assignments: [
              { memberId: r1.memberId, assignment: assignment(0, 1) },
              { memberId: r2.memberId, assignment: assignment(2, 3) },
            ],
          }),
        ),
        c.syncGroup(syncRequest(group, r2)),
      ]);
      clock.advance(6_000);
      expect(await c.heartbeat(memberRef(group, r1))).toBe('NONE');
      clock.advance(6_000); // r2 has been silent for 12 s: past its 10 s session
      expect(await c.heartbeat(memberRef(group, r1))).toBe('REBALANCE_IN_PROGRESS');
      expect(await c.heartbeat(memberRef(group, r2))).toBe('UNKNOWN_MEMBER_ID');
      const again = await c.joinGroup(joinRequest(group, { memberId: r1.memberId }));
      expect(again.members.map((m) => m.memberId)).toEqual([r1.memberId]);
    });
  });

  describe('Method: leaveGroup', () => {
    it('removes a batch of members (v3+) with an error each', async () => {
      const c = coordinator();
      const group = uniqueGroup('k');
      const j = await soloGroup(c, group);
      const out = await c.leaveGroup(group, [
        { memberId: j.memberId, groupInstanceId: null },
        { memberId: 'ghost-1', groupInstanceId: null },
      ]);
      expect(out.members.map((m) => m.error)).toEqual(['NONE', 'UNKNOWN_MEMBER_ID']);
      const listed = await c.listGroups();
      expect(listed.find((g) => g.groupId === group)?.state).toBe('Empty');
    });

    it('fences the previous incarnation of a static member (group.instance.id)', async () => {
      const c = coordinator();
      const group = uniqueGroup('k');
      const first = await c.joinGroup(joinRequest(group, { groupInstanceId: 'host-1' }));
      const second = await c.joinGroup(joinRequest(group, { groupInstanceId: 'host-1' }));
      expect(second.memberId).not.toBe(first.memberId);
      expect(
        await c.heartbeat({
          groupId: group,
          generationId: second.generationId,
          memberId: first.memberId,
          groupInstanceId: 'host-1',
        }),
      ).toBe('FENCED_INSTANCE_ID');
    });
  });

  describe('Method: commitOffsets', () => {
    it('answers stale generations, unknown members and commits during CompletingRebalance as Kafka does', async () => {
      const clock = new Clock();
      const c = coordinator(clock);
      const group = uniqueGroup('k');
      const j = await soloGroup(c, group);
      const commit = (generationId: number, memberId: string, offset = 5) =>
        c.commitOffsets({
          groupId: group,
          generationId,
          memberId,
          groupInstanceId: null,
          partitions: [{ topic: TOPIC, partition: 0, offset, metadata: 'm' }],
        });
      expect((await commit(j.generationId, j.memberId))[0]!.error).toBe('NONE');
      expect((await commit(j.generationId - 1, j.memberId, 1))[0]!.error).toBe('ILLEGAL_GENERATION');
      expect((await commit(j.generationId, 'stranger-1', 1))[0]!.error).toBe('UNKNOWN_MEMBER_ID');
      expect((await commit(-1, '', 1))[0]!.error).toBe('UNKNOWN_MEMBER_ID'); // the group has a member
      // A rebalance completes; until the leader syncs, the group is CompletingRebalance.
      await c.joinGroup(
        joinRequest(group, {
          memberId: j.memberId,
          protocols: [{ name: 'range', metadata: encodeSubscription([TOPIC, 'other']) }],
        }),
      );
      expect((await commit(j.generationId + 1, j.memberId, 1))[0]!.error).toBe('REBALANCE_IN_PROGRESS');
      expect((await c.fetchOffsets(group, [{ topic: TOPIC, partition: 0 }]))[0]).toMatchObject({
        offset: 5,
        metadata: 'm',
      });
    });

    it('shares offsets with the Sluice group service: the describe shows Kafka members and lag', async () => {
      const clock = new Clock();
      const c = coordinator(clock);
      const group = uniqueGroup('k');
      topics.bounds.set(`${TOPIC}#1`, { logStartOffset: 0, highWatermark: 10 });
      const j = await soloGroup(c, group);
      await c.commitOffsets({
        groupId: group,
        generationId: j.generationId,
        memberId: j.memberId,
        groupInstanceId: null,
        partitions: [{ topic: TOPIC, partition: 1, offset: 7, metadata: null }],
      });
      const d = await makeService(storage, topics, clock, {}, store).describeGroup(group);
      expect(d.protocol).toBe('kafka');
      expect(d.members).toMatchObject([
        { memberId: j.memberId, clientId: 'test-client', clientHost: '10.0.0.7', topics: [TOPIC] },
      ]);
      expect(d.members[0]!.assignment).toHaveLength(4);
      expect(d.offsets.find((o) => o.partition === 1)).toMatchObject({
        committedOffset: 7,
        highWatermark: 10,
        lag: 3,
      });
      // An empty group takes offsets from a consumer that assigns its partitions itself (generation −1).
      await c.leaveGroup(group, [{ memberId: j.memberId, groupInstanceId: null }]);
      const manual = await c.commitOffsets({
        groupId: group,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        partitions: [{ topic: TOPIC, partition: 1, offset: 9, metadata: null }],
      });
      expect(manual[0]!.error).toBe('NONE');
      expect(
        (await makeService(storage, topics, clock, {}, store).fetchOffsets(group)).offsets,
      ).toMatchObject([{ partition: 1, offset: 9 }]);
    });

    it('OffsetFetch leaves out the offsets of a topic deleted and created again, then takes new commits', async () => {
      // Prepare: a topic of this test's own, committed by a consumer outside group management
      const own = new FakeTopics({ [TOPIC]: 1 });
      const c = new ClassicGroupCoordinator({ store, topics: own, now: new Clock().now });
      const group = uniqueGroup('k');
      const commit = (offset: number) =>
        c.commitOffsets({
          groupId: group,
          generationId: -1,
          memberId: '',
          groupInstanceId: null,
          partitions: [{ topic: TOPIC, partition: 0, offset, metadata: null }],
        });
      expect((await commit(30))[0]!.error).toBe('NONE');

      // Act
      own.recreate(TOPIC, 1);
      const asked = await c.fetchOffsets(group, [{ topic: TOPIC, partition: 0 }]);
      const all = await c.fetchOffsets(group, null);
      await commit(1);
      const after = await c.fetchOffsets(group, null);

      // Assess
      expect(asked).toMatchObject([{ partition: 0, offset: -1, error: 'NONE' }]);
      expect(all).toEqual([]);
      expect(after).toMatchObject([{ partition: 0, offset: 1 }]);
    });
  });
});
