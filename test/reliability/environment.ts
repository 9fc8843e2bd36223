/**
 * The systems under test: the local stack in process (optionally with the fault proxy between it and
 * the emulators, and another in front of its API), and the whole local stack as a child process that
 * can be killed with SIGKILL and started again on the same data folder.
 */

import type { ChildProcess } from 'node:child_process';
import type { StorageConfig } from '../../shared/config';
import { type Emulators, startEmulators } from '../../shared/local/emulators';
import { type LocalStack, startLocalStack } from '../../shared/local/stack';
import { type AwsClients, createAwsClients } from '../../shared/store/aws-clients';
import { spawnSluiceDev } from '../support/environment';
import type { DirectStorage } from './audit';
import { FaultProxy } from './fault-proxy';

export interface StackUnderTest {
  /** Where clients go: the API proxy when there is one, else the stack. */
  readonly url: string;
  readonly stack: LocalStack;
  /** Between the stack and the emulators. */
  readonly storageProxy?: FaultProxy;
  /** Between clients and the stack. */
  readonly apiProxy?: FaultProxy;
  /** Straight to the emulators, for the audit. */
  readonly direct: DirectStorage;
  /** Faults injected by both proxies. */
  faults(): number;
  stop(): Promise<void>;
}

const TABLES = {
  bucket: 'sluice-local',
  topicsTable: 'sluice-topics',
  logTable: 'sluice-log',
  groupsTable: 'sluice-groups',
};

export function directStorage(dynamoEndpoint: string, s3Endpoint: string): DirectStorage {
  const config: StorageConfig = { region: 'us-east-1', dynamoEndpoint, s3Endpoint, ...TABLES };
  return { config, clients: createAwsClients(config) };
}

function closeClients(clients: AwsClients) {
  clients.dynamo.destroy();
  clients.s3.destroy();
}

/** The in-memory local stack; with `storageFaults`, the fault proxy sits between it and the emulators. */
export async function startStack(
  options: { storageFaults?: boolean; apiFaults?: boolean; token?: string } = {},
): Promise<StackUnderTest> {
  let emulators: Emulators | undefined;
  let storageProxy: FaultProxy | undefined;
  let stack: LocalStack;
  let direct: DirectStorage;
  if (options.storageFaults) {
    emulators = await startEmulators();
    storageProxy = await FaultProxy.start({ dynamodb: emulators.dynamoEndpoint, s3: emulators.s3Endpoint });
    stack = await startLocalStack({
      port: 0,
      inMemory: true,
      quiet: true,
      endpoint: storageProxy.url,
      env: {},
      ...(options.token ? { token: options.token } : {}),
    });
    direct = directStorage(emulators.dynamoEndpoint, emulators.s3Endpoint);
  } else {
    stack = await startLocalStack({
      port: 0,
      inMemory: true,
      quiet: true,
      env: {},
      ...(options.token ? { token: options.token } : {}),
    });
    direct = directStorage(stack.config.dynamoEndpoint!, stack.config.s3Endpoint!);
  }
  const apiProxy = options.apiFaults ? await FaultProxy.start({ api: stack.url }) : undefined;
  return {
    url: apiProxy?.url ?? stack.url,
    stack,
    ...(storageProxy ? { storageProxy } : {}),
    ...(apiProxy ? { apiProxy } : {}),
    direct,
    faults: () => (storageProxy?.total ?? 0) + (apiProxy?.total ?? 0),
    async stop() {
      closeClients(direct.clients);
      await apiProxy?.stop();
      await stack.stop();
      await storageProxy?.stop();
      await emulators?.stop();
    },
  };
}

/** `sluice dev` in a child process, on a data folder that survives it. */
export class ChildStack {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  port = 0;

  constructor(
    readonly dataDir: string,
    /** Extra environment for `sluice dev` (e.g. SLUICE_TOKEN). */
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        // The port of the killed process may linger a moment.
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private spawnOnce(): Promise<void> {
    const child = spawnSluiceDev(
      ['--port', String(this.port), '--data-dir', this.dataDir, '--quiet', '--kafka-port', '0'],
      this.env,
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`sluice dev did not start: ${out} ${err}`));
      }, 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /ready at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          this.port = Number(match[1]);
          resolve();
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sluice dev exited with ${code}: ${err.slice(-2000)}`));
      });
    });
  }

  /** SIGKILL: no shutdown of any kind, mid-request. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /** A clean stop (SIGTERM). */
  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}
