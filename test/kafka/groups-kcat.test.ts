import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GroupDescription } from '../../shared/groups/types';
import { type Child, eventually, groupsTestStackForAll, run } from './support-groups';

/**
 * `kcat -G` (librdkafka's balanced consumer, the range assignor by default, eager) through the listener:
 * two members split the partitions, a third joins through a second listener and the group rebalances
 * to three; every record is
 * consumed, and the group's describe (the HTTP API's and the CLI's) shows the Kafka members and offsets.
 */

const PARTITIONS = 6;

function stableWith(d: GroupDescription, members: number): boolean {
  const owned = d.members.flatMap((m) => m.assignment.map((a) => a.partition));
  return (
    d.state === 'Stable' &&
    d.members.length === members &&
    owned.length === PARTITIONS &&
    new Set(owned).size === PARTITIONS &&
    d.members.every((m) => m.assignment.length === PARTITIONS / members)
  );
}

describe('Kafka groups: kcat -G', () => {
  const { stack: t, children } = groupsTestStackForAll();

  it('splits the partitions between two members, rebalances when a third joins, and consumes every record', async () => {
    // Prepare
    const topic = `kcat-g-${Date.now()}`;
    const group = 'mygroup';
    await t.services.log.createTopic({ name: topic, partitionCount: PARTITIONS });
    const first = Array.from({ length: 60 }, (_, i) => `k${i}:first-${i}`);
    const dir = mkdtempSync(join(tmpdir(), 'kcat-g-'));
    const file = join(dir, 'first.txt');
    writeFileSync(file, `${first.join('\n')}\n`);
    const loaded = run('kcat', ['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-l', file]);
    expect(await loaded.exited).toBe(0);

    const consumer = (name: string, bootstrap = t.bootstrap) => {
      const c = run('kcat', [
        '-b',
        bootstrap,
        '-G',
        group,
        '-o',
        'beginning',
        '-u',
        '-f',
        `${name} %p %o %s\\n`,
        '-X',
        `client.id=${name}`,
        '-X',
        'session.timeout.ms=6000',
        '-X',
        'heartbeat.interval.ms=500',
        '-X',
        'auto.commit.interval.ms=200',
        topic,
      ]);
      children.push(c);
      return c;
    };

    // Act: two members
    const a = consumer('member-a');
    const b = consumer('member-b');
    const two = await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group).catch(() => undefined);
        return d !== undefined && stableWith(d, 2) ? d : undefined;
      },
      30_000,
      'two members stable',
    );
    const consumedBy = (c: Child) =>
      c.lines.filter((l) => / first-| second-/.test(l)).map((l) => l.split(' ').at(-1)!);
    await eventually(
      async () => (new Set([...consumedBy(a), ...consumedBy(b)]).size === 60 ? true : undefined),
      30_000,
      'first records consumed',
    );

    // Act: a third joins, through another listener (its own services, as another process's): one group
    const c = consumer('member-c', await t.addListener());
    const three = await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group);
        return stableWith(d, 3) ? d : undefined;
      },
      30_000,
      'three members stable',
    );
    const secondFile = join(dir, 'second.txt');
    writeFileSync(secondFile, `${Array.from({ length: 60 }, (_, i) => `k${i}:second-${i}`).join('\n')}\n`);
    expect(await run('kcat', ['-b', t.bootstrap, '-P', '-t', topic, '-K:', '-l', secondFile]).exited).toBe(0);
    await eventually(
      async () => (new Set([a, b, c].flatMap(consumedBy)).size === 120 ? true : undefined),
      30_000,
      'every record consumed',
    );
    const committed = await eventually(
      async () => {
        const d = await t.services.groups.describeGroup(group);
        return d.offsets.every((o) => o.lag === 0) ? d : undefined;
      },
      30_000,
      'offsets committed up to the high-water mark',
    );
    for (const k of [a, b, c]) k.kill('SIGTERM');
    await Promise.all([a, b, c].map((k) => k.exited));

    // Assess
    expect(two.protocol).toBe('kafka');
    expect(two.members.map((m) => m.clientId).sort()).toEqual(['member-a', 'member-b']);
    expect(two.members.every((m) => m.clientHost === '127.0.0.1')).toBe(true);
    expect(three.generation).toBeGreaterThan(two.generation);
    expect(three.members.map((m) => m.clientId).sort()).toEqual(['member-a', 'member-b', 'member-c']);
    // After the third joined, each new record was consumed by the member holding its partition then.
    const holder = new Map(
      three.members.flatMap((m) => m.assignment.map((p) => [p.partition, m.clientId!] as const)),
    );
    for (const line of [a, b, c].flatMap((k) => k.lines).filter((l) => l.includes(' second-'))) {
      const [name, partition] = line.split(' ');
      expect(holder.get(Number(partition))).toBe(name);
    }
    expect(committed.offsets.reduce((s, o) => s + (o.committedOffset ?? 0), 0)).toBe(120);
  }, 120_000);
});
