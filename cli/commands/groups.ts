/** `sluice groups list|describe|reset-offsets|delete`: Kafka's kafka-consumer-groups.sh. */

import { Command } from 'commander';
import { parseResetTarget } from '../../client';
import { addAdminCommand, addDeleteCommand, type CliContext, CliError, offsetsAtTime, table } from './common';

export function groupsCommand(context: CliContext): Command {
  const { io } = context;
  const groups = new Command('groups').description(
    'List, describe (with lag), reset and delete consumer groups',
  );

  addAdminCommand(groups, context, {
    name: 'list',
    description: 'List consumer groups',
    json: true,
    run: async (admin) => (await admin.listGroups()).groups,
    text: (list) =>
      table(
        ['GROUP', 'STATE', 'GENERATION', 'MEMBERS'],
        list.map((g) => [g.groupId, g.state, g.generation, g.memberCount]),
      ),
  });

  addAdminCommand(groups, context, {
    name: 'describe',
    description: 'Show a group’s members and, per partition, its committed offset, high-water mark and lag',
    argument: '<group>',
    json: true,
    run: async (admin, group) => {
      const d = await admin.describeGroup(group);
      // A partition the group never committed is read from its log start: that is its lag (the
      // server's is null there), as in the total.
      return {
        ...d,
        offsets: d.offsets.map((o) => ({ ...o, lag: o.lag ?? o.highWatermark - o.logStartOffset })),
      };
    },
    text: (d) => {
      let out =
        `Group: ${d.groupId}  State: ${d.state}  Generation: ${d.generation}  Members: ${d.members.length}  ` +
        `Assignor: ${d.assignor}  Total lag: ${d.totalLag}\n`;
      if (d.members.some((m) => m.clientId !== undefined)) {
        // Kafka clients' members: who they are, as kafka-consumer-groups.sh --members shows them.
        out += table(
          ['MEMBER', 'CLIENT-ID', 'HOST', 'PARTITIONS'],
          d.members.map((m) => [m.memberId, m.clientId ?? '-', m.clientHost ?? '-', m.assignment.length]),
        );
      }
      return (
        out +
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
        )
      );
    },
  });

  addAdminCommand(groups, context, {
    name: 'reset-offsets',
    description: 'Set the committed offsets of every partition of a topic (the group must have no members)',
    argument: '<group>',
    options: (command) =>
      command
        .requiredOption('-t, --topic <topic>', 'the topic whose offsets to set')
        .requiredOption(
          '--to <where>',
          'earliest, latest, an offset (clamped into each partition) or an ISO-8601 time',
        )
        .option('--dry-run', 'show the offsets it would set, and change nothing', false)
        .option(
          '--create',
          'create the group if it does not exist (else an unknown group is refused)',
          false,
        ),
    run: async (admin, group, opts: { topic: string; to: string; dryRun: boolean; create: boolean }) => {
      let to: ReturnType<typeof parseResetTarget>;
      try {
        to = parseResetTarget(opts.to);
      } catch (err) {
        throw new CliError(`error: --to ${(err as Error).message}`);
      }
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
      if (!opts.dryRun) return admin.resetOffsets({ groupId: group, topic: opts.topic, to });
      const t = await admin.describeTopic(opts.topic);
      const byTime =
        typeof to === 'object' && 'timestamp' in to
          ? await offsetsAtTime(admin, opts.topic, to.timestamp)
          : undefined;
      io.stderr.write('Dry run: nothing was changed.\n');
      return t.partitions.map((p) => ({
        topic: opts.topic,
        partition: p.partition,
        offset:
          to === 'earliest'
            ? p.logStartOffset
            : to === 'latest'
              ? p.highWatermark
              : 'offset' in to
                ? Math.min(Math.max(to.offset, p.logStartOffset), p.highWatermark)
                : (byTime?.get(p.partition) ?? p.highWatermark),
      }));
    },
    text: (offsets) =>
      table(
        ['TOPIC', 'PARTITION', 'NEW-OFFSET'],
        offsets.map((o) => [o.topic, o.partition, o.offset]),
      ),
  });

  addDeleteCommand(groups, context, {
    kind: 'group',
    description: 'Delete an empty group and its committed offsets',
    run: (admin, group) => admin.deleteGroup(group),
  });

  return groups;
}
