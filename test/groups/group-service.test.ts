import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSluiceError, type SluiceError } from '../../shared/errors';
import { DynamoGroupStore } from '../../shared/store/group-store';
import { startTestStorage, type TestStorage } from '../support/storage';
import {
  allPartitions,
  Clock,
  countCalls,
  errorCode,
  FakeTopics,
  key,
  keys,
  Member,
  makeService,
  settle,
  uniqueGroup,
} from './support';

describe('Class: GroupService', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage.stop();
  });

  const setup = (topicCounts: Record<string, number> = { orders: 6 }) => {
    const clock = new Clock();
    const topics = new FakeTopics(topicCounts);
    const service = makeService(storage, topics, clock);
    const group = uniqueGroup();
    const member = (t = Object.keys(topicCounts), sessionTimeoutMs = 10_000) =>
      new Member(service, group, t, sessionTimeoutMs);
    return { clock, topics, service, group, member };
  };

  const serverAssignment = async (service: Member['service'], group: string) => {
    const d = await service.describeGroup(group);
    return new Map(d.members.map((m) => [m.memberId, keys(m.assignment)]));
  };

  const expectDisjointAndComplete = (held: string[][], all: string[]) => {
    const flat = held.flat();
    expect(new Set(flat).size).toBe(flat.length);
    expect([...flat].sort()).toEqual(all);
  };

  describe('Method: join', () => {
    it('answers CONCURRENT_UPDATE (retriable, not THROTTLED) when the group item keeps changing under it', async () => {
      // Prepare: a store on which every conditional write of the meta item loses the race
      const clock = new Clock();
      const real = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
      let writes = 0;
      const contended = Object.assign(Object.create(real) as DynamoGroupStore, {
        putMeta: async () => {
          writes++;
          return false;
        },
      });
      const service = makeService(
        storage,
        new FakeTopics({ orders: 2 }),
        clock,
        { maxAttempts: 3 },
        contended,
      );

      // Act
      const error = await new Member(service, uniqueGroup(), ['orders']).join().catch((err: unknown) => err);

      // Assess
      expect(error).toMatchObject({ code: 'CONCURRENT_UPDATE', retriable: true });
      expect(writes).toBe(3);
    });

    it('gives three members a complete and disjoint assignment', async () => {
      // Prepare
      const { member } = setup({ orders: 6, payments: 3 });
      const members = [member(), member(), member()];

      // Act
      for (const m of members) await m.join();
      await settle(members);

      // Assess
      expectDisjointAndComplete(
        members.map((m) => keys(m.held)),
        allPartitions({ orders: 6, payments: 3 }),
      );
      for (const m of members) expect(m.held).toHaveLength(3);
      const first = await members[0]!.heartbeat();
      expect(first.heartbeatIntervalMs).toBe(Math.floor(10_000 / 3));
    });

    it('gives a member that joins mid-way partitions only after their owner revoked them', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 4 });
      const a = member();
      await a.join();
      expect(keys(a.held)).toEqual(allPartitions({ orders: 4 }));

      // Act: b joins; the group's target gives it half, but a still holds everything
      const b = member();
      const joined = await b.join();

      // Assess
      expect(joined.assignment).toEqual([]);
      expect(joined.generation).toBe(2);
      await b.heartbeat();
      expect(b.held).toEqual([]);
      // a hears of the revocation: its answer leaves out two partitions; until it acknowledges, b waits
      await a.heartbeat();
      expect(a.held).toHaveLength(2);
      await b.heartbeat();
      expect(b.held).toEqual([]);
      expect((await serverAssignment(service, group)).get(a.id)).toHaveLength(4);
      // a's next heartbeat lists only what it kept: the revocation is acknowledged and b gets them
      await a.heartbeat();
      await b.heartbeat();
      expect(b.held).toHaveLength(2);
      expectDisjointAndComplete([keys(a.held), keys(b.held)], allPartitions({ orders: 4 }));
    });

    it('rejoins with its memberId and keeps its partitions; an unknown memberId is UNKNOWN_MEMBER_ID', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 2 });
      const a = member();
      await a.join();

      // Act
      const again = await a.join();
      const unknown = await errorCode(service.join(group, { topics: ['orders'], memberId: 'nobody' }));

      // Assess
      expect(again.generation).toBe(1);
      expect(keys(again.assignment)).toEqual(allPartitions({ orders: 2 }));
      expect(unknown).toBe('UNKNOWN_MEMBER_ID');
    });

    it('uses the assignor the first member names; a later join naming another is INVALID_REQUEST', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 3 });
      const [a, b] = [member(), member()];
      await a.join({ assignor: 'range' });

      // Act
      const other = await errorCode(service.join(group, { topics: ['orders'], assignor: 'roundrobin' }));
      await b.join({ assignor: 'range' });
      await settle([a, b]);

      // Assess
      expect(other).toBe('INVALID_REQUEST');
      const d = await service.describeGroup(group);
      expect(d.assignor).toBe('range');
      const [first, second] = [a, b].sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(keys(first!.held)).toEqual(['orders#0', 'orders#1']);
      expect(keys(second!.held)).toEqual(['orders#2']);
    });

    it('rejects bad names and malformed input before writing anything', async () => {
      // Prepare
      const { service, group } = setup();
      const invalid = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          return err as SluiceError;
        }
        throw new Error('expected an error');
      };

      // Act
      const results = await Promise.all([
        invalid(service.join('..', { topics: ['orders'] })),
        invalid(service.join('a/b', { topics: ['orders'] })),
        invalid(service.join('x'.repeat(250), { topics: ['orders'] })),
        invalid(service.join(group, { topics: [] })),
        invalid(service.join(group, { topics: ['orders'], sessionTimeoutMs: 10 })),
        invalid(service.join(group, { topics: ['orders'], assignor: 'best' as never })),
        invalid(service.join(group, { topics: ['no-such-topic'] })),
        invalid(service.heartbeat(group, 'm', { generation: -1, owned: [] })),
        invalid(
          service.heartbeat(group, 'm', {
            generation: 1,
            owned: [{ topic: 'orders', partition: '1' as never }],
          }),
        ),
        invalid(service.heartbeat(group, '__proto__/x', { generation: 1, owned: [] })),
        invalid(
          service.commitOffsets(group, {
            memberId: 'm',
            generation: 1,
            offsets: [{ topic: 'orders', partition: 0, offset: 2 ** 53 }],
          }),
        ),
        invalid(
          service.commitOffsets(group, {
            memberId: 'm',
            generation: 1,
            offsets: [
              { topic: 'orders', partition: 0, offset: 1 },
              { topic: 'orders', partition: 0, offset: 2 },
            ],
          }),
        ),
        invalid(service.resetOffsets(group, { topic: 'orders', to: { offset: '0x10' } as never })),
      ]);

      // Assess
      expect(results.map((e) => e.code)).toEqual([
        'INVALID_GROUP_ID',
        'INVALID_GROUP_ID',
        'INVALID_GROUP_ID',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'UNKNOWN_TOPIC_OR_PARTITION',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
      ]);
      expect(results[4]!.message).toBe(
        'sessionTimeoutMs must be an integer from 1000 to 600000, but 10 was provided',
      );
      expect(results[10]!.message).toContain('offsets[0].offset');
      expect(await errorCode(service.describeGroup(group))).toBe('GROUP_ID_NOT_FOUND');
    });
  });

  describe('Method: heartbeat', () => {
    it('moves the partitions of a member that stopped heartbeating once its session timed out', async () => {
      // Prepare
      const { clock, member } = setup({ orders: 6 });
      const [a, b, c] = [member(), member(), member()];
      for (const m of [a, b, c]) await m.join();
      await settle([a, b, c]);
      const cHeld = keys(c.held);

      // Act: c falls silent; a and b keep heartbeating through c's session timeout
      for (let i = 0; i < 4; i++) {
        clock.advance(3_000);
        await a.heartbeat();
        await b.heartbeat();
      }
      await settle([a, b]);

      // Assess
      expectDisjointAndComplete([keys(a.held), keys(b.held)], allPartitions({ orders: 6 }));
      expect([...keys(a.held), ...keys(b.held)]).toEqual(expect.arrayContaining(cHeld));
      expect(await errorCode(c.heartbeat())).toBe('UNKNOWN_MEMBER_ID');
    });

    it('does not release partitions on a delayed heartbeat of an older generation', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 4 });
      const a = member();
      await a.join();
      const b = member();
      await b.join();

      // Act: a delayed duplicate of a's first heartbeat (generation 1, nothing owned) arrives late
      await service.heartbeat(group, a.id, { generation: 1, owned: [] });
      await b.heartbeat();

      // Assess: b got nothing; a still holds all four
      expect(b.held).toEqual([]);
      expect((await serverAssignment(service, group)).get(a.id)).toHaveLength(4);
    });

    it('expels a member that keeps revoked partitions past its rebalance timeout', async () => {
      // Prepare
      const { clock, service, group, member } = setup({ orders: 4 });
      const a = member();
      await a.join({ rebalanceTimeoutMs: 5_000 });
      const b = member();
      await b.join();

      // Act: a heartbeats but keeps listing all four partitions
      const all = [...a.held];
      for (let i = 0; i < 3; i++) {
        clock.advance(2_000);
        await service.heartbeat(group, a.id, { generation: 2, owned: all }).catch(() => undefined);
        await b.heartbeat();
      }

      // Assess
      expect(await errorCode(service.heartbeat(group, a.id, { generation: 2, owned: all }))).toBe(
        'UNKNOWN_MEMBER_ID',
      );
      await b.heartbeat();
      expect(keys(b.held)).toEqual(allPartitions({ orders: 4 }));
    });

    it('gives out the new partitions of a topic that grew', async () => {
      // Prepare
      const clock = new Clock();
      const topics = new FakeTopics({ orders: 2 });
      const service = makeService(storage, topics, clock, { metadataRefreshMs: 5_000 });
      const group = uniqueGroup();
      const [a, b] = [new Member(service, group, ['orders']), new Member(service, group, ['orders'])];
      await a.join();
      await b.join();
      await settle([a, b]);

      // Act
      topics.counts.set('orders', 4);
      clock.advance(6_000);
      await settle([a, b]);

      // Assess
      expectDisjointAndComplete([keys(a.held), keys(b.held)], allPartitions({ orders: 4 }));
    });

    it('takes one DynamoDB call in a steady group', async () => {
      // Prepare
      const { member } = setup({ orders: 6 });
      const members = [member(), member(), member()];
      for (const m of members) await m.join();
      await settle(members);
      const calls = countCalls(storage.clients.dynamo);

      // Act
      for (let i = 0; i < 10; i++) for (const m of members) await m.heartbeat();

      // Assess
      const perHeartbeat = calls.total() / 30;
      console.log(`DynamoDB calls per steady heartbeat: ${perHeartbeat}`, Object.fromEntries(calls.counts));
      expect(perHeartbeat).toBeLessThanOrEqual(1);
      calls.reset();
    });
  });

  describe('Method: leave', () => {
    it("moves the leaver's partitions to the others, who keep their own", async () => {
      // Prepare
      const { member } = setup({ orders: 6 });
      const [a, b, c] = [member(), member(), member()];
      for (const m of [a, b, c]) await m.join();
      await settle([a, b, c]);
      const before = { a: keys(a.held), b: keys(b.held) };

      // Act
      await c.leave();
      await settle([a, b]);

      // Assess
      expectDisjointAndComplete([keys(a.held), keys(b.held)], allPartitions({ orders: 6 }));
      expect(keys(a.held)).toEqual(expect.arrayContaining(before.a));
      expect(keys(b.held)).toEqual(expect.arrayContaining(before.b));
      expect(await errorCode(c.leave())).toBe('UNKNOWN_MEMBER_ID');
    });
  });

  describe('Method: commitOffsets', () => {
    it('commits offsets of owned partitions, which fetchOffsets returns', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 2 });
      const a = member();
      await a.join();

      // Act
      await a.commit([
        { topic: 'orders', partition: 0, offset: 10, metadata: 'm0' },
        { topic: 'orders', partition: 1, offset: 20 },
      ]);

      // Assess
      const { offsets } = await service.fetchOffsets(group, 'orders');
      expect(offsets.map((o) => [o.partition, o.offset, o.metadata])).toEqual([
        [0, 10, 'm0'],
        [1, 20, null],
      ]);
      expect((await service.fetchOffsets(uniqueGroup())).offsets).toEqual([]);
    });

    it('fences the whole request when one partition is not the member’s, writing nothing', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 4 });
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const mine = a.held[0]!;
      const theirs = b.held[0]!;

      // Act
      let error: unknown;
      try {
        await a.commit([
          { ...mine, offset: 5 },
          { ...theirs, offset: 5 },
        ]);
      } catch (err) {
        error = err;
      }

      // Assess
      expect(isSluiceError(error, 'FENCED')).toBe(true);
      expect((error as SluiceError).status).toBe(409);
      expect((error as SluiceError).details.fenced).toEqual([theirs]);
      expect((await service.fetchOffsets(group)).offsets).toEqual([]);
    });

    it('says why a commit was fenced in its reason detail, not only in its message', async () => {
      // Prepare
      const { clock, service, group, member } = setup({ orders: 2 });
      const [a, b, c] = [member(), member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const reasonOf = (promise: Promise<unknown>) =>
        promise.then(
          () => 'committed',
          (err: unknown) => (isSluiceError(err, 'FENCED') ? err.details.reason : String(err)),
        );

      // Act
      const notOwner = await reasonOf(a.commit([{ ...b.held[0]!, offset: 1 }]));
      const ahead = await reasonOf(
        service.commitOffsets(group, {
          memberId: a.id,
          generation: a.generation + 100,
          offsets: [{ ...a.held[0]!, offset: 1 }],
        }),
      );
      await c.join();
      await c.leave();
      const unknown = await reasonOf(c.commit([{ ...a.held[0]!, offset: 1 }]));
      clock.advance(20_000);
      const ended = await reasonOf(a.commit([{ ...a.held[0]!, offset: 1 }]));

      // Assess
      expect([notOwner, ahead, unknown, ended]).toEqual([
        'NOT_OWNER',
        'GENERATION_AHEAD',
        'UNKNOWN_MEMBER',
        'SESSION_ENDED',
      ]);
    });

    it('F10: fences a member paused past its session; the new owner’s commits continue the chain', async () => {
      // Prepare
      const { clock, service, group, member } = setup({ orders: 2 });
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const p = a.held[0]!;
      await a.commit([{ ...p, offset: 100 }]);
      const oldGeneration = a.generation;

      // Act: a pauses past its session; b heartbeats, a is expelled, b takes p at a new generation
      for (let i = 0; i < 4; i++) {
        clock.advance(3_000);
        await b.heartbeat();
      }
      const zombie = await errorCode(a.commit([{ ...p, offset: 50 }]));
      await b.commit([{ ...p, offset: 120 }]);
      const zombieAgain = await errorCode(
        service.commitOffsets(group, {
          memberId: a.id,
          generation: oldGeneration,
          offsets: [{ ...p, offset: 60 }],
        }),
      );

      // Assess
      expect(b.generation).toBeGreaterThan(oldGeneration);
      expect(keys(b.held)).toContain(key(p));
      expect(zombie).toBe('FENCED');
      expect(zombieAgain).toBe('FENCED');
      const offset = (await service.fetchOffsets(group)).offsets.find((o) => key(o) === key(p));
      expect(offset?.offset).toBe(120);
    });

    it('F10: fences a zombie at the offset item even when the membership check is passed by a stale read', async () => {
      // Prepare: a store whose meta reads are served from a snapshot taken while a still owned p
      const { clock, service, group, member, topics } = setup({ orders: 1 });
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const p = a.held[0] ?? b.held[0]!;
      const [owner, other] = a.held.length > 0 ? [a, b] : [b, a];
      const real = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
      const snapshot = await real.getMeta(group);
      const stale = Object.assign(Object.create(real) as DynamoGroupStore, { getMeta: async () => snapshot });
      const zombieService = makeService(storage, topics, clock, {}, stale);

      // Act: the owner leaves; the other member takes p and commits; the zombie's commit arrives late
      await owner.leave();
      await other.heartbeat();
      await other.heartbeat();
      await other.commit([{ ...p, offset: 7 }]);
      const late = await errorCode(
        zombieService.commitOffsets(group, {
          memberId: owner.id,
          generation: owner.generation,
          offsets: [{ ...p, offset: 3 }],
        }),
      );

      // Assess
      expect(late).toBe('FENCED');
      expect((await service.fetchOffsets(group)).offsets[0]?.offset).toBe(7);
    });

    it('F9: after a crash between processing and commit the next owner resumes from the last commit', async () => {
      // Prepare
      const { clock, service, group, member } = setup({ orders: 1 });
      const a = member();
      await a.join();
      const p = a.held[0]!;
      await a.commit([{ ...p, offset: 40 }]);
      // a processes records 40..59 and crashes before committing 60

      // Act
      clock.advance(11_000);
      const b = member();
      await b.join();
      await settle([b]);
      const resume = (await service.fetchOffsets(group)).offsets.find((o) => key(o) === key(p));

      // Assess: b resumes at 40 (40..59 are delivered again: at-least-once)
      expect(keys(b.held)).toEqual([key(p)]);
      expect(resume?.offset).toBe(40);
    });

    it('F12: a server whose clock runs ahead expels early, yet fencing holds', async () => {
      // Prepare: two servers over one table; the second one's clock is 8 s ahead
      const { clock, topics, service, group, member } = setup({ orders: 2 });
      const skewed = makeService(storage, topics, { now: () => clock.time + 8_000 } as Clock);
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const p = a.held[0]!;
      await a.commit([{ ...p, offset: 5 }]);

      // Act: 6 s later (a's session has 4 s left) b's heartbeat lands on the fast server, which thinks
      // a's session ended 2 s ago
      clock.advance(6_000);
      await b.heartbeat();
      b.service = skewed;
      await b.heartbeat();
      await b.heartbeat();
      const zombie = await errorCode(a.commit([{ ...p, offset: 9 }]));
      await b.commit([{ ...p, offset: 6 }]);

      // Assess: a lost its partitions early (liveness), but its commit is fenced (safety)
      expect(zombie).toBe('FENCED');
      expect(keys(b.held)).toEqual(allPartitions({ orders: 2 }));
      expect((await service.fetchOffsets(group)).offsets.find((o) => key(o) === key(p))?.offset).toBe(6);
      expect(await errorCode(a.heartbeat())).toBe('UNKNOWN_MEMBER_ID');
    });

    it('F12: a server whose clock runs behind keeps a silent member longer; only liveness suffers', async () => {
      // Prepare: the slow server is 20 s behind
      const { clock, topics, service, group, member } = setup({ orders: 2 });
      const slow = makeService(storage, topics, { now: () => clock.time - 20_000 } as Clock);
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const aHeld = keys(a.held);

      // Act: a falls silent; b heartbeats through the slow server
      b.service = slow;
      clock.advance(15_000);
      await b.heartbeat();

      // Assess: a is not expelled there, so no one else gets its partitions
      expect(b.held).toHaveLength(1);
      expect((await slow.describeGroup(group)).members).toHaveLength(2);
      // The slow server wrote b a deadline already past by the true clock: b is expelled too (liveness)
      b.service = service;
      expect(await errorCode(b.heartbeat())).toBe('UNKNOWN_MEMBER_ID');
      expect(
        await errorCode(
          a.commit(aHeld.map((k) => ({ topic: 'orders', partition: Number(k.split('#')[1]), offset: 1 }))),
        ),
      ).toBe('FENCED');
      b.memberId = undefined;
      await b.join();
      await settle([b]);
      expect(keys(b.held)).toEqual(allPartitions({ orders: 2 }));
    });

    it('repairs a claim lost when the granting request died after its meta write', async () => {
      // Prepare: claims fail, as if the Lambda died between the meta write and the claim
      const { clock, topics, group } = setup({ orders: 1 });
      const real = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
      let failClaims = true;
      const flaky = Object.assign(Object.create(real) as DynamoGroupStore, {
        claimPartition: async (...args: Parameters<DynamoGroupStore['claimPartition']>) => {
          if (failClaims) throw new Error('crash');
          return real.claimPartition(...args);
        },
      });
      const service = makeService(storage, topics, clock, {}, flaky);
      const a = new Member(service, group, ['orders']);
      await expect(a.join()).rejects.toThrow('crash');
      const meta = await real.getMeta(group);
      a.memberId = [...meta!.members.keys()][0];
      a.generation = meta!.generation;
      failClaims = false;

      // Act: the member commits without any claim in place: the commit path claims it first
      await a.commit([{ topic: 'orders', partition: 0, offset: 3 }]);

      // Assess
      expect((await service.fetchOffsets(group)).offsets[0]?.offset).toBe(3);
      expect((await real.getOffset(group, { topic: 'orders', partition: 0 }))?.owner).toBe(a.id);
    });

    it('takes 1 + N DynamoDB calls for a commit of N partitions in a steady group', async () => {
      // Prepare
      const { member } = setup({ orders: 6 });
      const [a, b] = [member(), member()];
      await a.join();
      await b.join();
      await settle([a, b]);
      const calls = countCalls(storage.clients.dynamo);

      // Act
      for (let i = 0; i < 10; i++) await a.commit([{ ...a.held[0]!, offset: i }]);
      const single = calls.total() / 10;
      calls.reset();
      for (let i = 0; i < 10; i++) await a.commit(a.held.map((tp) => ({ ...tp, offset: i })));
      const triple = calls.total() / 10;

      // Assess
      console.log(`DynamoDB calls per commit: 1 partition ${single}, ${a.held.length} partitions ${triple}`);
      expect(single).toBeLessThanOrEqual(2);
      expect(triple).toBeLessThanOrEqual(1 + a.held.length);
    });
    it('F10: a zombie racing the new owner never overwrites the new owner’s commits', async () => {
      for (let round = 0; round < 5; round++) {
        // Prepare: the zombie's server read the group while it still owned p
        const { clock, service, group, member, topics } = setup({ orders: 1 });
        const a = member();
        await a.join();
        const p = a.held[0]!;
        await a.commit([{ ...p, offset: 1 }]);
        const real = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
        const snapshot = await real.getMeta(group);
        const stale = Object.assign(Object.create(real) as DynamoGroupStore, {
          getMeta: async () => snapshot,
        });
        const zombie = makeService(storage, topics, clock, {}, stale);
        await a.leave();
        const b = member();
        const bAccepted: number[] = [];

        // Act: the zombie commits 2..21 while b joins, gets p and commits 100..109
        await Promise.all([
          (async () => {
            for (let o = 2; o < 22; o++) {
              await zombie
                .commitOffsets(group, {
                  memberId: a.id,
                  generation: a.generation,
                  offsets: [{ ...p, offset: o }],
                })
                .catch((err: unknown) => expect(isSluiceError(err, 'FENCED')).toBe(true));
            }
          })(),
          (async () => {
            await b.join();
            await settle([b]);
            for (let o = 100; o < 110; o++) {
              await b.commit([{ ...p, offset: o }]);
              bAccepted.push(o);
            }
          })(),
        ]);

        // Assess: b's commits all held, and the last word is b's
        expect(bAccepted).toHaveLength(10);
        expect((await service.fetchOffsets(group)).offsets[0]?.offset).toBe(109);
      }
    });
  });

  describe('Method: describeGroup', () => {
    it('describes members, generation, state and per partition the committed offset, high-water mark and lag', async () => {
      // Prepare
      const { topics, service, group, member } = setup({ orders: 2 });
      topics.bounds.set('orders#0', { logStartOffset: 0, highWatermark: 50 });
      topics.bounds.set('orders#1', { logStartOffset: 10, highWatermark: 30 });
      const a = member();
      await a.join();
      await a.commit([{ topic: 'orders', partition: 0, offset: 20 }]);

      // Act
      const d = await service.describeGroup(group);

      // Assess
      expect(d.state).toBe('Stable');
      expect(d.generation).toBe(1);
      expect(d.assignor).toBe('sticky');
      expect(d.members).toEqual([
        expect.objectContaining({ memberId: a.id, assignment: a.held, lastHeartbeat: expect.any(Number) }),
      ]);
      expect(d.offsets).toEqual([
        { topic: 'orders', partition: 0, committedOffset: 20, highWatermark: 50, logStartOffset: 0, lag: 30 },
        {
          topic: 'orders',
          partition: 1,
          committedOffset: null,
          highWatermark: 30,
          logStartOffset: 10,
          lag: null,
        },
      ]);
    });
  });

  describe('Method: deleteGroup', () => {
    it('deletes an empty group with its offsets; refuses while it has members', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 2 });
      const a = member();
      await a.join();
      await a.commit([{ topic: 'orders', partition: 0, offset: 5 }]);

      // Act
      const whileMember = await errorCode(service.deleteGroup(group));
      await a.leave();
      await service.deleteGroup(group);

      // Assess
      expect(whileMember).toBe('NON_EMPTY_GROUP');
      expect(await errorCode(service.describeGroup(group))).toBe('GROUP_ID_NOT_FOUND');
      expect(await errorCode(service.deleteGroup(group))).toBe('GROUP_ID_NOT_FOUND');
      expect((await service.fetchOffsets(group)).offsets).toEqual([]);
      expect((await service.listGroups()).groups.map((g) => g.group)).not.toContain(group);
      // The zombie of the deleted group cannot commit; a new incarnation starts past the old generation
      expect(await errorCode(a.commit([{ topic: 'orders', partition: 0, offset: 1 }]))).toBe('FENCED');
      const b = member();
      const joined = await b.join();
      expect(joined.generation).toBeGreaterThan(2);
      await b.commit([{ topic: 'orders', partition: 0, offset: 2 }]);
      expect((await service.fetchOffsets(group)).offsets.map((o) => o.offset)).toEqual([2]);
    });
  });

  describe('Method: resetOffsets', () => {
    it('resets every partition of a topic of an empty group, and refuses while it has members', async () => {
      // Prepare
      const { clock, topics, service, group, member } = setup({ orders: 2 });
      topics.bounds.set('orders#0', { logStartOffset: 5, highWatermark: 50 });
      topics.bounds.set('orders#1', { logStartOffset: 0, highWatermark: 30 });
      const a = member();
      await a.join();
      await a.commit([{ topic: 'orders', partition: 0, offset: 20 }]);
      const whileMember = await errorCode(service.resetOffsets(group, { topic: 'orders', to: 'earliest' }));
      await a.leave();

      // Act
      const earliest = await service.resetOffsets(group, { topic: 'orders', to: 'earliest' });
      const latest = await service.resetOffsets(group, { topic: 'orders', to: 'latest' });
      const at = await service.resetOffsets(group, { topic: 'orders', to: { timestamp: 25_000 } });
      const clamped = await service.resetOffsets(group, { topic: 'orders', to: { offset: 40 } });

      // Assess
      expect(whileMember).toBe('NON_EMPTY_GROUP');
      expect(earliest.offsets.map((o) => o.offset)).toEqual([5, 0]);
      expect(latest.offsets.map((o) => o.offset)).toEqual([50, 30]);
      expect(at.offsets.map((o) => o.offset)).toEqual([25, 25]);
      expect(clamped.offsets.map((o) => o.offset)).toEqual([40, 30]);
      expect((await service.fetchOffsets(group)).offsets.map((o) => o.offset)).toEqual([40, 30]);
      // A zombie of the old membership is fenced by the reset's claim
      clock.advance(0);
      expect(await errorCode(a.commit([{ topic: 'orders', partition: 0, offset: 1 }]))).toBe('FENCED');
      // A group that does not exist yet is created empty to hold the offsets, as Kafka's tool does
      const fresh = uniqueGroup();
      await service.resetOffsets(fresh, { topic: 'orders', to: 'latest' });
      expect((await service.describeGroup(fresh)).state).toBe('Empty');
    });
  });

  describe('Offsets of a deleted topic', () => {
    it('no longer count once the topic is deleted: not fetched, not described, not committable', async () => {
      // Prepare
      const { topics, service, group, member } = setup({ orders: 2, audit: 1 });
      const a = member();
      await a.join();
      await a.commit(a.held.map((tp) => ({ ...tp, offset: 7 })));

      // Act
      topics.counts.delete('orders');
      const fetched = await service.fetchOffsets(group);
      const fetchedOfTopic = await service.fetchOffsets(group, 'orders');
      const described = await service.describeGroup(group);
      const commit = await errorCode(a.commit([{ topic: 'orders', partition: 0, offset: 8 }]));

      // Assess
      expect(fetched.offsets.map(key)).toEqual(['audit#0']);
      expect(fetchedOfTopic.offsets).toEqual([]);
      expect(described.offsets.map(key)).toEqual(['audit#0']);
      expect(commit).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    });

    it('do not apply to a topic created again under the same name, whose own commits then count', async () => {
      // Prepare
      const { topics, service, group, member } = setup({ orders: 2 });
      const a = member();
      await a.join();
      await a.commit(a.held.map((tp) => ({ ...tp, offset: 40 })));
      await a.leave();

      // Act
      topics.recreate('orders', 2);
      topics.bounds.set('orders#0', { logStartOffset: 0, highWatermark: 3 });
      const stale = await service.fetchOffsets(group);
      const described = await service.describeGroup(group);
      const b = member();
      await b.join();
      const whileMember = await service.describeGroup(group);
      await b.commit([{ topic: 'orders', partition: 0, offset: 2 }]);
      const fresh = await service.fetchOffsets(group);

      // Assess
      expect(stale.offsets).toEqual([]);
      // An empty group shows only what it committed: nothing of the new topic yet.
      expect(described.offsets).toEqual([]);
      expect(whileMember.offsets).toEqual([
        {
          topic: 'orders',
          partition: 0,
          committedOffset: null,
          highWatermark: 3,
          logStartOffset: 0,
          lag: null,
        },
        {
          topic: 'orders',
          partition: 1,
          committedOffset: null,
          highWatermark: 0,
          logStartOffset: 0,
          lag: null,
        },
      ]);
      expect(fresh.offsets).toMatchObject([{ topic: 'orders', partition: 0, offset: 2 }]);
    });

    it('a reset after the topic was created again holds for the new topic', async () => {
      // Prepare
      const { topics, service, group, member } = setup({ orders: 1 });
      const a = member();
      await a.join();
      await a.commit([{ topic: 'orders', partition: 0, offset: 40 }]);
      await a.leave();
      topics.recreate('orders', 1);
      topics.bounds.set('orders#0', { logStartOffset: 0, highWatermark: 5 });

      // Act
      await service.resetOffsets(group, { topic: 'orders', to: 'latest' });

      // Assess
      expect((await service.fetchOffsets(group)).offsets).toMatchObject([{ partition: 0, offset: 5 }]);
    });

    it('offsets written before topic ids were recorded count while their topic exists', async () => {
      // Prepare: a store whose offset items carry no topicId, as items written before ids were
      const real = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
      const legacy = Object.assign(Object.create(real) as DynamoGroupStore, {
        listOffsets: async (g: string, t?: string) =>
          (await real.listOffsets(g, t)).map((i) => ({ ...i, topicId: null })),
      });
      const clock = new Clock();
      const topics = new FakeTopics({ orders: 1 });
      const service = makeService(storage, topics, clock, {}, legacy);
      const group = uniqueGroup();
      const a = new Member(service, group, ['orders']);
      await a.join();
      await a.commit([{ topic: 'orders', partition: 0, offset: 4 }]);

      // Act
      const kept = await service.fetchOffsets(group);
      topics.counts.delete('orders');
      const gone = await service.fetchOffsets(group);

      // Assess
      expect(kept.offsets).toMatchObject([{ partition: 0, offset: 4 }]);
      expect(gone.offsets).toEqual([]);
    });
  });

  describe('Method: listGroups', () => {
    it('lists live groups with their state and member count', async () => {
      // Prepare
      const { service, group, member } = setup({ orders: 2 });
      const a = member();
      await a.join();

      // Act
      const { groups } = await service.listGroups();

      // Assess
      expect(groups.find((g) => g.group === group)).toEqual({
        group,
        state: 'Stable',
        generation: 1,
        memberCount: 1,
      });
    });
  });

  describe('Concurrency', () => {
    it('stays safe under concurrent joins, heartbeats and commits from many members', async () => {
      // Prepare
      const counts = { orders: 12, payments: 5 };
      const { service, group, member } = setup(counts);
      const members = Array.from({ length: 8 }, () => member());
      const accepted: { member: string; key: string; offset: number }[] = [];
      const fencedCommits: string[] = [];

      // Act: everyone joins at once, then heartbeats and commits what it holds, concurrently
      await Promise.all(members.map((m) => m.join()));
      let offset = 0;
      await Promise.all(
        members.map(async (m) => {
          for (let round = 0; round < 8; round++) {
            await m.heartbeat();
            const offsets = m.held.map((tp) => ({ ...tp, offset: ++offset }));
            if (offsets.length === 0) continue;
            try {
              await m.commit(offsets);
              for (const o of offsets) accepted.push({ member: m.id, key: key(o), offset: o.offset });
            } catch (err) {
              if (!isSluiceError(err, 'FENCED')) throw err;
              fencedCommits.push(m.id);
            }
          }
        }),
      );
      await settle(members, 10);

      // Assess: complete and disjoint; each partition's final offset is an accepted commit of its owner
      expectDisjointAndComplete(
        members.map((m) => keys(m.held)),
        allPartitions(counts),
      );
      const server = await serverAssignment(service, group);
      for (const m of members) expect(server.get(m.id)).toEqual(keys(m.held));
      const { offsets } = await service.fetchOffsets(group);
      for (const o of offsets) {
        const last = accepted.filter((c) => c.key === key(o)).at(-1);
        expect(accepted.some((c) => c.key === key(o) && c.offset === o.offset)).toBe(true);
        expect(o.offset).toBe(last?.offset);
      }
      // Well-behaved members commit only what they hold, and the group never moved one under them
      expect(fencedCommits).toEqual([]);
    });
  });
});
