import { describe, expect, it } from 'vitest';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { type Child, eventually, type GroupsTestStack, groupsTestStackForAll, run } from './support-groups';

/**
 * confluent-kafka for Python (librdkafka 2.0.2) consumers in one group, each committing after every
 * record it processed. One is killed with SIGKILL mid-run: after its session times out, the other takes
 * its partitions over from their last commits. At-least-once: every record is processed, and only
 * records after the victim's last commit may be processed twice.
 */

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./groups-fixtures/group_consumer.py', import.meta.url).pathname;

interface Got {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

const gotten = (c: Child): Got[] =>
  c.lines
    .filter((l) => l.startsWith('GOT '))
    .map((l) => {
      const [, partition, offset, value] = l.split(' ');
      return { partition: Number(partition), offset: Number(offset), value: value! };
    });

/** Records `${prefix}${n}` for n from `from` to before `to`, each on partition n % partitions, in order. */
async function produceSpread(
  t: GroupsTestStack,
  topic: string,
  partitions: number,
  prefix: string,
  from: number,
  to: number,
): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    const values = Array.from({ length: to - from }, (_, i) => from + i).filter((n) => n % partitions === p);
    await t.services.log.produce([
      {
        topic,
        partition: p,
        batches: encodeRecordBatch(values.map((n) => ({ value: Buffer.from(`${prefix}${n}`) }))),
      },
    ]);
  }
}

describe('Kafka groups: confluent-kafka (Python)', () => {
  const { stack: t, children } = groupsTestStackForAll();

  it('hands a SIGKILLed member’s partitions to the survivor from the last commit, losing nothing', async () => {
    // Prepare
    const topic = `py-g-${Date.now()}`;
    const group = `py-group-${Date.now()}`;
    await t.services.log.createTopic({ name: topic, partitionCount: 4 });
    const produce = (from: number, to: number) => produceSpread(t, topic, 4, 'r', from, to);
    await produce(0, 200);
    const start = (name: string) => {
      const c = run(PYTHON, ['-u', SCRIPT, t.bootstrap, group, topic, name, 'range']);
      children.push(c);
      return c;
    };

    // Act
    const victim = start('victim');
    const survivor = start('survivor');
    await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group).catch(() => undefined);
        return d?.state === 'Stable' &&
          d.members.length === 2 &&
          d.members.every((m) => m.assignment.length === 2)
          ? true
          : undefined;
      },
      30_000,
      'two members with two partitions each',
    );
    await eventually(
      async () => (gotten(victim).length >= 20 ? true : undefined),
      30_000,
      'the victim processing',
    );
    victim.kill('SIGKILL');
    await victim.exited;
    const before = await t.services.groups.describeGroup(group);
    await produce(200, 400);
    await eventually(
      async () =>
        new Set([...gotten(victim), ...gotten(survivor)].map((g) => g.value)).size === 400 ? true : undefined,
      40_000,
      'every record processed by someone',
    );
    const after = await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group);
        return d.members.length === 1 && d.offsets.every((o) => o.lag === 0) ? d : undefined;
      },
      30_000,
      'the survivor alone, everything committed',
    );
    survivor.kill('SIGTERM');

    // Assess
    const all = [...gotten(victim), ...gotten(survivor)];
    expect(new Set(all.map((g) => g.value)).size).toBe(400);
    expect(after.members[0]!.clientId).toBe('survivor');
    expect(after.members[0]!.assignment.map((a) => a.partition).sort()).toEqual([0, 1, 2, 3]);
    // The survivor resumed each taken-over partition at its last commit (at-least-once): not below the
    // commit the victim had made (a commit in flight at the kill may still have landed after), and not
    // past the first record the victim had not processed.
    const victimParts = new Set(gotten(victim).map((g) => g.partition));
    for (const p of victimParts) {
      const committed = before.offsets.find((o) => o.partition === p)?.committedOffset ?? 0;
      const processed = Math.max(
        ...gotten(victim)
          .filter((g) => g.partition === p)
          .map((g) => g.offset),
      );
      const resumed = Math.min(
        ...gotten(survivor)
          .filter((g) => g.partition === p)
          .map((g) => g.offset),
      );
      expect(resumed).toBeGreaterThanOrEqual(committed);
      expect(resumed).toBeLessThanOrEqual(processed + 1);
    }
    // Duplicates only where the victim processed a record and died before its commit was answered.
    const counts = new Map<string, number>();
    for (const g of all) counts.set(g.value, (counts.get(g.value) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(victimParts.size);
  }, 150_000);

  it('works with cooperative-sticky consumers: a third member takes partitions without the others stopping theirs', async () => {
    // Prepare
    const topic = `py-coop-${Date.now()}`;
    const group = `py-coop-${Date.now()}`;
    await t.services.log.createTopic({ name: topic, partitionCount: 6 });
    const produce = (from: number, to: number) => produceSpread(t, topic, 6, 'c', from, to);
    const start = (name: string) => {
      const c = run(PYTHON, ['-u', SCRIPT, t.bootstrap, group, topic, name, 'cooperative-sticky']);
      children.push(c);
      return c;
    };
    const stable = (members: number) =>
      eventually(
        async () => {
          const d = await t.services.groups.describeGroup(group).catch(() => undefined);
          const owned = d?.members.flatMap((m) => m.assignment.map((a) => a.partition)) ?? [];
          return d?.state === 'Stable' &&
            d.members.length === members &&
            owned.length === 6 &&
            new Set(owned).size === 6
            ? d
            : undefined;
        },
        40_000,
        `${members} members stable`,
      );

    // Act
    await produce(0, 60);
    const a = start('coop-a');
    const b = start('coop-b');
    const two = await stable(2);
    const c = start('coop-c');
    const three = await stable(3);
    await produce(60, 120);
    await eventually(
      async () => (new Set([a, b, c].flatMap(gotten).map((g) => g.value)).size === 120 ? true : undefined),
      40_000,
      'every record processed',
    );
    // What the first two printed while in the group (the stop below revokes everything, as it should).
    const inGroup = [a, b].map((k) => [...k.lines]);
    for (const k of [a, b, c]) k.kill('SIGTERM');

    // Assess
    expect(two.assignor).toBe('cooperative-sticky');
    expect(three.members.every((m) => m.assignment.length === 2)).toBe(true);
    // Incremental: a rebalance never took all of a member's partitions at once (no eager revoke-all),
    // whether the first member got all six before the second joined or both joined together. Known
    // exception (see the README): a commit that races the rebalance can be refused with
    // ILLEGAL_GENERATION, and librdkafka then treats its assignment as lost and gives it all up.
    for (const lines of inGroup) {
      const owned = new Set<string>();
      let fenced = false;
      for (const line of lines) {
        const [kind, list = ''] = line.split(' ');
        const parts = list.split(',').filter(Boolean);
        if (kind === 'COMMIT-FAILED' && line.endsWith('ILLEGAL_GENERATION')) fenced = true;
        if (kind === 'ASSIGNED') for (const p of parts) owned.add(p);
        if (kind === 'REVOKED' && parts.length > 0) {
          expect(
            parts.every((p) => owned.has(p)),
            lines.join(' | '),
          ).toBe(true);
          if (!fenced) expect(parts.length, lines.join(' | ')).toBeLessThan(owned.size);
          for (const p of parts) owned.delete(p);
          fenced = false;
        }
      }
      expect(owned.size, lines.join(' | ')).toBe(2);
    }
  }, 150_000);
});
