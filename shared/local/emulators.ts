import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dynalite from 'dynalite';
import S3rver from 's3rver';

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  /** The emulators' process ids when they run in processes of their own; empty when in this process. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/**
 * Where the emulators run. `process`: each in a child process of its own (their CPU off this process's
 * event loop, so on a 2-core machine the local stack's calls stop queueing behind them), stopped with
 * this process and never outliving it; what `startLocalStack` (and so `npm start`) uses. `inline`: in
 * this process, started in milliseconds rather than ~0.4 s, as the storage-level test suites use them.
 */
export type EmulatorIsolation = 'process' | 'inline';

export interface EmulatorOptions {
  /** Folder for both emulators' data; survives restarts. @default a fresh temporary folder, removed on stop */
  readonly dataDir?: string;
  /** Keep DynamoDB in memory (S3 still needs a folder: a temporary one). @default false when dataDir is given */
  readonly inMemory?: boolean;
  /** @default 0 (ephemeral ports) */
  readonly dynamoPort?: number;
  readonly s3Port?: number;
  /** @default 'inline' */
  readonly isolation?: EmulatorIsolation;
}

interface Layout {
  readonly temporary: boolean;
  readonly root: string;
  readonly s3Dir: string;
  /** dynalite's LevelDB folder; undefined: in memory. */
  readonly dynamoDir: string | undefined;
}

async function layout(options: EmulatorOptions): Promise<Layout> {
  const temporary = options.dataDir === undefined || options.inMemory === true;
  const root = temporary ? await mkdtemp(join(tmpdir(), 'sluice-')) : options.dataDir!;
  const s3Dir = join(root, 's3');
  await mkdir(s3Dir, { recursive: true });
  const dynamoDir = temporary ? undefined : join(root, 'dynamodb');
  if (dynamoDir) await mkdir(dynamoDir, { recursive: true });
  return { temporary, root, s3Dir, dynamoDir };
}

/**
 * Starts dynalite and s3rver on 127.0.0.1, in this process or each in a child process of its own. Tests
 * give each file its own pair; the local stack gives them a data folder so that a restart keeps every
 * topic and record.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const where = await layout(options);
  try {
    return options.isolation === 'process'
      ? await startProcesses(where, options)
      : await startInline(where, options);
  } catch (err) {
    if (where.temporary) await rm(where.root, { recursive: true, force: true });
    throw err;
  }
}

async function startInline(where: Layout, options: EmulatorOptions): Promise<Emulators> {
  const dynamo: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(where.dynamoDir ? { path: where.dynamoDir } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(options.dynamoPort ?? 0, '127.0.0.1', () => resolve());
  });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port ?? 0,
    silent: true,
    directory: where.s3Dir,
    resetOnClose: where.temporary,
  });
  const s3Address = (await s3.run()) as AddressInfo;
  const dynamoAddress = dynamo.address() as AddressInfo;
  return {
    dynamoEndpoint: `http://127.0.0.1:${dynamoAddress.port}`,
    s3Endpoint: `http://127.0.0.1:${s3Address.port}`,
    pids: [],
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => {
        dynamo.close(() => resolve());
        // dynalite keeps idle keep-alive sockets; close them so close() returns.
        (dynamo as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      if (where.temporary) await rm(where.root, { recursive: true, force: true });
    },
  };
}

const CHILD = fileURLToPath(new URL('./emulator-process.mjs', import.meta.url));

type ChildMessage = { type: 'ready'; port: number } | { type: 'failed'; message: string };

interface EmulatorChild {
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Forks one emulator (emulator-process.mjs) and waits until it listens. */
async function forkEmulator(name: string, spec: Record<string, unknown>): Promise<EmulatorChild> {
  const child = fork(CHILD, [JSON.stringify(spec)], {
    // Not this process's flags (tsx, test runners): the child is plain JavaScript. s3rver pages its
    // listings with a cipher OpenSSL 3 refuses without the legacy provider (facts.md).
    execArgv: ['--openssl-legacy-provider'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`The ${name} emulator exited before it was ready (${signal ?? `code ${code}`})`));
    child.once('error', reject);
    child.once('exit', onExit);
    child.on('message', (m: ChildMessage) => {
      child.off('exit', onExit);
      if (m.type === 'ready') resolve(m.port);
      else reject(new Error(`The ${name} emulator failed to start: ${m.message}`));
    });
  });
  // The child stays referenced only through its IPC channel: it must not keep this process alive.
  child.unref();
  (child as unknown as { channel?: { unref(): void } }).channel?.unref();
  let stopping: Promise<void> | undefined;
  return {
    port,
    process: child,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected) child.send({ type: 'stop' });
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

async function startProcesses(where: Layout, options: EmulatorOptions): Promise<Emulators> {
  const started = await Promise.allSettled([
    forkEmulator('DynamoDB', { kind: 'dynamo', port: options.dynamoPort ?? 0, path: where.dynamoDir }),
    forkEmulator('S3', {
      kind: 's3',
      port: options.s3Port ?? 0,
      directory: where.s3Dir,
      resetOnClose: where.temporary,
    }),
  ]);
  const children = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(children.map((c) => c.stop()));
    throw failed.reason;
  }
  const [dynamo, s3] = children as [EmulatorChild, EmulatorChild];
  return {
    dynamoEndpoint: `http://127.0.0.1:${dynamo.port}`,
    s3Endpoint: `http://127.0.0.1:${s3.port}`,
    pids: children.map((c) => c.process.pid ?? -1),
    async stop() {
      await Promise.all(children.map((c) => c.stop()));
      if (where.temporary) await rm(where.root, { recursive: true, force: true });
    },
  };
}
