/**
 * How tests hand configuration to code that reads it from the environment: the functions and the CLI
 * (storageConfigFromEnv), and `sluice dev` started as a child process.
 */

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { StorageConfig } from '../../shared/config';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The variables that name `config`'s storage, as storageConfigFromEnv reads them. */
export function storageEnvironment(config: StorageConfig): Record<string, string> {
  return {
    SLUICE_BUCKET: config.bucket,
    SLUICE_TOPICS_TABLE: config.topicsTable,
    SLUICE_LOG_TABLE: config.logTable,
    SLUICE_GROUPS_TABLE: config.groupsTable,
    ...(config.dynamoEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: config.dynamoEndpoint } : {}),
    ...(config.s3Endpoint ? { AWS_ENDPOINT_URL_S3: config.s3Endpoint } : {}),
  };
}

/**
 * `sluice dev <args>` from the sources in a child process, its output piped. It inherits this process's
 * environment but a token or an AWS endpoint, which would change what it serves; `env` adds to it.
 */
export function spawnSluiceDev(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', 'cli/main.ts', 'dev', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_TOKEN: '', AWS_ENDPOINT_URL: '', ...env },
    },
  );
}
