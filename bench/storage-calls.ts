/**
 * The bench's accounting of storage calls, made inside the process that calls: a middleware on the
 * stack's own DynamoDB and S3 clients counts every attempt (retries included, as on the wire) by
 * operation, with the DynamoDB capacity each consumed and the body bytes each way.
 *
 * It replaced a counting HTTP proxy in front of the emulators. The proxy was a hop of its own on every
 * call (a second loopback connection, a JSON parse and re-encode, a process competing for the same two
 * cores), so the stack it measured was slower than the one `npm start` runs. Counted here, the bench
 * runs the stack exactly as `npm start` does and counts the same calls (test/bench/storage-calls.test.ts).
 */
import type { AwsClients } from '../shared/store/aws-clients';

export interface OpCount {
  count: number;
  /** DynamoDB capacity consumed. */
  wru: number;
  rru: number;
  /** DynamoDB conditional checks that failed (each billed 1 WRU). */
  failed: number;
  /** Body bytes sent to and received from the service. */
  bytesIn: number;
  bytesOut: number;
}

export interface StorageCounters {
  dynamo: Record<string, OpCount>;
  s3: Record<string, OpCount>;
}

export const emptyOp = (): OpCount => ({ count: 0, wru: 0, rru: 0, failed: 0, bytesIn: 0, bytesOut: 0 });

export const READ_OPS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
export const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

type Capacity = { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;

function capacityUnits(c: Capacity): number {
  if (Array.isArray(c)) return c.reduce((sum, x) => sum + (x.CapacityUnits ?? 0), 0);
  return c?.CapacityUnits ?? 0;
}

function bodyBytes(body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return 0;
}

/** What a response said its body was; the body itself is a stream the caller reads. */
function contentLength(response: unknown): number {
  const headers = (response as { headers?: Record<string, string> } | undefined)?.headers;
  return Number.parseInt(headers?.['content-length'] ?? '0', 10) || 0;
}

/** The shape of an SDK middleware, as far as these need it. */
type Handler = (args: { input: object; request?: unknown }) => Promise<{ output: object; response: unknown }>;
type Middleware = (next: Handler, context: { commandName?: string }) => Handler;

/**
 * Counts the calls of both clients into `counters`. Call it before the clients' first call: the
 * clients cache their resolved middleware per command (`cacheMiddleware`).
 */
export function countStorageCalls(clients: AwsClients, counters: StorageCounters): void {
  // Ask DynamoDB for the capacity of every read and write (dynalite computes it as DynamoDB does).
  const askCapacity: Middleware = (next, context) => async (args) => {
    const op = String(context.commandName ?? '').replace(/Command$/, '');
    if (READ_OPS.has(op) || WRITE_OPS.has(op)) {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity ??= 'TOTAL';
    }
    return next(args);
  };
  // Inside the retry loop (the deserialize step), so each attempt counts, and outside the parser, so
  // the parsed output (its ConsumedCapacity) and the parsed error are at hand.
  const counting =
    (group: Record<string, OpCount>, dynamo: boolean): Middleware =>
    (next, context) =>
    async (args) => {
      const op = String(context.commandName ?? '').replace(/Command$/, '');
      const c = group[op] ?? emptyOp();
      group[op] = c;
      c.count++;
      c.bytesIn += bodyBytes((args.request as { body?: unknown } | undefined)?.body);
      try {
        const result = await next(args);
        c.bytesOut += contentLength(result.response);
        if (dynamo) {
          const units = capacityUnits((result.output as { ConsumedCapacity?: Capacity }).ConsumedCapacity);
          if (READ_OPS.has(op)) c.rru += units;
          else if (WRITE_OPS.has(op)) c.wru += units;
        }
        return result;
      } catch (err) {
        const e = err as { name?: string; $response?: unknown };
        c.bytesOut += contentLength(e.$response);
        if (dynamo && e.name === 'ConditionalCheckFailedException') {
          c.failed++;
          c.wru += 1;
        }
        throw err;
      }
    };
  // The SDK's middleware types are generic over each command's input and output; these read only what
  // every command has.
  clients.dynamo.middlewareStack.add(askCapacity as never, { step: 'initialize', name: 'benchAskCapacity' });
  clients.dynamo.middlewareStack.add(counting(counters.dynamo, true) as never, {
    step: 'deserialize',
    priority: 'high',
    name: 'benchCountDynamo',
  });
  clients.s3.middlewareStack.add(counting(counters.s3, false) as never, {
    step: 'deserialize',
    priority: 'high',
    name: 'benchCountS3',
  });
}
