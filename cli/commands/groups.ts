/** `sluice groups list|describe|reset-offsets|delete`: Kafka's kafka-consumer-groups.sh. */

import { Command } from 'commander';
import { parseResetTarget } from '../../client';
import {
  action,
  type CliContext,
  CliError,
  type ConnectionOptions,
  createClient,
  table,
  withEndpoint,
} from './common';

export function groupsCommand({ env, io }: CliContext): Command {
  const groups = new Command('groups').description(
    'List, describe (with lag), reset and delete consumer groups',
  );

  withEndpoint(
    groups.command('list').description('List consumer groups').option('--json', 'print JSON', false),
    env,
  ).action(
    action(io, async (opts: ConnectionOptions & { json: boolean }) => {
      const admin = createClient(opts, env).admin();
      const { groups: list } = await admin.listGroups();
      await admin.disconnect();
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        table(
          ['GROUP', 'STATE', 'GENERATION', 'MEMBERS'],
          list.map((g) => [g.groupId, g.state, g.generation, g.memberCount]),
        ),
      );
    }),
  );

  withEndpoint(
    groups
      .command('describe')
      .description('Show a group’s members and, per partition, its committed offset, high-water mark and lag')
      .argument('<group>')
      .option('--json', 'print JSON', false),
    env,
  ).action(
    action(io, async (group: string, opts: ConnectionOptions & { json: boolean }) => {
      const admin = createClient(opts, env).admin();
      const described = await admin.describeGroup(group);
      // A partition the group never committed starts from the log start: that is its lag (the
      // server's lag is null there, and would otherwise add 0 to the total).
      const starts = new Map<string, number>();
      for (const topic of new Set(
        described.offsets.filter((o) => o.committedOffset === null).map((o) => o.topic),
      )) {
        const t = await admin.describeTopic(topic).catch(() => undefined);
        for (const p of t?.partitions ?? []) starts.set(`${topic}/${p.partition}`, p.logStartOffset);
      }
      await admin.disconnect();
      const offsets = described.offsets.map((o) =>
        o.committedOffset === null && o.lag === null
          ? { ...o, lag: o.highWatermark - (starts.get(`${o.topic}/${o.partition}`) ?? 0) }
          : o,
      );
      const d = { ...described, offsets, totalLag: offsets.reduce((n, o) => n + (o.lag ?? 0), 0) };
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
        return;
      }
      io.stdout.write(
        `Group: ${d.groupId}  State: ${d.state}  Generation: ${d.generation}  Members: ${d.members.length}  ` +
          `Assignor: ${d.assignor}  Total lag: ${d.totalLag}\n`,
      );
      if (d.members.some((m) => m.clientId !== undefined)) {
        // Kafka clients' members: who they are, as kafka-consumer-groups.sh --members shows them.
        io.stdout.write(
          table(
            ['MEMBER', 'CLIENT-ID', 'HOST', 'PARTITIONS'],
            d.members.map((m) => [m.memberId, m.clientId ?? '-', m.clientHost ?? '-', m.assignment.length]),
          ),
        );
      }
      io.stdout.write(
        table(
          ['TOPIC', 'PARTITION', 'COMMITTED-OFFSET', 'HIGH-WATERMARK', 'LAG', 'MEMBER'],
          d.offsets.map((o) => [
            o.topic,
            o.partition,
            o.committedOffset ?? '-',
            o.highWatermark,
            o.lag ?? '-',
            o.memberId ?? '-',
          ]),
        ),
      );
    }),
  );

  withEndpoint(
    groups
      .command('reset-offsets')
      .description('Set the committed offsets of every partition of a topic (the group must have no members)')
      .argument('<group>')
      .requiredOption('-t, --topic <topic>', 'the topic whose offsets to set')
      .requiredOption(
        '--to <where>',
        'earliest, latest, an offset (clamped into each partition) or an ISO-8601 time',
      )
      .option('--dry-run', 'show the offsets it would set, and change nothing', false)
      .option('--create', 'create the group if it does not exist (else an unknown group is refused)', false),
    env,
  ).action(
    action(
      io,
      async (
        group: string,
        opts: ConnectionOptions & { topic: string; to: string; dryRun: boolean; create: boolean },
      ) => {
        let to: ReturnType<typeof parseResetTarget>;
        try {
          to = parseResetTarget(opts.to);
        } catch (err) {
          throw new CliError(`error: --to ${(err as Error).message}`);
        }
        const admin = createClient(opts, env).admin();
        const { groups: known } = await admin.listGroups();
        if (!opts.create && !known.some((g) => g.groupId === group)) {
          throw new CliError(
            `error: GROUP_ID_NOT_FOUND: group ${group} does not exist (${
              known.length === 0
                ? 'there are no groups'
                : `groups: ${known
                    .map((g) => g.groupId)
                    .slice(0, 10)
                    .join(', ')}`
            }); pass --create to create it with these offsets`,
          );
        }
        if (opts.dryRun) {
          const t = await admin.describeTopic(opts.topic);
          const byTime =
            typeof to === 'object' && 'timestamp' in to
              ? new Map(
                  (await admin.fetchTopicOffsetsByTimestamp(opts.topic, to.timestamp)).map((o) => [
                    o.partition,
                    o.offset,
                  ]),
                )
              : undefined;
          await admin.disconnect();
          io.stdout.write(
            table(
              ['TOPIC', 'PARTITION', 'NEW-OFFSET'],
              t.partitions.map((p) => {
                const offset =
                  to === 'earliest'
                    ? p.logStartOffset
                    : to === 'latest'
                      ? p.highWatermark
                      : 'offset' in to
                        ? Math.min(Math.max(to.offset, p.logStartOffset), p.highWatermark)
                        : (byTime?.get(p.partition) ?? p.highWatermark);
                return [opts.topic, p.partition, offset];
              }),
            ),
          );
          io.stderr.write('Dry run: nothing was changed.\n');
          return;
        }
        const offsets = await admin.resetOffsets({ groupId: group, topic: opts.topic, to });
        await admin.disconnect();
        io.stdout.write(
          table(
            ['TOPIC', 'PARTITION', 'NEW-OFFSET'],
            offsets.map((o) => [o.topic, o.partition, o.offset]),
          ),
        );
      },
    ),
  );

  withEndpoint(
    groups
      .command('delete')
      .description('Delete an empty group and its committed offsets')
      .argument('<group>'),
    env,
  ).action(
    action(io, async (group: string, opts: ConnectionOptions) => {
      const admin = createClient(opts, env).admin();
      await admin.deleteGroup(group);
      await admin.disconnect();
      io.stdout.write(`Deleted group ${group}.\n`);
    }),
  );

  return groups;
}
