/** The client commands of the `sluice` CLI, each group in its own file. */

import type { Command } from 'commander';
import { adminCommand } from './admin';
import { type CliIo, processIo } from './common';
import { consumeCommand } from './consume';
import { groupsCommand } from './groups';
import { kafkaCommand } from './kafka';
import { perfCommand } from './perf';
import { produceCommand } from './produce';
import { topicsCommand } from './topics';

export { CliError, type CliIo } from './common';

/** Adds topics, produce, consume, groups, perf, admin and kafka to `program`. */
export function registerCommands(program: Command, env: NodeJS.ProcessEnv, io: CliIo = processIo()): Command {
  const ctx = { env, io };
  for (const command of [
    topicsCommand(ctx),
    produceCommand(ctx),
    consumeCommand(ctx),
    groupsCommand(ctx),
    perfCommand(ctx),
    adminCommand(ctx),
    kafkaCommand(ctx),
  ]) {
    program.addCommand(command);
  }
  return program;
}
