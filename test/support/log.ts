import { encodeRecordBatch, type ProducerRecord } from '../../shared/codec/record-batch';
import { LogService, type LogServiceOptions } from '../../shared/log/log-service';
import { createAwsClients } from '../../shared/store/aws-clients';
import { DynamoLogStore } from '../../shared/store/log-store';
import { S3SegmentStore, type SegmentStore, type StoredObject } from '../../shared/store/segment-store';
import { DynamoTopicStore } from '../../shared/store/topic-store';
import type { TestStorage } from './storage';

/** Counts AWS calls by command name, as the SDK sends them (retries not counted twice). */
export class CallCounter {
  counts = new Map<string, number>();
  reset() {
    this.counts.clear();
  }
  get(name: string) {
    return this.counts.get(name) ?? 0;
  }
  total(prefix: 'dynamo' | 's3') {
    const dynamo = ['GetItem', 'PutItem', 'UpdateItem', 'Query', 'DeleteItem', 'BatchWriteItem', 'Scan'];
    let sum = 0;
    for (const [name, count] of this.counts) {
      const isDynamo = dynamo.some((d) => name === `${d}Command`);
      if ((prefix === 'dynamo') === isDynamo) sum += count;
    }
    return sum;
  }
}

type Middleware = (
  next: (args: unknown) => Promise<unknown>,
  context: { commandName?: string },
) => (args: unknown) => Promise<unknown>;

/** A hook run around every AWS request as sent on the wire (inside the SDK's retry loop), with its input. */
export type WireHook = (
  commandName: string,
  send: () => Promise<unknown>,
  input: Record<string, unknown>,
) => Promise<unknown>;

export interface LogHarness {
  readonly log: LogService;
  readonly calls: CallCounter;
  /** Set to inject faults on the wire; undefined for none. */
  wire: WireHook | undefined;
}

/**
 * A LogService over the test storage with its own AWS clients, instrumented: every command is
 * counted, and `wire` can fail or lose any request (the SDK then retries as it would in production).
 */
export function createLogHarness(
  storage: TestStorage,
  options: LogServiceOptions & { segments?: SegmentStore } = {},
): LogHarness {
  const calls = new CallCounter();
  const harness: LogHarness = { log: undefined as unknown as LogService, calls, wire: undefined };
  const counting: Middleware = (next, context) => async (args) => {
    const name = context.commandName ?? 'unknown';
    calls.counts.set(name, (calls.counts.get(name) ?? 0) + 1);
    return next(args);
  };
  const faulty: Middleware = (next, context) => async (args) => {
    const hook = harness.wire;
    const input = ((args as { input?: Record<string, unknown> }).input ?? {}) as Record<string, unknown>;
    return hook ? hook(context.commandName ?? 'unknown', () => next(args), input) : next(args);
  };
  // Clients of its own, so that each harness's counters and faults see only its own calls.
  const clients = createAwsClients(storage.config, { maxAttempts: 3 });
  for (const client of [clients.dynamo, clients.s3]) {
    const stack = client.middlewareStack as unknown as {
      add(m: Middleware, o: { step: string; name: string; override?: boolean }): void;
    };
    stack.add(counting, { step: 'initialize', name: 'sluiceCallCounter', override: true });
    stack.add(faulty, { step: 'deserialize', name: 'sluiceWireFaults', override: true });
  }
  (harness as { log: LogService }).log = new LogService(
    new DynamoTopicStore(clients.dynamo, storage.config.topicsTable),
    new DynamoLogStore(clients.dynamo, storage.config.logTable),
    options.segments ?? new S3SegmentStore(clients.s3, storage.config.bucket),
    options,
  );
  return harness;
}

let unique = 0;
export const uniqueTopic = (prefix = 't') => `${prefix}-${Date.now().toString(36)}-${unique++}`;

export function batchOf(values: string[], options: Parameters<typeof encodeRecordBatch>[1] = {}): Buffer {
  const records: ProducerRecord[] = values.map((v, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
    value: Buffer.from(v),
    headers: [{ key: 'h', value: Buffer.from(v.slice(0, 3)) }],
    timestamp: 1_764_288_000_000 + i,
  }));
  return encodeRecordBatch(records, { compression: 'lz4', ...options });
}

/** An error the SDK classifies as transient and retries: a response lost on the way back. */
export function lostResponse(): Error {
  return Object.assign(new Error('socket hang up (response lost)'), {
    name: 'TimeoutError',
    code: 'ECONNRESET',
  });
}

/**
 * Segment objects in memory: for tests of the DynamoDB side of the protocol under heavy concurrency,
 * where s3rver's filesystem writes would only slow the run down.
 */
export class MemorySegmentStore implements SegmentStore {
  readonly objects = new Map<string, { body: Buffer; at: number }>();
  async put(key: string, body: Buffer) {
    this.objects.set(key, { body: Buffer.from(body), at: Date.now() });
  }
  async getRange(key: string, start: number, end: number) {
    const object = this.objects.get(key);
    if (!object) throw new Error(`no object ${key}`);
    return Buffer.from(object.body.subarray(start, end));
  }
  async *list(prefix: string): AsyncIterable<StoredObject> {
    for (const [key, o] of this.objects) {
      if (key.startsWith(prefix)) yield { key, size: o.body.length, lastModified: o.at };
    }
  }
  async deleteMany(keys: readonly string[]) {
    for (const key of keys) this.objects.delete(key);
  }
}
