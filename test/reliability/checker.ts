/**
 * The history checker of reliability.md: given a run's history, the final read of every partition by a
 * fresh reader and the audit of storage, it checks I1–I8 (and, for consumer groups, G1–G4) and reports
 * each violation with the operations involved.
 *
 *   I1 no lost write       I2 no duplicate         I3 consistent offsets   I4 dense and ordered
 *   I5 no phantom          I6 hwm current/monotone I7 per-producer order   I8 storage audit
 *   G1 a fenced member's commit is refused         G2 accepted commits form a chain (never go back)
 *   G3 at-least-once: nothing committed that was not processed, and everything committed was processed
 *   G4 one owner at a time: no two members definitely hold a partition at once
 *   L3 a long poll returns once the high-water mark passes its offset
 *
 * Order is by event index: "A before B" when A completed before B was invoked. Values are unique ids.
 */

import { endOf, field, type HistoryEvent, type Op, pairOps } from './history';

export type InvariantId =
  | 'I1'
  | 'I2'
  | 'I3'
  | 'I4'
  | 'I5'
  | 'I6'
  | 'I7'
  | 'I8'
  | 'G1'
  | 'G2'
  | 'G3'
  | 'G4'
  | 'L1'
  | 'L3'
  /** Bad input answered wrongly or written (bad-input.ts). */
  | 'B'
  /** A request without the right token got through (security.ts). */
  | 'S1';

export interface Violation {
  readonly invariant: InvariantId;
  readonly message: string;
  /** The events involved (invokes and completions), at most a handful. */
  readonly events: readonly HistoryEvent[];
}

/** What a fresh reader found in one partition once faults were removed. */
export interface FinalRead {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  /** offset → value, for every record in [logStartOffset, highWatermark). */
  readonly records: ReadonlyMap<number, string>;
  /** The read failed or returned undecodable batches. */
  readonly error?: string;
}

export interface AuditEntry {
  readonly base: number;
  readonly count: number;
  readonly state: 'committed' | 'aborted';
  /** Committed entries: false when its object is missing. */
  readonly objectExists?: boolean;
  /** Committed entries: what was wrong with its bytes (CRC, framing, a record count not matching). */
  readonly problem?: string;
  /** Committed entries: the values its batches hold, in offset order from base. */
  readonly values?: readonly string[];
}

/** One partition as storage holds it: the head item and every index entry. */
export interface PartitionAudit {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly entries: readonly AuditEntry[];
}

/** An aborted range seen in the index during the run (retention may have deleted its entry since). */
export interface KnownAbortedRange {
  readonly topic: string;
  readonly partition: number;
  readonly base: number;
  readonly count: number;
}

export interface CheckInput {
  readonly events: readonly HistoryEvent[];
  readonly final: readonly FinalRead[];
  readonly audit?: readonly PartitionAudit[];
  readonly aborted?: readonly KnownAbortedRange[];
  /** Final committed offsets of consumer groups: `${group}/${topic}/${partition}` → offset. */
  readonly committed?: ReadonlyMap<string, number>;
  readonly options?: CheckOptions;
}

export interface CheckOptions {
  /** Appends have stopped long enough for every stalled range to be repaired: HW must equal LEO. @default true */
  readonly expectSettled?: boolean;
  /** Group consumers ran until caught up: every record must have been processed. @default false */
  readonly expectConsumedAll?: boolean;
  /** How long a long poll may keep sleeping after its offset was acknowledged, ms. @default 2500 */
  readonly longPollSlackMs?: number;
}

export interface CheckResult {
  readonly violations: Violation[];
  /** Violations per invariant (all of them; `violations` keeps at most `perInvariant` of each). */
  readonly counts: Record<string, number>;
}

const key = (topic: string | undefined, partition: number | undefined) => `${topic}/${partition}`;
const MAX_EVENTS = 6;

class Report {
  readonly violations: Violation[] = [];
  readonly counts: Record<string, number> = {};
  constructor(private readonly perInvariant: number) {}

  add(invariant: InvariantId, message: string, ops: readonly (Op | HistoryEvent | undefined)[] = []): void {
    this.counts[invariant] = (this.counts[invariant] ?? 0) + 1;
    if (this.counts[invariant]! > this.perInvariant) return;
    const events: HistoryEvent[] = [];
    for (const op of ops) {
      if (!op) continue;
      if ('invoke' in op) {
        events.push(op.invoke);
        if (op.completion) events.push(op.completion);
      } else events.push(op);
    }
    this.violations.push({ invariant, message, events: events.slice(0, MAX_EVENTS) });
  }
}

/** Ranges [from, to) a partition's audit recorded as aborted. */
class AbortedRanges {
  private readonly ranges: [number, number][];
  constructor(entries: readonly AuditEntry[] | undefined) {
    this.ranges = (entries ?? [])
      .filter((e) => e.state === 'aborted')
      .map((e): [number, number] => [e.base, e.base + e.count])
      .sort((a, b) => a[0] - b[0]);
  }
  contains(offset: number): boolean {
    return this.ranges.some(([from, to]) => offset >= from && offset < to);
  }
  /** True when every offset of [from, to) is aborted. */
  covers(from: number, to: number): boolean {
    let at = from;
    for (const [a, b] of this.ranges) {
      if (b <= at) continue;
      if (a > at) break;
      at = b;
      if (at >= to) break;
    }
    return at >= to;
  }
}

interface Ack {
  readonly op: Op;
  readonly topic: string;
  readonly partition: number;
  /** -1 when the answer carried no offsets (a duplicate of an older batch). */
  readonly base: number;
  readonly values: readonly string[];
}

export function checkHistory(input: CheckInput, perInvariant = 20): CheckResult {
  const report = new Report(perInvariant);
  const options = input.options ?? {};
  const ops = pairOps(input.events);
  const finals = new Map(input.final.map((f) => [key(f.topic, f.partition), f]));
  const audits = new Map((input.audit ?? []).map((a) => [key(a.topic, a.partition), a]));
  const known = new Map<string, AuditEntry[]>();
  for (const r of input.aborted ?? []) {
    const list = known.get(key(r.topic, r.partition)) ?? [];
    list.push({ base: r.base, count: r.count, state: 'aborted' });
    known.set(key(r.topic, r.partition), list);
  }
  const aborted = new Map(
    [...new Set([...audits.keys(), ...known.keys()])].map((k) => [
      k,
      new AbortedRanges([...(audits.get(k)?.entries ?? []), ...(known.get(k) ?? [])]),
    ]),
  );
  const abortedOf = (k: string) => aborted.get(k) ?? new AbortedRanges([]);

  const sends = ops.filter((o) => o.op === 'send');
  const polls = ops.filter((o) => o.op === 'poll' && o.type === 'ok');
  const acks: Ack[] = sends
    .filter((o) => o.type === 'ok')
    .map((op) => ({
      op,
      topic: op.invoke.topic!,
      partition: op.invoke.partition!,
      base: op.completion?.offset ?? -1,
      values: op.invoke.values ?? [],
    }));

  // Every observation of (partition, offset) → value, from acks, polls, the final read and storage.
  type Source = { value: string; op?: Op; what: string };
  const observed = new Map<string, Map<number, Source[]>>();
  const observe = (k: string, offset: number, source: Source) => {
    let byOffset = observed.get(k);
    if (!byOffset) {
      byOffset = new Map();
      observed.set(k, byOffset);
    }
    const list = byOffset.get(offset) ?? [];
    list.push(source);
    byOffset.set(offset, list);
  };
  for (const ack of acks) {
    if (ack.base < 0) continue;
    ack.values.forEach((value, i) => {
      observe(key(ack.topic, ack.partition), ack.base + i, { value, op: ack.op, what: 'ack' });
    });
  }
  for (const poll of polls) {
    for (const [offset, value] of poll.completion?.records ?? []) {
      observe(key(poll.invoke.topic, poll.invoke.partition), offset, { value, op: poll, what: 'poll' });
    }
  }
  for (const [k, f] of finals) {
    for (const [offset, value] of f.records) observe(k, offset, { value, what: 'final read' });
  }
  for (const [k, a] of audits) {
    for (const e of a.entries) {
      e.values?.forEach((value, i) => {
        observe(k, e.base + i, { value, what: 'storage' });
      });
    }
  }

  // I1: every acknowledged record is in the final read, at its acknowledged offset.
  for (const ack of acks) {
    const k = key(ack.topic, ack.partition);
    const final = finals.get(k);
    if (!final) {
      report.add('I1', `${k}: acknowledged values but the partition was never read back`, [ack.op]);
      continue;
    }
    if (ack.base < 0) {
      const present = new Set(final.records.values());
      for (const v of ack.values) {
        if (!present.has(v) && final.logStartOffset === 0)
          report.add('I1', `${k}: ${v} acknowledged (as a duplicate) but missing from the final read`, [
            ack.op,
          ]);
      }
      continue;
    }
    ack.values.forEach((v, i) => {
      const offset = ack.base + i;
      if (offset < final.logStartOffset) return; // deleted by retention since
      const got = final.records.get(offset);
      if (got === v) return;
      const elsewhere = [...final.records].find(([, value]) => value === v)?.[0];
      report.add(
        'I1',
        got === undefined && elsewhere === undefined
          ? `${k}: ${v} acknowledged at offset ${offset} is lost (final HW ${final.highWatermark})`
          : `${k}: ${v} acknowledged at offset ${offset} reads back ${elsewhere !== undefined ? `at offset ${elsewhere}` : `as ${got}`}`,
        [ack.op],
      );
    });
  }

  // I2 and I3: each value at one offset; each offset one value, in every observation.
  const valueOffsets = new Map<string, Map<number, Source>>();
  for (const [k, byOffset] of observed) {
    for (const [offset, sources] of byOffset) {
      const distinct = new Set(sources.map((s) => s.value));
      if (distinct.size > 1) {
        report.add(
          'I3',
          `${k} offset ${offset} held different values: ${sources.map((s) => `${s.value} (${s.what})`).join(', ')}`,
          sources.map((s) => s.op),
        );
      }
      for (const s of sources) {
        const id = `${k}\u0000${s.value}`;
        const at = valueOffsets.get(id) ?? new Map<number, Source>();
        if (!at.has(offset)) at.set(offset, s);
        valueOffsets.set(id, at);
      }
    }
  }
  for (const [id, at] of valueOffsets) {
    if (at.size > 1) {
      const [k, value] = id.split('\u0000');
      report.add(
        'I2',
        `${k}: ${value} is at ${at.size} offsets: ${[...at].map(([o, s]) => `${o} (${s.what})`).join(', ')}`,
        [...at.values()].map((s) => s.op),
      );
    }
  }

  // I4: the final read is dense from logStartOffset to HW except aborted ranges, which hold no ack;
  // each poll is in offset order from the offset asked.
  for (const [k, f] of finals) {
    if (f.error) report.add('I4', `${k}: the final read failed: ${f.error}`);
    const ranges = abortedOf(k);
    let holes = 0;
    let firstHole = -1;
    for (let o = f.logStartOffset; o < f.highWatermark; o++) {
      if (!f.records.has(o) && !ranges.contains(o)) {
        if (holes++ === 0) firstHole = o;
      }
    }
    if (holes > 0) {
      report.add(
        'I4',
        `${k}: ${holes} offsets below HW ${f.highWatermark} hold no record and are not aborted (first ${firstHole})`,
      );
    }
    for (const o of f.records.keys()) {
      if (o < f.logStartOffset || o >= f.highWatermark) {
        report.add(
          'I4',
          `${k}: the final read returned offset ${o} outside [${f.logStartOffset}, ${f.highWatermark})`,
        );
      }
    }
  }
  for (const ack of acks) {
    const k = key(ack.topic, ack.partition);
    if (ack.base < 0) continue;
    const ranges = abortedOf(k);
    ack.values.forEach((v, i) => {
      if (ranges.contains(ack.base + i)) {
        report.add('I4', `${k}: ${v} acknowledged at ${ack.base + i}, inside an aborted range`, [ack.op]);
      }
    });
  }
  for (const poll of polls) {
    const k = key(poll.invoke.topic, poll.invoke.partition);
    const ranges = abortedOf(k);
    const asked = poll.invoke.offset ?? 0;
    let expected = asked;
    let ordered = true;
    for (const [offset] of poll.completion?.records ?? []) {
      if (offset < expected || (offset > expected && !ranges.covers(expected, offset))) {
        report.add(
          'I4',
          `${k}: a poll from ${asked} returned offset ${offset} where ${expected} was next (out of order or a gap)`,
          [poll],
        );
        ordered = false;
        break;
      }
      expected = offset + 1;
    }
    const next = poll.completion?.nextOffset;
    if (
      ordered &&
      !poll.completion?.corrupt &&
      next !== undefined &&
      (next < expected || (next > expected && !ranges.covers(expected, next)))
    ) {
      report.add('I4', `${k}: a poll from ${asked} answered nextOffset ${next} after reaching ${expected}`, [
        poll,
      ]);
    }
    if (poll.completion?.corrupt) {
      report.add(
        'I4',
        `${k}: a poll from ${asked} returned batches that do not decode: ${poll.completion.corrupt}`,
        [poll],
      );
    }
  }

  // I5: nothing nobody sent, nothing only definitely failed sends carried.
  const sendsOf = new Map<string, Op[]>();
  for (const s of sends) {
    for (const v of s.invoke.values ?? []) {
      const id = `${key(s.invoke.topic, s.invoke.partition)}\u0000${v}`;
      const list = sendsOf.get(id) ?? [];
      list.push(s);
      sendsOf.set(id, list);
    }
  }
  for (const [id, at] of valueOffsets) {
    const [k, value] = id.split('\u0000');
    const carriers = sendsOf.get(id);
    const seenBy = [...at.values()].filter((s) => s.what !== 'ack');
    if (seenBy.length === 0) continue;
    if (!carriers) {
      report.add(
        'I5',
        `${k}: ${value} was read but nobody sent it`,
        seenBy.map((s) => s.op),
      );
    } else if (carriers.every((c) => c.type === 'fail')) {
      report.add(
        'I5',
        `${k}: ${value} was read, but every send of it failed (${carriers.map((c) => c.completion?.error).join(', ')})`,
        [...carriers, ...seenBy.map((s) => s.op)],
      );
    }
  }

  // I6: a poll after an ack of offset o sees hwm > o; hwm never goes back; nothing at or above hwm.
  const byPartition = <T extends { op: Op } | Op>(items: T[], k: (t: T) => string) => {
    const m = new Map<string, T[]>();
    for (const item of items) {
      const list = m.get(k(item)) ?? [];
      list.push(item);
      m.set(k(item), list);
    }
    return m;
  };
  const acksByPartition = byPartition(
    acks.filter((a) => a.base >= 0),
    (a) => key(a.topic, a.partition),
  );
  const pollsByPartition = byPartition(polls, (p) => key(p.invoke.topic, p.invoke.partition));
  const partitions = new Set([...acksByPartition.keys(), ...pollsByPartition.keys(), ...finals.keys()]);
  for (const k of partitions) {
    const partAcks = [...(acksByPartition.get(k) ?? [])].sort((a, b) => endOf(a.op) - endOf(b.op));
    const partPolls = [...(pollsByPartition.get(k) ?? [])];
    for (const poll of partPolls) {
      const hwm = poll.completion!.hwm ?? -1;
      for (const [offset] of poll.completion!.records ?? []) {
        if (offset >= hwm) {
          report.add('I6', `${k}: a poll returned offset ${offset} at or above its hwm ${hwm}`, [poll]);
          break;
        }
      }
    }
    // Acks and polls as "facts": after index i, hwm must be > the highest offset known committed.
    type Fact = { at: number; atLeast: number; op: Op; what: string };
    const facts: Fact[] = [
      ...partAcks.map((a) => ({
        at: endOf(a.op),
        atLeast: a.base + a.values.length,
        op: a.op,
        what: `ack of offset ${a.base + a.values.length - 1}`,
      })),
      ...partPolls.map((p) => ({
        at: endOf(p),
        atLeast: p.completion!.hwm ?? 0,
        op: p,
        what: `poll with hwm ${p.completion!.hwm}`,
      })),
    ].sort((a, b) => a.at - b.at);
    const sortedPolls = [...partPolls].sort((a, b) => a.invoke.index - b.invoke.index);
    let fi = 0;
    let best: Fact | undefined;
    for (const poll of sortedPolls) {
      while (fi < facts.length && facts[fi]!.at < poll.invoke.index) {
        if (!best || facts[fi]!.atLeast > best.atLeast) best = facts[fi];
        fi++;
      }
      const hwm = poll.completion!.hwm ?? -1;
      if (best && hwm < best.atLeast) {
        report.add(
          'I6',
          `${k}: a poll saw hwm ${hwm} after the ${best.what} (hwm ≥ ${best.atLeast}) completed`,
          [best.op, poll],
        );
      }
    }
    const final = finals.get(k);
    if (final && !final.error) {
      const highest = facts.reduce<Fact | undefined>(
        (m, f) => (!m || f.atLeast > m.atLeast ? f : m),
        undefined,
      );
      if (highest && final.highWatermark < highest.atLeast) {
        report.add('I6', `${k}: the final HW ${final.highWatermark} is below the ${highest.what}`, [
          highest.op,
        ]);
      }
    }
  }

  // L3: a long poll that returned nothing must not have slept through an ack of its offset. The server
  // starts waiting after the invoke, so its deadline is no earlier than invoke + maxWaitMs: an ack well
  // before that (by the slack, which covers its last head read) must have woken it.
  const slack = options.longPollSlackMs ?? 2500;
  for (const poll of polls) {
    const c = poll.completion!;
    const maxWaitMs = poll.invoke.maxWaitMs ?? 0;
    if ((c.records?.length ?? 0) > 0) continue;
    const k = key(poll.invoke.topic, poll.invoke.partition);
    const asked = poll.invoke.offset ?? 0;
    const ranges = abortedOf(k);
    const woke = (acksByPartition.get(k) ?? []).find(
      (a) =>
        a.op.completion &&
        a.base + a.values.length > asked &&
        !ranges.covers(asked, a.base + a.values.length) &&
        a.op.completion.time < poll.invoke.time + maxWaitMs - slack,
    );
    if (woke) {
      report.add(
        'L3',
        `${k}: a poll from ${asked} (maxWaitMs ${maxWaitMs}) returned nothing although offset ${woke.base + woke.values.length - 1} was acknowledged ${(() => {
          const ms = Math.round(woke.op.completion!.time - poll.invoke.time);
          return ms < 0 ? `${-ms} ms before it was sent` : `${ms} ms after it was sent`;
        })()}`,
        [woke.op, poll],
      );
    }
  }

  // I7: a producer's acknowledged offsets grow with its sequence; an older epoch is fenced for good.
  const producerAcks = new Map<string, Ack[]>();
  for (const ack of acks) {
    const p = ack.op.invoke.producer;
    if (!p || p.id < 0 || ack.base < 0) continue;
    const id = `${key(ack.topic, ack.partition)} producer ${p.id}`;
    const list = producerAcks.get(id) ?? [];
    list.push(ack);
    producerAcks.set(id, list);
  }
  for (const [id, list] of producerAcks) {
    const sorted = [...list].sort((a, b) => {
      const pa = a.op.invoke.producer!;
      const pb = b.op.invoke.producer!;
      return pa.epoch - pb.epoch || pa.seq - pb.seq;
    });
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      const pa = a.op.invoke.producer!;
      const pb = b.op.invoke.producer!;
      if (pa.epoch === pb.epoch && pa.seq === pb.seq) continue; // retries of one batch (I2/I3 compare them)
      if (b.base <= a.base) {
        report.add(
          'I7',
          `${id}: epoch ${pb.epoch} seq ${pb.seq} acknowledged at ${b.base}, not after epoch ${pa.epoch} seq ${pa.seq} at ${a.base}`,
          [a.op, b.op],
        );
      }
    }
    for (const zombie of list) {
      const epoch = zombie.op.invoke.producer!.epoch;
      const newer = list.find(
        (n) => n.op.invoke.producer!.epoch > epoch && endOf(n.op) < zombie.op.invoke.index,
      );
      if (newer) {
        report.add(
          'I7',
          `${id}: epoch ${epoch} was acknowledged after epoch ${newer.op.invoke.producer!.epoch} had written (not fenced)`,
          [newer.op, zombie.op],
        );
      }
    }
  }

  // I8: the audit of storage.
  for (const [k, a] of audits) {
    if (a.highWatermark > a.logEndOffset)
      report.add('I8', `${k}: HW ${a.highWatermark} > LEO ${a.logEndOffset}`);
    if (a.logStartOffset > a.highWatermark) {
      report.add('I8', `${k}: logStartOffset ${a.logStartOffset} > HW ${a.highWatermark}`);
    }
    if ((options.expectSettled ?? true) && a.highWatermark < a.logEndOffset) {
      report.add(
        'I4',
        `${k}: HW ${a.highWatermark} stayed below LEO ${a.logEndOffset} after appends stopped`,
      );
    }
    const entries = [...a.entries].sort((x, y) => x.base - y.base);
    let at = a.logStartOffset;
    let started = false;
    for (const e of entries) {
      const end = e.base + e.count;
      if (end <= a.logStartOffset) continue;
      if (e.base >= a.highWatermark) {
        if (e.base < at) report.add('I8', `${k}: entry [${e.base}, ${end}) above HW overlaps the one before`);
        if (end > a.logEndOffset)
          report.add('I8', `${k}: entry [${e.base}, ${end}) passes LEO ${a.logEndOffset}`);
        at = Math.max(at, end);
        continue;
      }
      if (e.base > at)
        report.add('I8', `${k}: no entry covers [${at}, ${e.base}) below HW ${a.highWatermark}`);
      else if (e.base < at && (started || e.base > a.logStartOffset)) {
        report.add('I8', `${k}: entry [${e.base}, ${end}) overlaps the range before it (up to ${at})`);
      }
      if (end > a.highWatermark)
        report.add('I8', `${k}: entry [${e.base}, ${end}) straddles HW ${a.highWatermark}`);
      started = true;
      at = Math.max(at, end);
    }
    if (at < a.highWatermark) report.add('I8', `${k}: no entry covers [${at}, ${a.highWatermark}) below HW`);
    for (const e of entries) {
      // Below logStartOffset, retention may delete objects before their entries (after a grace period).
      if (e.state !== 'committed' || e.base + e.count <= a.logStartOffset) continue;
      if (e.objectExists === false)
        report.add('I8', `${k}: committed entry at ${e.base} points at a missing object`);
      if (e.problem) report.add('I8', `${k}: committed entry at ${e.base}: ${e.problem}`);
    }
  }

  checkGroups(ops, finals, input.committed, options, report);
  return { violations: report.violations, counts: report.counts };
}

function checkGroups(
  ops: readonly Op[],
  finals: ReadonlyMap<string, FinalRead>,
  committed: ReadonlyMap<string, number> | undefined,
  options: CheckOptions,
  report: Report,
): void {
  const commits = ops.filter((o) => o.op === 'commit');
  if (!ops.some((o) => o.op === 'commit' || o.op === 'process' || o.op === 'join')) return;
  const gkey = (o: Op) => `${o.invoke.group}/${o.invoke.topic}/${o.invoke.partition}`;
  const accepted = commits.filter((c) => c.type === 'ok');
  const byPartition = new Map<string, Op[]>();
  for (const c of accepted) {
    const list = byPartition.get(gkey(c)) ?? [];
    list.push(c);
    byPartition.set(gkey(c), list);
  }
  // G1 and G2. A partition moves between members within a generation (cooperative rebalancing: the old
  // owner releases it, then the new one is granted it), so generations alone cannot order owners of the
  // same generation: there, a commit is a zombie's if its member had released the partition before the
  // other member's commit, and was not granted it again since.
  const memberOps = new Map<string, Op[]>();
  for (const o of ops) {
    if (o.op !== 'heartbeat' && o.op !== 'join') continue;
    const member = o.completion?.member ?? o.invoke.member;
    if (!member) continue;
    const list = memberOps.get(member) ?? [];
    list.push(o);
    memberOps.set(member, list);
  }
  for (const list of memberOps.values()) list.sort((x, y) => x.invoke.index - y.invoke.index);
  /**
   * True when `member` had released `partition` (an ok heartbeat that no longer listed it as owned, whose
   * answer did not give it back) before index `before`, and no ok answer gave it back before `until`.
   */
  const releasedBefore = (member: string, partition: number, before: number, until: number): boolean => {
    let released = false;
    for (const o of memberOps.get(member) ?? []) {
      if (o.invoke.index >= until) break;
      if (o.type !== 'ok') continue;
      const answered = (o.completion?.partitions ?? []).includes(partition);
      if (
        o.op === 'heartbeat' &&
        endOf(o) < before &&
        !(o.invoke.partitions ?? []).includes(partition) &&
        !answered
      ) {
        released = true;
      } else if (answered) {
        released = false;
      }
    }
    return released;
  };
  for (const [k, list] of byPartition) {
    for (const b of list) {
      for (const a of list) {
        if (endOf(a) >= b.invoke.index) continue;
        const ga = a.invoke.generation ?? 0;
        const gb = b.invoke.generation ?? 0;
        const zombie =
          a.invoke.member !== b.invoke.member &&
          (gb < ga ||
            (gb === ga &&
              releasedBefore(b.invoke.member!, b.invoke.partition!, a.invoke.index, b.invoke.index)));
        if (zombie) {
          report.add(
            'G1',
            `${k}: member ${b.invoke.member} committed at generation ${gb} after ${a.invoke.member} had committed at generation ${ga}${gb === ga ? ', having released the partition before' : ''}`,
            [a, b],
          );
        }
        if ((b.invoke.offset ?? 0) < (a.invoke.offset ?? 0)) {
          report.add(
            'G2',
            `${k}: an accepted commit moved the offset back from ${a.invoke.offset} to ${b.invoke.offset}`,
            [a, b],
          );
        }
      }
    }
  }
  // G3: a commit of c covers only processed records; everything below the final commit was processed.
  const processed = new Map<string, Map<number, number>>(); // partition → offset → first process index
  for (const p of ops.filter((o) => o.op === 'process' && o.type === 'ok')) {
    const k = `${p.invoke.group}/${p.invoke.topic}/${p.invoke.partition}`;
    const m = processed.get(k) ?? new Map<number, number>();
    const offset = p.invoke.offset!;
    if (!m.has(offset)) m.set(offset, p.invoke.index);
    processed.set(k, m);
  }
  const recordsOf = (k: string) => {
    const [, topic, partition] = k.split('/');
    return finals.get(`${topic}/${partition}`)?.records ?? new Map<number, string>();
  };
  for (const c of accepted) {
    const k = gkey(c);
    const done = processed.get(k) ?? new Map<number, number>();
    const upTo = c.invoke.offset ?? 0;
    for (const offset of recordsOf(k).keys()) {
      if (offset >= upTo) continue;
      const at = done.get(offset);
      if (at === undefined || at > c.invoke.index) {
        report.add('G3', `${k}: offset ${upTo} committed but record ${offset} had not been processed`, [c]);
        break;
      }
    }
  }
  const partitionsSeen = new Set([...byPartition.keys(), ...processed.keys(), ...(committed?.keys() ?? [])]);
  for (const k of partitionsSeen) {
    const done = processed.get(k) ?? new Map<number, number>();
    const last = committed?.get(k);
    const records = recordsOf(k);
    const missing = [...records.keys()].filter(
      (o) => !done.has(o) && (options.expectConsumedAll || (last !== undefined && o < last)),
    );
    if (missing.length > 0) {
      report.add(
        'G3',
        `${k}: ${missing.length} records never processed (first ${Math.min(...missing)}; final commit ${last ?? 'none'})`,
      );
    }
  }
  // G4: definite ownership intervals of different members never overlap.
  type Interval = { member: string; from: number; to: number; ops: Op[] };
  const intervals = new Map<string, Interval[]>();
  const byMember = new Map<string, Op[]>();
  for (const o of ops) {
    if (o.op !== 'join' && o.op !== 'heartbeat') continue;
    const member = o.completion?.member ?? o.invoke.member;
    if (!member) continue;
    const list = byMember.get(member) ?? [];
    list.push(o);
    byMember.set(member, list);
  }
  for (const [member, list] of byMember) {
    list.sort((a, b) => a.invoke.index - b.invoke.index);
    for (let i = 0; i + 1 < list.length; i++) {
      const a = list[i]!;
      if (a.type !== 'ok') continue;
      // The next ok answer, with every heartbeat in between still listing the partition as owned.
      for (const p of field(a, 'partitions') ?? []) {
        for (let j = i + 1; j < list.length; j++) {
          const b = list[j]!;
          if (b.op !== 'heartbeat' || !(b.invoke.partitions ?? []).includes(p)) break;
          if (b.type === 'fail') break;
          if (b.type !== 'ok') continue;
          if (!(b.completion?.partitions ?? []).includes(p)) break;
          const k = `${a.invoke.group}/${a.invoke.topic}/${p}`;
          const list2 = intervals.get(k) ?? [];
          list2.push({ member, from: endOf(a), to: b.invoke.index, ops: [a, b] });
          intervals.set(k, list2);
          break;
        }
      }
    }
  }
  for (const [k, list] of intervals) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const x = list[i]!;
        const y = list[j]!;
        if (x.member !== y.member && x.from < y.to && y.from < x.to) {
          report.add('G4', `${k}: members ${x.member} and ${y.member} held the partition at the same time`, [
            ...x.ops,
            ...y.ops,
          ]);
        }
      }
    }
  }
}

/** One line per violation, for logs and test failures. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations
    .map(
      (v) =>
        `${v.invariant} ${v.message}\n${v.events.map((e) => `    #${e.index} ${e.process} ${e.type} ${e.op} ${JSON.stringify({ ...e, index: undefined, process: undefined, type: undefined, op: undefined })}`).join('\n')}`,
    )
    .join('\n');
}
