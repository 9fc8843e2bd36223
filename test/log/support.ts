import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LogService, type LogServiceOptions } from '../../shared/log/log-service';
import { createAwsClients } from '../../shared/store/aws-clients';
import { DynamoLogStore, HEAD_SORT_KEY } from '../../shared/store/log-store';
import type { SegmentStore } from '../../shared/store/segment-store';
import { DynamoTopicStore } from '../../shared/store/topic-store';
import type { TestStorage } from '../support/storage';

/**
 * DynamoDB's size of an item (its billing and its 400 KB limit): attribute names plus values; a number
 * counts one byte per two significant digits plus one, a string its UTF-8 bytes, a boolean one byte.
 */
export function dynamoItemSize(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) {
      const digits = v.N.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
      return Math.ceil(Math.max(1, digits.length) / 2) + 1;
    }
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.B !== undefined) return v.B.length;
    if (v.L !== undefined) return 3 + v.L.reduce((sum, x) => sum + 1 + value(x), 0);
    if (v.M !== undefined) return 3 + dynamoItemSize(v.M);
    return 0;
  };
  return Object.entries(item).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + value(v), 0);
}

/** Counts DynamoDB calls by command and the capacity units DynamoDB (or dynalite) reports for them. */
export class CapacityMeter {
  calls = new Map<string, number>();
  units = 0;
  reset() {
    this.calls.clear();
    this.units = 0;
  }
  get total() {
    return [...this.calls.values()].reduce((a, b) => a + b, 0);
  }
  snapshot() {
    return { calls: Object.fromEntries([...this.calls].sort()), total: this.total, units: this.units };
  }
}

type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

/**
 * A LogService whose DynamoDB client asks for ReturnConsumedCapacity on every call and adds up what it
 * is told, beside the call counts.
 */
export function createMeteredLog(
  storage: TestStorage,
  segments: SegmentStore,
  options: LogServiceOptions = {},
): { log: LogService; meter: CapacityMeter; store: DynamoLogStore } {
  const meter = new CapacityMeter();
  const clients = createAwsClients(storage.config, { maxAttempts: 3 });
  const metering: Middleware = (next, context) => async (args) => {
    const name = context.commandName ?? 'unknown';
    meter.calls.set(name, (meter.calls.get(name) ?? 0) + 1);
    args.input.ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const consumed = result.output.ConsumedCapacity as
      | { CapacityUnits?: number }
      | { CapacityUnits?: number }[]
      | undefined;
    for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      meter.units += c.CapacityUnits ?? 0;
    }
    return result;
  };
  (
    clients.dynamo.middlewareStack as unknown as {
      add(m: Middleware, o: { step: string; name: string }): void;
    }
  ).add(metering, { step: 'initialize', name: 'capacityMeter' });
  const store = new DynamoLogStore(clients.dynamo, storage.config.logTable);
  const log = new LogService(
    new DynamoTopicStore(clients.dynamo, storage.config.topicsTable),
    store,
    segments,
    options,
  );
  return { log, meter, store };
}

/** A partition's head item exactly as stored. */
export async function rawHead(storage: TestStorage, logId: string): Promise<Record<string, AttributeValue>> {
  const result = await storage.clients.dynamo.send(
    new GetItemCommand({
      TableName: storage.config.logTable,
      Key: { pid: { S: logId }, sk: { N: String(HEAD_SORT_KEY) } },
      ConsistentRead: true,
    }),
  );
  if (!result.Item) throw new Error(`no head ${logId}`);
  return result.Item;
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i]!);
      }
    }),
  );
  return results;
}
