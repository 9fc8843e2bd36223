import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../shared/errors';
import type { GroupService } from '../../shared/groups/group-service';
import type { GroupDescription, TopicPartition } from '../../shared/groups/types';
import { startedForAll } from '../support/lifecycle';
import { startTestStorage } from '../support/storage';
import { Clock, FakeTopics, key, keys, makeService, uniqueGroup, weightedOp } from './support';

/**
 * Model-based test: random sequences of join, heartbeat, delayed (stale) heartbeat, leave, commit,
 * zombie commit and clock advance from several consumers, run against the real store. After every step
 * the group's description (read from storage) and the consumers' views are checked:
 *
 * - the members' held partitions are disjoint, and a live consumer consumes only what the server says
 *   it holds: no two consumers both hold a partition with acknowledged ownership;
 * - a commit is accepted exactly when its member is live and holds every partition of it at that moment,
 *   and a rejected commit changes no offset; an expelled or departed member's commit is always rejected;
 * - once the consumers keep heartbeating, every partition of the subscribed topics is assigned.
 */

const COUNTS = { a: 3, b: 2 } as const;
const TOPICS = Object.keys(COUNTS) as (keyof typeof COUNTS)[];
const ALL = TOPICS.flatMap((t) =>
  Array.from({ length: COUNTS[t] }, (_, partition) => ({ topic: t, partition })),
);
const CLIENTS = 4;

type Op =
  | { kind: 'join'; c: number; topics: string[] }
  | { kind: 'heartbeat'; c: number }
  | { kind: 'staleHeartbeat'; c: number }
  | { kind: 'leave'; c: number }
  | { kind: 'commit'; c: number; extra: number | null }
  | { kind: 'zombieCommit'; c: number }
  | { kind: 'advance'; ms: number };

const client = fc.nat({ max: CLIENTS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  weightedOp(3, 'join', { c: client, topics: fc.subarray([...TOPICS], { minLength: 1 }) }),
  weightedOp(6, 'heartbeat', { c: client }),
  weightedOp(1, 'staleHeartbeat', { c: client }),
  weightedOp(1, 'leave', { c: client }),
  weightedOp(3, 'commit', { c: client, extra: fc.option(fc.nat({ max: ALL.length - 1 }), { freq: 3 }) }),
  weightedOp(1, 'zombieCommit', { c: client }),
  weightedOp(2, 'advance', { ms: fc.constantFrom(1_000, 4_000, 11_000) }),
);

interface Consumer {
  memberId?: string;
  generation: number;
  held: TopicPartition[];
  /** Its last incarnation, expelled or departed: used for zombie commits. */
  past?: { memberId: string; generation: number; held: TopicPartition[] };
}

function retire(c: Consumer): void {
  if (c.memberId !== undefined) c.past = { memberId: c.memberId, generation: c.generation, held: c.held };
  c.memberId = undefined;
  c.held = [];
  c.generation = 0;
}

/** The consumer takes the generation and assignment the server answered. */
function adopt(c: Consumer, answer: { generation: number; assignment: TopicPartition[] }): void {
  c.generation = answer.generation;
  c.held = answer.assignment;
}

async function describeOrEmpty(service: GroupService, group: string): Promise<GroupDescription | undefined> {
  try {
    return await service.describeGroup(group);
  } catch (err) {
    if (isSluiceError(err, 'GROUP_ID_NOT_FOUND')) return undefined;
    throw err;
  }
}

async function committed(service: GroupService, group: string): Promise<Map<string, number>> {
  const { offsets } = await service.fetchOffsets(group);
  return new Map(offsets.map((o) => [key(o), o.offset]));
}

function serverHeld(d: GroupDescription | undefined): Map<string, string[]> {
  return new Map((d?.members ?? []).map((m) => [m.memberId, keys(m.assignment)]));
}

describe('Class: GroupService', () => {
  const storage = startedForAll(startTestStorage, (s) => s.stop());

  describe('Method: join, heartbeat, leave, commitOffsets (model)', () => {
    it('keeps ownership exclusive, commits owner-only, and assigns every partition once members heartbeat', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
          // Prepare
          const clock = new Clock();
          const service = makeService(storage, new FakeTopics(COUNTS), clock);
          const group = uniqueGroup('model');
          const consumers: Consumer[] = Array.from({ length: CLIENTS }, () => ({ generation: 0, held: [] }));
          let nextOffset = 0;

          const checkInvariants = async () => {
            const d = await describeOrEmpty(service, group);
            const server = serverHeld(d);
            const flat = [...server.values()].flat();
            expect(new Set(flat).size, 'members hold disjoint partitions').toBe(flat.length);
            for (const c of consumers) {
              if (c.memberId === undefined || !server.has(c.memberId)) continue;
              expect(server.get(c.memberId), 'a live consumer holds only what the server granted').toEqual(
                expect.arrayContaining(keys(c.held)),
              );
            }
            return d;
          };

          // Act and assess, step by step
          for (const op of ops) {
            const before = await checkInvariants();
            const held = serverHeld(before);
            if (op.kind === 'advance') {
              clock.advance(op.ms);
              continue;
            }
            const c = consumers[op.c]!;
            const live = c.memberId !== undefined && held.has(c.memberId);
            switch (op.kind) {
              case 'join': {
                try {
                  const r = await service.join(group, {
                    topics: op.topics,
                    ...(c.memberId === undefined ? {} : { memberId: c.memberId }),
                  });
                  c.memberId = r.memberId;
                  adopt(c, r);
                } catch (err) {
                  expect(isSluiceError(err, 'UNKNOWN_MEMBER_ID') && !live).toBe(true);
                  retire(c);
                }
                break;
              }
              case 'heartbeat': {
                if (c.memberId === undefined) break;
                try {
                  const r = await service.heartbeat(group, c.memberId, {
                    generation: c.generation,
                    owned: c.held,
                  });
                  expect(live, 'only a live member gets an answer').toBe(true);
                  adopt(c, r);
                } catch (err) {
                  expect(isSluiceError(err, 'UNKNOWN_MEMBER_ID') && !live).toBe(true);
                  retire(c);
                }
                break;
              }
              case 'staleHeartbeat': {
                // A delayed duplicate of an older heartbeat that listed nothing; its answer is lost.
                if (c.memberId === undefined || c.generation === 0) break;
                await service
                  .heartbeat(group, c.memberId, { generation: c.generation - 1, owned: [] })
                  .catch((err: unknown) => expect(isSluiceError(err, 'UNKNOWN_MEMBER_ID')).toBe(true));
                break;
              }
              case 'leave': {
                if (c.memberId === undefined) break;
                try {
                  await service.leave(group, c.memberId);
                  expect(live).toBe(true);
                } catch (err) {
                  expect(isSluiceError(err, 'UNKNOWN_MEMBER_ID') && !live).toBe(true);
                }
                retire(c);
                break;
              }
              case 'commit':
              case 'zombieCommit': {
                const who = op.kind === 'commit' ? c : c.past;
                if (who?.memberId === undefined) break;
                const tps = [...who.held];
                if (op.kind === 'commit' && op.extra !== null) {
                  const extra = ALL[op.extra]!;
                  if (!tps.some((tp) => key(tp) === key(extra))) tps.push(extra);
                }
                if (tps.length === 0) break;
                const offsets = tps.map((tp) => ({ ...tp, offset: ++nextOffset }));
                const whoLive = held.has(who.memberId);
                const owns = whoLive && tps.every((tp) => held.get(who.memberId!)!.includes(key(tp)));
                const prior = await committed(service, group);
                let accepted = false;
                try {
                  await service.commitOffsets(group, {
                    memberId: who.memberId,
                    generation: who.generation,
                    offsets,
                  });
                  accepted = true;
                } catch (err) {
                  expect(isSluiceError(err, 'FENCED'), String(err)).toBe(true);
                }
                const after = await committed(service, group);
                expect(accepted, 'accepted exactly when the member holds every partition').toBe(owns);
                if (op.kind === 'zombieCommit') expect(accepted).toBe(false);
                if (accepted) {
                  for (const o of offsets) expect(after.get(key(o))).toBe(o.offset);
                } else {
                  expect(after, 'a rejected commit moves nothing').toEqual(prior);
                }
                break;
              }
            }
          }
          await checkInvariants();

          // Liveness: the consumers that are still members keep heartbeating
          clock.advance(1_000);
          const alive = consumers.filter((c) => c.memberId !== undefined);
          for (let round = 0; round < 4; round++) {
            for (const c of alive) {
              if (c.memberId === undefined) continue;
              try {
                const r = await service.heartbeat(group, c.memberId, {
                  generation: c.generation,
                  owned: c.held,
                });
                adopt(c, r);
              } catch (err) {
                expect(isSluiceError(err, 'UNKNOWN_MEMBER_ID')).toBe(true);
                retire(c);
              }
            }
          }
          const d = await checkInvariants();
          if (d !== undefined && d.members.length > 0) {
            const subscribed = new Set(d.members.flatMap((m) => m.topics));
            const expected = ALL.filter((tp) => subscribed.has(tp.topic))
              .map(key)
              .sort();
            const server = serverHeld(d);
            expect([...server.values()].flat().sort(), 'every partition assigned').toEqual(expected);
            expect(d.state).toBe('Stable');
            for (const c of alive) {
              if (c.memberId !== undefined) expect(keys(c.held)).toEqual(server.get(c.memberId));
            }
          }
        }),
        { numRuns: Number(process.env.SLUICE_MODEL_RUNS ?? 40) },
      );
    });
  });
});
