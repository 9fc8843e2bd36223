/**
 * The consumer's parts alone, without a server: what the offset manager does with a FENCED commit, by
 * its reason, and what the fetcher hands over from a stored batch.
 */

import { describe, expect, it } from 'vitest';
import { decodeMessages } from '../../client/consumer/fetcher';
import { OffsetManager, type OffsetMembership } from '../../client/consumer/offset-manager';
import { ConsumerEmitter } from '../../client/consumer/types';
import type { Transport } from '../../client/transport';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { type FencedReason, SluiceError } from '../../shared/errors';

const p0 = { topic: 'orders', partition: 0 };
const p1 = { topic: 'orders', partition: 1 };

/** An offset manager holding p0 and p1 (both processed to 5) whose commit is answered FENCED. */
function fencedCommit(reason: FencedReason, fenced: object[], committed: object[]) {
  const calls = { lost: 0, heartbeat: 0 };
  const membership: OffsetMembership = {
    identity: () => ({ memberId: 'm1', generation: 3 }),
    lost: () => {
      calls.lost++;
    },
    heartbeat: () => {
      calls.heartbeat++;
    },
  };
  const transport = {
    json: async () => {
      throw new SluiceError('FENCED', 'fenced', { details: { reason, fenced, committed } });
    },
  } as unknown as Transport;
  const offsets = new OffsetManager(
    transport,
    { groupId: 'billing', autoCommit: true, autoCommitIntervalMs: 5_000 },
    membership,
    new ConsumerEmitter(),
  );
  for (const tp of [p0, p1]) {
    const state = offsets.add(tp);
    state.position = 5;
    state.processed = 5;
  }
  return { offsets, calls };
}

describe('Class: OffsetManager', () => {
  describe('Method: commit (FENCED)', () => {
    it.each(['UNKNOWN_MEMBER', 'SESSION_ENDED'] as const)(
      'drops the membership when the reason is %s',
      async (reason) => {
        // Prepare
        const { offsets, calls } = fencedCommit(reason, [p0, p1], []);

        // Act
        const error = await offsets.commit(offsets.uncommitted()).catch((err: unknown) => err);

        // Assess
        expect(error).toMatchObject({ code: 'FENCED' });
        expect(calls).toEqual({ lost: 1, heartbeat: 0 });
      },
    );

    it.each(['NOT_OWNER', 'LOST_WHILE_COMMITTING', 'GENERATION_AHEAD'] as const)(
      'keeps the membership when the reason is %s: the fenced partitions stop counting, the rest commit',
      async (reason) => {
        // Prepare
        const { offsets, calls } = fencedCommit(reason, [p1], [p0]);

        // Act
        const error = await offsets.commit(offsets.uncommitted()).catch((err: unknown) => err);

        // Assess
        expect(error).toMatchObject({ code: 'FENCED' });
        expect(calls).toEqual({ lost: 0, heartbeat: 1 });
        const [s0, s1] = [...offsets.partitions.values()];
        expect(s0).toMatchObject({ committed: 5, revoked: false });
        expect(s1).toMatchObject({ committed: undefined, revoked: true });
        expect(offsets.uncommitted()).toEqual([{ ...p1, offset: 5 }]);
      },
    );
  });
});

describe('Function: decodeMessages', () => {
  it('hands over the records from the asked offset up to the high-water mark, not the whole stored batch', () => {
    // Prepare: one stored batch of offsets 10–19, of which 16 and up are not yet under the high-water mark
    const records = encodeRecordBatch(
      Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`v${i}`) })),
      { baseOffset: 10, compression: 'none', now: 1_764_288_000_000 },
    );

    // Act
    const messages = decodeMessages(
      { ...p0, highWatermark: 16, logStartOffset: 0, nextOffset: 20, records },
      13,
    );

    // Assess
    expect(messages.map((m) => [m.offset, m.value?.toString()])).toEqual([
      [13, 'v3'],
      [14, 'v4'],
      [15, 'v5'],
    ]);
  });
});
