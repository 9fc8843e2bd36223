import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Folder for both emulators' data; survives restarts. @default a fresh temporary folder, removed on stop */
  readonly dataDir?: string;
  /** Keep DynamoDB in memory (S3 still needs a folder: a temporary one). @default false when dataDir is given */
  readonly inMemory?: boolean;
  /** @default 0 (ephemeral ports) */
  readonly dynamoPort?: number;
  readonly s3Port?: number;
}

/**
 * Starts dynalite and s3rver in this process, on 127.0.0.1. Tests give each file its own pair; the
 * local stack gives them a data folder so that a restart keeps every topic and record.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const temporary = options.dataDir === undefined || options.inMemory === true;
  const root = temporary ? await mkdtemp(join(tmpdir(), 'sluice-')) : options.dataDir!;
  const s3Dir = join(root, 's3');
  await mkdir(s3Dir, { recursive: true });
  const dynamoOptions: {
    createTableMs: number;
    deleteTableMs: number;
    updateTableMs: number;
    path?: string;
  } = {
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  };
  if (!temporary) {
    dynamoOptions.path = join(root, 'dynamodb');
    await mkdir(dynamoOptions.path, { recursive: true });
  }
  const dynamo: Server = dynalite(dynamoOptions);
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(options.dynamoPort ?? 0, '127.0.0.1', () => resolve());
  });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port ?? 0,
    silent: true,
    directory: s3Dir,
    resetOnClose: temporary,
  });
  const s3Address = (await s3.run()) as AddressInfo;
  const dynamoAddress = dynamo.address() as AddressInfo;
  return {
    dynamoEndpoint: `http://127.0.0.1:${dynamoAddress.port}`,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => {
        dynamo.close(() => resolve());
        // dynalite keeps idle keep-alive sockets; close them so close() returns.
        (dynamo as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      if (temporary) await rm(root, { recursive: true, force: true });
    },
  };
}
