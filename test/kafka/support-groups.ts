/**
 * Test support for Kafka groups: the local stack in-process (in memory, ephemeral ports) with a Kafka
 * listener whose group coordinator is tuned for tests (a short initial rebalance delay, fast polling).
 */
import { spawn } from 'node:child_process';
import { createServices, type Services } from '../../shared/api/services';
import type { ClassicCoordinatorOptions } from '../../shared/groups/classic/coordinator';
import { KafkaListener } from '../../shared/kafka/listener';
import { startEphemeralStack } from '../../shared/local/ephemeral';
import type { LocalStack } from '../../shared/local/stack';
import { createAwsClients } from '../../shared/store/aws-clients';
import { startedForAll } from '../support/lifecycle';

export interface GroupsTestStack {
  readonly stack: LocalStack;
  readonly services: Services;
  readonly listeners: KafkaListener[];
  /** `127.0.0.1:<port>` of the first listener. */
  readonly bootstrap: string;
  /** Starts one more listener on its own services (as another process would be): another door to the same groups. */
  addListener(): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_GROUP_OPTIONS: ClassicCoordinatorOptions = {
  initialRebalanceDelayMs: 500,
  pollIntervalMs: 50,
};

export async function startGroupsTestStack(
  options: ClassicCoordinatorOptions = {},
): Promise<GroupsTestStack> {
  const stack = await startEphemeralStack();
  const clients = createAwsClients(stack.config);
  const make = () =>
    createServices(stack.config, clients, { classicGroups: { ...TEST_GROUP_OPTIONS, ...options } });
  const services = make();
  const listeners: KafkaListener[] = [];
  const add = async (s: Services) => {
    const listener = new KafkaListener({
      services: s,
      host: '127.0.0.1',
      port: 0,
      lingerMs: 2,
      ...(process.env.KAFKA_LOG ? { log: (e: unknown) => console.error('SERVER', JSON.stringify(e)) } : {}),
    });
    const { port } = await listener.start();
    listeners.push(listener);
    return `127.0.0.1:${port}`;
  };
  const bootstrap = await add(services);
  return {
    stack,
    services,
    listeners,
    bootstrap,
    addListener: () => add(make()),
    async stop() {
      await Promise.all(listeners.map((l) => l.close()));
      // Handlers still running (a JoinGroup polling its group) finish before the emulators go.
      await new Promise((r) => setTimeout(r, 500));
      clients.dynamo.destroy();
      clients.s3.destroy();
      await stack.stop();
    },
  };
}

/**
 * The groups test stack for the enclosing describe, and the list of the clients its tests start: after
 * the tests each is killed and awaited, then the stack stops.
 */
export function groupsTestStackForAll(options: ClassicCoordinatorOptions = {}): {
  readonly stack: GroupsTestStack;
  readonly children: Child[];
} {
  const children: Child[] = [];
  const stack = startedForAll(
    () => startGroupsTestStack(options),
    async (t) => {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await t.stop();
    },
    30_000,
  );
  return { stack, children };
}

export interface Child {
  readonly lines: string[];
  /** Resolves with the first line matching, or rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs a command, collecting stdout lines; stderr is kept for failure messages. */
export function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Child & { stderr: () => string } {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const l of [...listeners]) l();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines,
    exited,
    stderr: () => stderr,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit !== undefined) {
            clearTimeout(timer);
            listeners.splice(listeners.indexOf(check), 1);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          listeners.splice(listeners.indexOf(check), 1);
          reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        listeners.push(check);
        check();
      });
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
