/**
 * The checker itself, on hand-made histories: a clean one, and one for each kind of violation it must
 * report, with the operations involved.
 */

import { describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  type CheckInput,
  checkHistory,
  type FinalRead,
  type PartitionAudit,
} from './checker';
import { type EventFields, pairOps, Recorder } from './history';

const T = 't';

/** A send of `values` to partition 0: the first batch (sequence 0) of idempotent producer `id`. */
const firstSend = (values: string[], id: number): EventFields => ({
  topic: T,
  partition: 0,
  values,
  producer: { id, epoch: 0, seq: 0 },
});

/** A clean run: two producers, one poll, a final read and an audit that agree. */
function cleanRun() {
  const h = new Recorder();
  h.invoke('p0', 'send', firstSend(['a', 'b'], 7));
  h.invoke('p1', 'send', firstSend(['c'], 8));
  h.complete('p0', 'ok', { offset: 0 });
  h.complete('p1', 'ok', { offset: 2 });
  h.invoke('r0', 'poll', { topic: T, partition: 0, offset: 0, maxWaitMs: 0 });
  h.complete('r0', 'ok', {
    records: [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ],
    hwm: 3,
    logStartOffset: 0,
    nextOffset: 3,
  });
  return h;
}

/** A poll of partition 0 from `offset`, answered with `answer`. */
function poll(h: Recorder, process: string, offset: number, answer: EventFields) {
  h.invoke(process, 'poll', { topic: T, partition: 0, offset });
  h.complete(process, 'ok', answer);
}

const finalOf = (records: [number, string][], hwm = 3, lso = 0): FinalRead => ({
  topic: T,
  partition: 0,
  logStartOffset: lso,
  highWatermark: hwm,
  records: new Map(records),
});

const auditOf = (entries: AuditEntry[], hwm = 3, leo = hwm, lso = 0): PartitionAudit => ({
  topic: T,
  partition: 0,
  logStartOffset: lso,
  highWatermark: hwm,
  logEndOffset: leo,
  entries,
});

const CLEAN_ENTRIES: AuditEntry[] = [
  { base: 0, count: 2, state: 'committed', objectExists: true, values: ['a', 'b'] },
  { base: 2, count: 1, state: 'committed', objectExists: true, values: ['c'] },
];
const CLEAN_FINAL: [number, string][] = [
  [0, 'a'],
  [1, 'b'],
  [2, 'c'],
];

function check(input: Partial<CheckInput> & { events: CheckInput['events'] }) {
  return checkHistory({
    final: [finalOf(CLEAN_FINAL)],
    audit: [auditOf(CLEAN_ENTRIES)],
    ...input,
  });
}

const invariants = (r: ReturnType<typeof checkHistory>) =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();

describe('Module: checker', () => {
  describe('Function: pairOps', () => {
    it('pairs completions with invokes per process and leaves open ones as info', () => {
      // Prepare
      const h = new Recorder();
      h.invoke('a', 'send', { values: ['x'] });
      h.invoke('b', 'poll', { offset: 0 });
      h.complete('a', 'fail', { error: 'CORRUPT_MESSAGE' });
      // Act
      const ops = pairOps(h.events);
      // Assess
      expect(ops.map((o) => [o.process, o.type])).toEqual([
        ['a', 'fail'],
        ['b', 'info'],
      ]);
      expect(h.operations).toBe(2);
    });
  });

  describe('Function: checkHistory', () => {
    it('finds nothing in a clean history', () => {
      const result = check({ events: cleanRun().events });
      expect(result.violations).toEqual([]);
    });

    it('accepts a duplicate answered with the first offsets, an info send stored once, and an aborted range', () => {
      const h = cleanRun();
      h.invoke('p2', 'send', firstSend(['d'], 9));
      h.complete('p2', 'info', { error: 'socket hang up' });
      h.invoke('p2', 'send', firstSend(['d'], 9));
      h.complete('p2', 'ok', { offset: 5 });
      const entries: AuditEntry[] = [
        ...CLEAN_ENTRIES,
        { base: 3, count: 2, state: 'aborted' },
        { base: 5, count: 1, state: 'committed', objectExists: true, values: ['d'] },
      ];
      const result = check({
        events: h.events,
        final: [finalOf([...CLEAN_FINAL, [5, 'd']], 6)],
        audit: [auditOf(entries, 6)],
      });
      expect(result.violations).toEqual([]);
    });

    it('I1: reports an acknowledged record that is lost, and one that moved', () => {
      const lost = check({
        events: cleanRun().events,
        final: [finalOf(CLEAN_FINAL.slice(0, 2), 2)],
        audit: [auditOf(CLEAN_ENTRIES.slice(0, 1), 2)],
      });
      expect(lost.violations.find((v) => v.invariant === 'I1')).toMatchObject({
        message: expect.stringContaining('c acknowledged at offset 2 is lost'),
        events: [
          expect.objectContaining({ process: 'p1', type: 'invoke' }),
          expect.objectContaining({ process: 'p1', type: 'ok' }),
        ],
      });
      const moved = check({
        events: cleanRun().events,
        final: [
          finalOf(
            [
              [0, 'a'],
              [1, 'b'],
              [2, 'x'],
              [3, 'c'],
            ],
            4,
          ),
        ],
        audit: [
          auditOf(
            [...CLEAN_ENTRIES.slice(0, 1), { base: 2, count: 2, state: 'committed', values: ['x', 'c'] }],
            4,
          ),
        ],
      });
      expect(moved.violations.find((v) => v.invariant === 'I1')?.message).toContain('reads back at offset 3');
    });

    it('I1: reports a record acknowledged as a duplicate without offsets that is not in the log', () => {
      const h = cleanRun();
      h.invoke('p3', 'send', firstSend(['ghost'], 10));
      h.complete('p3', 'ok', { offset: -1 });
      expect(invariants(check({ events: h.events }))).toEqual(['I1']);
    });

    it('I2: reports a value stored at two offsets', () => {
      const h = cleanRun();
      const result = check({
        events: h.events,
        final: [finalOf([...CLEAN_FINAL, [3, 'a']], 4)],
        audit: [auditOf([...CLEAN_ENTRIES, { base: 3, count: 1, state: 'committed', values: ['a'] }], 4)],
      });
      expect(result.violations.find((v) => v.invariant === 'I2')?.message).toContain('a is at 2 offsets');
    });

    it('I3: reports an offset that a poll saw with another value than the ack', () => {
      const h = cleanRun();
      poll(h, 'r1', 2, { records: [[2, 'b']], hwm: 3, nextOffset: 3 });
      const result = check({ events: h.events });
      expect(result.violations.find((v) => v.invariant === 'I3')).toMatchObject({
        message: expect.stringContaining('offset 2 held different values'),
        events: expect.arrayContaining([expect.objectContaining({ process: 'r1' })]),
      });
    });

    it('I4: reports a hole below HW, a poll out of order, an ack inside an aborted range and undecodable batches', () => {
      const h = cleanRun();
      poll(h, 'r1', 0, {
        records: [
          [1, 'b'],
          [0, 'a'],
        ],
        hwm: 3,
        nextOffset: 3,
      });
      poll(h, 'r2', 0, { records: [], hwm: 3, nextOffset: 0, corrupt: 'CRC mismatch' });
      const hole = check({
        events: h.events,
        final: [
          finalOf(
            [
              [0, 'a'],
              [1, 'b'],
            ],
            3,
          ),
        ],
      });
      const messages = hole.violations.filter((v) => v.invariant === 'I4').map((v) => v.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringContaining('1 offsets below HW 3 hold no record'),
          expect.stringContaining('returned offset 1 where 0 was next'),
          expect.stringContaining('do not decode'),
        ]),
      );
      const aborted = check({
        events: cleanRun().events,
        final: [finalOf(CLEAN_FINAL.slice(0, 2), 3)],
        audit: [auditOf([CLEAN_ENTRIES[0]!, { base: 2, count: 1, state: 'aborted' }])],
      });
      expect(aborted.violations.map((v) => v.message)).toEqual(
        expect.arrayContaining([expect.stringContaining('c acknowledged at 2, inside an aborted range')]),
      );
    });

    it('I4: reports a high-water mark that never reached the log end offset', () => {
      const result = check({ events: cleanRun().events, audit: [auditOf(CLEAN_ENTRIES, 3, 5)] });
      expect(result.violations.map((v) => v.message)).toContain(
        't/0: HW 3 stayed below LEO 5 after appends stopped',
      );
    });

    it('I5: reports a value nobody sent and one whose every send failed', () => {
      const h = cleanRun();
      h.invoke('p4', 'send', { topic: T, partition: 0, values: ['rejected'] });
      h.complete('p4', 'fail', { error: 'CORRUPT_MESSAGE' });
      const result = check({
        events: h.events,
        final: [finalOf([...CLEAN_FINAL, [3, 'rejected'], [4, 'nobody']], 5)],
        audit: [
          auditOf(
            [...CLEAN_ENTRIES, { base: 3, count: 2, state: 'committed', values: ['rejected', 'nobody'] }],
            5,
          ),
        ],
      });
      const messages = result.violations.filter((v) => v.invariant === 'I5').map((v) => v.message);
      expect(messages).toEqual([
        expect.stringContaining('rejected was read, but every send of it failed (CORRUPT_MESSAGE)'),
        expect.stringContaining('nobody was read but nobody sent it'),
      ]);
    });

    it('I6: reports a stale hwm after an ack, an hwm going back, and a record at the hwm', () => {
      const h = cleanRun();
      poll(h, 'r1', 0, { records: [[0, 'a']], hwm: 1, nextOffset: 1 });
      poll(h, 'r2', 2, { records: [[2, 'c']], hwm: 2, nextOffset: 3 });
      const result = check({ events: h.events });
      const messages = result.violations.filter((v) => v.invariant === 'I6').map((v) => v.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringContaining('a poll saw hwm 1 after the ack of offset 2'),
          expect.stringContaining('returned offset 2 at or above its hwm 2'),
        ]),
      );
      const back = new Recorder();
      poll(back, 'r0', 3, { records: [], hwm: 3, nextOffset: 3 });
      poll(back, 'r0', 0, {
        records: [
          [0, 'a'],
          [1, 'b'],
        ],
        hwm: 2,
        nextOffset: 2,
      });
      const backwards = check({ events: back.events });
      expect(backwards.violations.map((v) => v.message)).toContainEqual(
        expect.stringContaining('a poll saw hwm 2 after the poll with hwm 3'),
      );
    });

    it('I7: reports offsets out of sequence order and an older epoch acknowledged after a newer one wrote', () => {
      const h = new Recorder();
      const send = (process: string, values: string[], producer: EventFields['producer'], offset: number) => {
        h.invoke(process, 'send', { topic: T, partition: 0, values, producer });
        h.complete(process, 'ok', { offset });
      };
      send('p0', ['b'], { id: 7, epoch: 0, seq: 1 }, 0);
      send('p0', ['a'], { id: 7, epoch: 0, seq: 0 }, 1);
      send('p1', ['c'], { id: 7, epoch: 1, seq: 0 }, 2);
      send('p0', ['d'], { id: 7, epoch: 0, seq: 2 }, 3);
      const final = finalOf(
        [
          [0, 'b'],
          [1, 'a'],
          [2, 'c'],
          [3, 'd'],
        ],
        4,
      );
      const entries: AuditEntry[] = ['b', 'a', 'c', 'd'].map((v, i) => ({
        base: i,
        count: 1,
        state: 'committed',
        values: [v],
      }));
      const result = check({ events: h.events, final: [final], audit: [auditOf(entries, 4)] });
      const messages = result.violations.filter((v) => v.invariant === 'I7').map((v) => v.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringContaining('epoch 0 seq 1 acknowledged at 0, not after epoch 0 seq 0 at 1'),
          expect.stringContaining('epoch 0 was acknowledged after epoch 1 had written'),
        ]),
      );
    });

    it('I8: reports gaps and overlaps in the index, missing objects, bad bytes and HW above LEO', () => {
      const entries: AuditEntry[] = [
        { base: 0, count: 2, state: 'committed', objectExists: false },
        { base: 1, count: 1, state: 'committed', problem: 'CRC-32C mismatch', values: ['b'] },
        { base: 4, count: 1, state: 'committed', values: ['e'] },
      ];
      const result = check({ events: cleanRun().events, audit: [auditOf(entries, 5, 4)] });
      const messages = result.violations.filter((v) => v.invariant === 'I8').map((v) => v.message);
      expect(messages).toEqual(
        expect.arrayContaining([
          't/0: HW 5 > LEO 4',
          expect.stringContaining('entry [1, 2) overlaps'),
          expect.stringContaining('no entry covers [2, 4)'),
          expect.stringContaining('points at a missing object'),
          expect.stringContaining('CRC-32C mismatch'),
        ]),
      );
    });

    it('L3: reports a long poll that slept through an ack of its offset', () => {
      const h = new Recorder();
      h.invoke('r0', 'poll', { topic: T, partition: 0, offset: 0, maxWaitMs: 60_000 });
      h.invoke('p0', 'send', { topic: T, partition: 0, values: ['a', 'b', 'c'] });
      h.complete('p0', 'ok', { offset: 0 });
      const events = [...h.events];
      // The poll comes back empty 3 s later, although the ack came right after it was sent.
      events.push({
        ...events[0]!,
        index: 3,
        time: events[0]!.time + 3000,
        type: 'ok',
        records: [],
        hwm: 0,
        nextOffset: 0,
      });
      const result = check({ events, options: { longPollSlackMs: 1000 } });
      expect(result.violations.find((v) => v.invariant === 'L3')?.message).toMatch(
        /returned nothing although offset 2 was acknowledged [0-9.]+ ms after it was sent/,
      );
    });

    describe('consumer groups', () => {
      const G = 'g';
      const common = { group: G, topic: T };
      /** A join answered with the member's id, generation and partitions. */
      const join = (
        h: Recorder,
        process: string,
        member: string,
        generation: number,
        partitions: number[],
      ) => {
        h.invoke(process, 'join', common);
        h.complete(process, 'ok', { ...common, member, generation, partitions });
      };
      /** A heartbeat from a member holding `owned`, answered with a generation and partitions. */
      const heartbeat = (
        h: Recorder,
        process: string,
        member: string,
        generation: number,
        owned: number[],
        answer: { generation: number; partitions: number[] },
      ) => {
        h.invoke(process, 'heartbeat', { ...common, member, generation, partitions: owned });
        h.complete(process, 'ok', answer);
      };
      /** An accepted commit of partition 0. */
      const commit = (h: Recorder, process: string, member: string, generation: number, offset: number) => {
        h.invoke(process, 'commit', { ...common, partition: 0, member, generation, offset });
        h.complete(process, 'ok', {});
      };
      function groupRun() {
        const h = cleanRun();
        join(h, 'c0', 'm0', 1, [0]);
        for (const [offset, value] of CLEAN_FINAL) {
          h.invoke('c0', 'process', { ...common, partition: 0, member: 'm0', offset, values: [value] });
          h.complete('c0', 'ok', { ...common, partition: 0, member: 'm0', offset, values: [value] });
        }
        commit(h, 'c0', 'm0', 1, 3);
        return h;
      }
      const committed = (offset: number) => new Map([[`${G}/${T}/0`, offset]]);

      it('finds nothing in a clean group history', () => {
        const h = groupRun();
        expect(
          check({ events: h.events, committed: committed(3), options: { expectConsumedAll: true } })
            .violations,
        ).toEqual([]);
      });

      it('G1: accepts a partition handed over within a generation, and reports the old owner committing after', () => {
        const h = groupRun(); // m0 holds partition 0 at generation 1 and commits 3
        heartbeat(h, 'c0', 'm0', 1, [], { generation: 1, partitions: [] }); // released
        join(h, 'c1', 'm1', 1, [0]);
        commit(h, 'c1', 'm1', 1, 3);
        expect(check({ events: h.events, committed: committed(3) }).violations).toEqual([]);
        commit(h, 'c0', 'm0', 1, 3);
        const result = check({ events: h.events, committed: committed(3) });
        expect(result.violations.map((v) => v.message)).toEqual([
          expect.stringContaining(
            'm0 committed at generation 1 after m1 had committed at generation 1, having released',
          ),
        ]);
      });

      it('G1 and G2: reports a zombie commit accepted after the new owner committed, moving the offset back', () => {
        const h = groupRun();
        commit(h, 'c1', 'm1', 2, 3);
        commit(h, 'c0', 'm0', 1, 1);
        const result = check({ events: h.events, committed: committed(1) });
        expect(invariants(result)).toEqual(['G1', 'G2']);
      });

      it('G3: reports a commit past unprocessed records, and records below the final commit never processed', () => {
        const h = new Recorder();
        commit(h, 'c0', 'm0', 1, 2);
        const result = check({ events: h.events, committed: committed(2) });
        expect(result.violations.filter((v) => v.invariant === 'G3').map((v) => v.message)).toEqual([
          expect.stringContaining('offset 2 committed but record 0 had not been processed'),
          expect.stringContaining('2 records never processed'),
        ]);
      });

      it('G4: reports two members holding a partition at once, and not a member that released it first', () => {
        const h = new Recorder();
        join(h, 'c0', 'm0', 1, [0]);
        join(h, 'c1', 'm1', 2, [0]);
        heartbeat(h, 'c0', 'm0', 1, [0], { generation: 2, partitions: [0] });
        heartbeat(h, 'c1', 'm1', 2, [0], { generation: 2, partitions: [0] });
        const result = check({ events: h.events, final: [finalOf([], 0)], audit: [] });
        expect(result.violations.map((v) => v.invariant)).toEqual(['G4']);

        const released = new Recorder();
        join(released, 'c0', 'm0', 1, [0]);
        heartbeat(released, 'c0', 'm0', 2, [], { generation: 2, partitions: [] });
        join(released, 'c1', 'm1', 2, [0]);
        heartbeat(released, 'c1', 'm1', 2, [0], { generation: 2, partitions: [0] });
        expect(check({ events: released.events, final: [finalOf([], 0)], audit: [] }).violations).toEqual([]);
      });
    });
  });
});
