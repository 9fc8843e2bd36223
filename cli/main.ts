/**
 * The `sluice` command line. `npm start` runs `sluice dev`.
 *
 * Only what a command needs is loaded: the client commands load the SDK, and `dev` alone loads the
 * local stack (dynalite, s3rver, the AWS SDK), which takes a second or more to import.
 */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { registerCommands } from './commands';
import { processIo } from './commands/common';
import { devCommand } from './commands/dev';

/**
 * The AWS SDK prints an 8-line notice on Node < 22 at its first client (its releases after January 2027
 * need Node 22). The CLI turns it off unless the environment already decides:
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false shows it again.
 */
export function quietAwsSdkNotice(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function createProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const io = processIo();
  const program = new Command('sluice')
    .description('Sluice: a serverless, Kafka-style event log on AWS')
    .version(version(), '-V, --version', 'print the version of sluice');
  program.addCommand(devCommand({ env, io }));
  registerCommands(program, env, io);
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  quietAwsSdkNotice();
  await createProgram().parseAsync([...argv]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`sluice: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
