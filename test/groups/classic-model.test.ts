import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAssignment, encodeSubscription } from '../../shared/groups/classic/consumer-protocol';
import { ClassicGroupCoordinator } from '../../shared/groups/classic/coordinator';
import { partitionOwners } from '../../shared/groups/classic/state';
import { partitionKey } from '../../shared/groups/partitions';
import { DynamoGroupStore } from '../../shared/store/group-store';
import { startedForAll } from '../support/lifecycle';
import { startTestStorage } from '../support/storage';
import { Clock, FakeTopics, uniqueGroup, weightedOp } from './support';

/**
 * Model-based test of the Kafka classic coordinator against the group service's invariants, on the real
 * store (dynalite). Random sequences of rebalances (the live clients rejoin together, the leader syncs a
 * random disjoint assignment), crashes (a client stops and becomes a zombie that still holds its last
 * view), session expiries, leaves, heartbeats, and commits from live clients and zombies. Checked at
 * every commit:
 *
 * - one owner per partition per generation: an accepted commit came from a member of the current
 *   generation, and from the partition's owner in it (or, for a partition no one owns, the holder of
 *   its claim, who is giving it up);
 * - a refused (fenced) commit never moves an offset; an accepted one sets exactly the offset sent;
 * - no false fence: the owner of a partition in a Stable group, at the current generation, may commit.
 */

const PARTITIONS = 6;
const TOPIC = 'a';
const CLIENTS = 4;
const SESSION = 1_000;

interface View {
  memberId: string;
  generation: number;
  partitions: number[];
  alive: boolean;
}

type Op =
  | { kind: 'rebalance'; newcomers: number[]; seed: number[] }
  | { kind: 'crash'; c: number }
  | { kind: 'expire' }
  | { kind: 'leave'; c: number }
  | { kind: 'heartbeat'; c: number }
  | { kind: 'commit'; c: number; partition: number; offset: number; own: boolean };

const client = fc.nat({ max: CLIENTS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  weightedOp(3, 'rebalance', {
    newcomers: fc.subarray([0, 1, 2, 3]),
    seed: fc.array(fc.nat({ max: CLIENTS - 1 }), { minLength: PARTITIONS, maxLength: PARTITIONS }),
  }),
  weightedOp(1, 'crash', { c: client }),
  weightedOp(1, 'expire'),
  weightedOp(1, 'leave', { c: client }),
  weightedOp(1, 'heartbeat', { c: client }),
  weightedOp(6, 'commit', {
    c: client,
    partition: fc.nat({ max: PARTITIONS - 1 }),
    offset: fc.nat({ max: 1_000_000 }),
    // Mostly a partition of the client's last assignment (what a consumer commits), else any.
    own: fc.boolean(),
  }),
);

describe('Model: the Kafka classic coordinator', () => {
  const storage = startedForAll(startTestStorage, (s) => s.stop(), 30_000);

  it('keeps one owner per partition per generation, and fenced commits never move an offset', async () => {
    const store = new DynamoGroupStore(storage.clients.dynamo, storage.config.groupsTable);
    const topics = new FakeTopics({ [TOPIC]: PARTITIONS });
    let commits = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), async (ops) => {
        const clock = new Clock();
        const coordinator = new ClassicGroupCoordinator({
          store,
          topics,
          now: clock.now,
          options: { initialRebalanceDelayMs: 0, pollIntervalMs: 5 },
        });
        const group = uniqueGroup('classic');
        const views: (View | null)[] = Array.from({ length: CLIENTS }, () => null);
        const protocols = [{ name: 'range', metadata: encodeSubscription([TOPIC]) }];

        const join = (memberId: string) =>
          coordinator.joinGroup({
            groupId: group,
            memberId,
            groupInstanceId: null,
            protocolType: 'consumer',
            protocols,
            sessionTimeoutMs: SESSION,
            rebalanceTimeoutMs: SESSION,
            requireKnownMemberId: false,
            clientId: 'model',
            clientHost: '127.0.0.1',
          });

        for (const op of ops) {
          switch (op.kind) {
            case 'rebalance': {
              const joiners = views
                .map((v, i) => ({ v, i }))
                .filter(
                  ({ v, i }) =>
                    (v?.alive ?? false) ||
                    (v === null && op.newcomers.includes(i)) ||
                    (v !== null && !v.alive && op.newcomers.includes(i)),
                );
              if (joiners.length === 0) break;
              const pending = joiners.map(({ v, i }) =>
                join(v?.alive ? v.memberId : '').then((r) => ({ i, r })),
              );
              // Members that do not rejoin (crashed ones) hold the join up until the rebalance timeout.
              let settled = false;
              const all = Promise.all(pending).finally(() => {
                settled = true;
              });
              while (!settled) {
                await Promise.race([all, new Promise((r) => setTimeout(r, 40))]);
                if (!settled) clock.advance(SESSION + 1);
              }
              const joined = (await all).filter((x) => x.r.error === 'NONE');
              const leader = joined.find((x) => x.r.members.length > 0);
              for (const { i, r } of joined)
                views[i] = { memberId: r.memberId, generation: r.generationId, partitions: [], alive: true };
              if (leader === undefined) break;
              const ids = leader.r.members.map((m) => m.memberId);
              const assignment = new Map<string, number[]>(ids.map((id) => [id, []]));
              for (const [partition, slot] of op.seed.entries()) {
                assignment.get(ids[slot % ids.length]!)!.push(partition);
              }
              const syncs = joined.map(({ i, r }) =>
                coordinator
                  .syncGroup({
                    groupId: group,
                    generationId: r.generationId,
                    memberId: r.memberId,
                    groupInstanceId: null,
                    protocolType: 'consumer',
                    protocolName: 'range',
                    assignments:
                      r.memberId === leader.r.memberId
                        ? [...assignment].map(([memberId, parts]) => ({
                            memberId,
                            assignment: encodeAssignment(
                              parts.map((partition) => ({ topic: TOPIC, partition })),
                            ),
                          }))
                        : [],
                  })
                  .then((s) => ({ i, s })),
              );
              for (const { i, s } of await Promise.all(syncs)) {
                if (s.error === 'NONE' && views[i])
                  views[i]!.partitions = assignment.get(views[i]!.memberId) ?? [];
              }
              break;
            }
            case 'crash':
              if (views[op.c]) views[op.c]!.alive = false;
              break;
            case 'expire': {
              clock.advance(SESSION + 1);
              const someone = views.find((v) => v?.alive);
              if (someone) {
                const e = await coordinator.heartbeat({
                  groupId: group,
                  generationId: someone.generation,
                  memberId: someone.memberId,
                  groupInstanceId: null,
                });
                // Everyone's session ran out, the heartbeating member's too: it is out and must join anew.
                if (e === 'UNKNOWN_MEMBER_ID') someone.alive = false;
              }
              break;
            }
            case 'leave': {
              const v = views[op.c];
              if (v?.alive) {
                await coordinator.leaveGroup(group, [{ memberId: v.memberId, groupInstanceId: null }]);
                views[op.c] = null;
              }
              break;
            }
            case 'heartbeat': {
              const v = views[op.c];
              if (v?.alive) {
                const e = await coordinator.heartbeat({
                  groupId: group,
                  generationId: v.generation,
                  memberId: v.memberId,
                  groupInstanceId: null,
                });
                if (e === 'UNKNOWN_MEMBER_ID') v.alive = false;
              }
              break;
            }
            case 'commit': {
              const v = views[op.c];
              if (v === null || v === undefined) break;
              const partition =
                op.own && v.partitions.length > 0
                  ? v.partitions[op.partition % v.partitions.length]!
                  : op.partition;
              const tp = { topic: TOPIC, partition };
              const before = await store.getMeta(group);
              const itemBefore = await store.getOffset(group, tp);
              const [result] = await coordinator.commitOffsets({
                groupId: group,
                generationId: v.generation,
                memberId: v.memberId,
                groupInstanceId: null,
                partitions: [{ ...tp, offset: op.offset, metadata: null }],
              });
              const itemAfter = await store.getOffset(group, tp);
              commits++;
              const c = before?.classic ?? null;
              const owners = c === null ? new Map<string, string>() : (partitionOwners(c) ?? new Map());
              const owner = owners.get(partitionKey(TOPIC, partition));
              const member = c?.members.get(v.memberId);
              const current = member !== undefined && before!.generation === v.generation;
              if (result!.error === 'NONE') {
                // One owner per partition per generation: only the owner (or the claim holder of an unowned one).
                expect(current).toBe(true);
                if (owner !== undefined) expect(owner).toBe(v.memberId);
                else expect(itemBefore?.owner).toBe(v.memberId);
                expect(itemAfter?.offset).toBe(op.offset);
              } else {
                refused++;
                // A fenced commit never moves an offset.
                expect(itemAfter?.offset ?? null).toBe(itemBefore?.offset ?? null);
                // No false fence: the owner in a Stable group at the current generation may commit.
                if (current && c!.state === 'Stable' && owner === v.memberId) {
                  throw new Error(
                    `owner ${v.memberId} was refused (${result!.error}) at generation ${v.generation}`,
                  );
                }
              }
              break;
            }
          }
        }
      }),
      { numRuns: 30 },
    );
    // The runs exercised both outcomes.
    expect(refused).toBeGreaterThan(0);
    expect(commits - refused).toBeGreaterThan(0);
  }, 240_000);
});
