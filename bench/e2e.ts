/**
 * End-to-end benchmark of the local stack over HTTP, with request accounting.
 *
 * The server side runs in a child process (this file with `--serve`): `startLocalStack` — the `npm start`
 * server, the same Lambda handlers behind the local gateway, with dynalite and s3rver each in a process of
 * their own — exactly as `npm start` runs it. Its own AWS clients count every DynamoDB and S3 call by
 * operation, each attempt (retries included), and ask DynamoDB for the capacity each call consumed
 * (bench/storage-calls.ts; dynalite computes it from item sizes as DynamoDB does: 1 WRU per KB written,
 * 1 RRU per 4 KB read strongly consistently, 0.5 eventually). A conditional write that fails is counted
 * as 1 WRU, as DynamoDB bills it. The gateway's request log counts every API request by operation. The
 * client side (this process) is a minimal Kafka-style client over the binary API (`POST /v1/produce`,
 * `POST /v1/fetch`, `/v1/groups/…`).
 *
 * Phases, each bounded in time:
 *   throughput   1 and 4 closed-loop producers, one 256 KB request in flight each, per workload
 *   catch-up     one group consumer reads the throughput topic from offset 0
 *   latency      a paced producer (lingerMs) and a tailing group consumer (long poll)
 *   idle         a group consumer long-polling a topic nobody writes to
 *
 *   node --openssl-legacy-provider --import tsx bench/e2e.ts [--latency | --latency-only]
 */
import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CONSUMER_DEFAULTS, Sluice } from '../client';
import {
  decodeFetchResponse,
  decodeProduceResponse,
  encodeFetchRequest,
  encodeProduceRequest,
  FRAME_CONTENT_TYPE,
} from '../shared/api/framing';
import { matchRoute } from '../shared/api/router';
import {
  type DecodedRecord,
  decodeRecordBatches,
  encodeRecordBatch,
  type ProducerRecord,
  partitionForKey,
} from '../shared/codec';
import type { StorageConfig } from '../shared/config';
import { startLocalStack } from '../shared/local/stack';
import type { FetchPartitionResult, ProducePartitionRequest } from '../shared/model';
import { createAwsClients } from '../shared/store/aws-clients';
import { countStorageCalls, emptyOp, type OpCount, type StorageCounters } from './storage-calls';
import { type BenchEvent, generateEvents, type WorkloadName } from './workloads';

// ————————————————————————————————————————————— accounting (server side)

export interface Counters extends StorageCounters {
  api: Record<string, { count: number; ms: number }>;
}

const newCounters = (): Counters => ({ api: {}, dynamo: {}, s3: {} });

function readAll(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Counts one line of the gateway's request log: `<iso> <METHOD> <path?query> <status> <n>B <ms>ms`. */
function countApiLine(line: string, counters: Counters): void {
  const [, method, target, , , ms] = line.split(' ');
  if (!method || !target) return;
  const path = target.split('?')[0] ?? target;
  let operation = 'unmatched';
  try {
    operation = matchRoute(method, path).route.operation;
  } catch {
    // counted as unmatched
  }
  const c = counters.api[operation] ?? { count: 0, ms: 0 };
  counters.api[operation] = c;
  c.count++;
  c.ms += Number.parseInt(ms ?? '0', 10) || 0;
}

type ServerMessage =
  | { type: 'ready'; url: string }
  | { type: 'counters'; id: number; counters: Counters }
  | { type: 'floor'; id: number; floor: StorageFloor }
  | { type: 'usage'; id: number; usage: ProcessUsage };
type ParentMessage =
  | { type: 'snapshot'; id: number }
  | { type: 'floor'; id: number }
  | { type: 'usage'; id: number }
  | { type: 'stop' };

/**
 * The server side (`--serve`): `startLocalStack`, the `npm start` server with its emulators each in a
 * process of their own, in memory; its storage calls counted by its own clients.
 */
async function serve(): Promise<void> {
  const counters = newCounters();
  const stack = await startLocalStack({
    port: 0,
    inMemory: true,
    quiet: false,
    log: (line) => countApiLine(line, counters),
    env: {},
    instrument: (clients) => countStorageCalls(clients, counters),
    // The emulators are this stack's own, as `npm start`'s are its own.
    soleWriter: true,
  });
  const send = (m: ServerMessage) => process.send?.(m);
  process.on('message', async (m: ParentMessage) => {
    if (m.type === 'snapshot') send({ type: 'counters', id: m.id, counters: structuredClone(counters) });
    if (m.type === 'floor') send({ type: 'floor', id: m.id, floor: await measureStorageFloor(stack.config) });
    if (m.type === 'usage') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      send({
        type: 'usage',
        id: m.id,
        usage: { cpuMs: (cpu.user + cpu.system) / 1000, idleMs: elu.idle, activeMs: elu.active },
      });
    }
    if (m.type === 'stop') {
      await stack.stop();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url: stack.url });
}

/** Per-call latency of today's produce and fetch call sequences, made one at a time on an idle stack. */
export interface StorageFloor {
  readonly samples: number;
  /** p50 of each call, ms. */
  readonly calls: Record<string, number>;
  /** p50 of the whole sequence of a produce (S3 PUT + 3 DynamoDB writes) and of a tail fetch (GetItem + Query + S3 GET). */
  readonly produceMs: number;
  readonly fetchMs: number;
}

/**
 * The floor: the calls an uncontended produce makes (S3 PutObject of a small object, then the append's
 * reserve UpdateItem, commit PutItem and advance UpdateItem) and those of a tail fetch (head GetItem,
 * index Query, S3 GetObject of the range), one after another through the same SDK configuration and
 * emulators as the stack, on a scratch partition. Nothing runs beside them.
 */
async function measureStorageFloor(config: StorageConfig, samples = 40): Promise<StorageFloor> {
  const clients = createAwsClients(config);
  const logId = `floor-${Date.now().toString(36)}#0`;
  const body = Buffer.alloc(1024, 7);
  const table = config.logTable;
  const series: Record<string, number[]> = {};
  const produce: number[] = [];
  const fetch: number[] = [];
  const time = async (name: string, call: () => Promise<unknown>) => {
    const t0 = performance.now();
    await call();
    const ms = performance.now() - t0;
    const list = series[name] ?? [];
    series[name] = list;
    list.push(ms);
    return ms;
  };
  try {
    await clients.dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: { pid: { S: logId }, sk: { N: '-1' }, logEndOffset: { N: '0' }, highWatermark: { N: '0' } },
      }),
    );
    for (let i = 0; i < samples + 5; i++) {
      const key = `floor/${logId}/${i}`;
      let ms = await time('S3 PutObject', () =>
        clients.s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body })),
      );
      ms += await time('DynamoDB UpdateItem (reserve)', () =>
        clients.dynamo.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pid: { S: logId }, sk: { N: '-1' } },
            UpdateExpression: 'SET logEndOffset = logEndOffset + :n',
            ExpressionAttributeValues: { ':n': { N: '1' } },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      ms += await time('DynamoDB PutItem (commit)', () =>
        clients.dynamo.send(
          new PutItemCommand({
            TableName: table,
            Item: { pid: { S: logId }, sk: { N: String(i) }, objectKey: { S: key }, size: { N: '1024' } },
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        ),
      );
      ms += await time('DynamoDB UpdateItem (advance)', () =>
        clients.dynamo.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pid: { S: logId }, sk: { N: '-1' } },
            UpdateExpression: 'SET highWatermark = :next',
            ConditionExpression: 'highWatermark = :base',
            ExpressionAttributeValues: { ':base': { N: String(i) }, ':next': { N: String(i + 1) } },
          }),
        ),
      );
      let fetchMs = await time('DynamoDB GetItem (head)', () =>
        clients.dynamo.send(
          new GetItemCommand({
            TableName: table,
            Key: { pid: { S: logId }, sk: { N: '-1' } },
            ConsistentRead: true,
          }),
        ),
      );
      fetchMs += await time('DynamoDB Query (entries)', () =>
        clients.dynamo.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pid = :pid AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pid': { S: logId },
              ':from': { N: String(i) },
              ':to': { N: String(i) },
            },
            ConsistentRead: true,
          }),
        ),
      );
      fetchMs += await time('S3 GetObject (range)', async () => {
        const answer = await clients.s3.send(
          new GetObjectCommand({ Bucket: config.bucket, Key: key, Range: 'bytes=0-1023' }),
        );
        await answer.Body!.transformToByteArray();
      });
      if (i >= 5) {
        produce.push(ms);
        fetch.push(fetchMs);
      }
    }
  } finally {
    clients.dynamo.destroy();
    clients.s3.destroy();
  }
  // The first five rounds warm connections and caches.
  const calls = Object.fromEntries(
    Object.entries(series).map(([name, xs]) => [name, percentile(xs.slice(5), 50)]),
  );
  return { samples, calls, produceMs: percentile(produce, 50), fetchMs: percentile(fetch, 50) };
}

/** CPU time and event-loop busy/idle time of the API's process, cumulative. */
export interface ProcessUsage {
  readonly cpuMs: number;
  readonly activeMs: number;
  readonly idleMs: number;
}

export interface LocalServer {
  readonly url: string;
  counters(): Promise<Counters>;
  /** The API process's CPU and event-loop use so far. */
  usage(): Promise<ProcessUsage>;
  /** The floor of the storage calls, measured from the API's process. */
  storageFloor(): Promise<StorageFloor>;
  stop(): Promise<void>;
}

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  ask<T>(message: ParentMessage & { id: number }, pick: (m: ServerMessage) => T | undefined): Promise<T>;
  stop(): Promise<void>;
}

async function forkChild(args: string[]): Promise<Child> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), args, {
    // SLUICE_BENCH_CPU_PROF=<dir>: a V8 CPU profile of each child, for finding where the time goes.
    execArgv: [
      '--openssl-legacy-provider',
      '--import',
      'tsx',
      ...(process.env.SLUICE_BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_CPU_PROF}`]
        : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench child ${args[0]} exited with ${code}`)));
    child.on('message', (m: ServerMessage) => {
      if (m.type === 'ready') resolve(m.url);
    });
  });
  return {
    process: child,
    url,
    ask(message, pick) {
      return new Promise((resolve) => {
        const onMessage = (m: ServerMessage) => {
          if (!('id' in m) || m.id !== message.id) return;
          const value = pick(m);
          if (value === undefined) return;
          child.off('message', onMessage);
          resolve(value);
        };
        child.on('message', onMessage);
        child.send(message);
      });
    },
    async stop() {
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' } satisfies ParentMessage);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill();
    },
  };
}

/** Starts the server side in a child process: the local stack, its emulators in processes of their own. */
export async function startServer(): Promise<LocalServer> {
  const api = await forkChild(['--serve']);
  let nextId = 0;
  return {
    url: api.url,
    counters() {
      return api.ask({ type: 'snapshot', id: nextId++ }, (m) =>
        m.type === 'counters' ? m.counters : undefined,
      );
    },
    usage() {
      return api.ask({ type: 'usage', id: nextId++ }, (m) => (m.type === 'usage' ? m.usage : undefined));
    },
    storageFloor() {
      return api.ask({ type: 'floor', id: nextId++ }, (m) => (m.type === 'floor' ? m.floor : undefined));
    },
    stop() {
      return api.stop();
    },
  };
}

/** What happened between two snapshots. */
export function diffCounters(after: Counters, before: Counters): Counters {
  const diff = newCounters();
  for (const [name, c] of Object.entries(after.api)) {
    const b = before.api[name] ?? { count: 0, ms: 0 };
    if (c.count > b.count) diff.api[name] = { count: c.count - b.count, ms: c.ms - b.ms };
  }
  for (const service of ['dynamo', 's3'] as const) {
    for (const [name, c] of Object.entries(after[service])) {
      const b = before[service][name] ?? emptyOp();
      if (c.count === b.count) continue;
      diff[service][name] = {
        count: c.count - b.count,
        wru: c.wru - b.wru,
        rru: c.rru - b.rru,
        failed: c.failed - b.failed,
        bytesIn: c.bytesIn - b.bytesIn,
        bytesOut: c.bytesOut - b.bytesOut,
      };
    }
  }
  return diff;
}

export interface Totals {
  apiRequests: number;
  dynamoCalls: number;
  wru: number;
  rru: number;
  s3Puts: number;
  s3Gets: number;
  s3Other: number;
}

export function totals(c: Counters): Totals {
  const sum = (xs: OpCount[], f: (x: OpCount) => number) => xs.reduce((s, x) => s + f(x), 0);
  const dynamo = Object.values(c.dynamo);
  const s3 = (name: string) => c.s3[name]?.count ?? 0;
  const s3All = sum(Object.values(c.s3), (x) => x.count);
  return {
    apiRequests: Object.values(c.api).reduce((s, x) => s + x.count, 0),
    dynamoCalls: sum(dynamo, (x) => x.count),
    wru: sum(dynamo, (x) => x.wru),
    rru: sum(dynamo, (x) => x.rru),
    s3Puts: s3('PutObject'),
    s3Gets: s3('GetObject'),
    s3Other: s3All - s3('PutObject') - s3('GetObject'),
  };
}

// ————————————————————————————————————————————— client side

interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

/** A minimal client of the HTTP API: keep-alive connections, binary framing, JSON for the rest. */
export class Api {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly base: URL;
  requests = 0;

  constructor(url: string) {
    this.base = new URL(url);
  }

  request(method: string, path: string, body?: Buffer, type?: string, accept?: string): Promise<Answer> {
    this.requests++;
    return this.send(method, path, body, type, accept);
  }

  private send(
    method: string,
    path: string,
    body?: Buffer,
    type?: string,
    accept?: string,
    retried = false,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (body) {
        headers['content-type'] = type ?? 'application/json';
        headers['content-length'] = String(body.length);
      }
      if (accept) headers.accept = accept;
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, method, path, headers, agent: this.agent },
        (res) => {
          readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b }), reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed as this request went out (Node's documented race):
        // nothing was processed, so send it once more on a fresh socket.
        if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) {
          this.send(method, path, body, type, accept, true).then(resolve, reject);
        } else reject(err);
      });
      req.end(body);
    });
  }

  async json<T>(method: string, path: string, value?: unknown): Promise<T> {
    const answer = await this.request(
      method,
      path,
      value === undefined ? undefined : Buffer.from(JSON.stringify(value)),
      'application/json',
      'application/json',
    );
    if (answer.status >= 400) {
      throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body.toString('utf8')}`);
    }
    return (answer.body.length > 0 ? JSON.parse(answer.body.toString('utf8')) : undefined) as T;
  }

  async produce(parts: readonly ProducePartitionRequest[]) {
    const answer = await this.request(
      'POST',
      '/v1/produce',
      encodeProduceRequest(parts),
      FRAME_CONTENT_TYPE,
      FRAME_CONTENT_TYPE,
    );
    if (answer.status >= 400) throw new Error(`produce answered ${answer.status}: ${answer.body.toString()}`);
    const results = decodeProduceResponse(answer.body);
    for (const r of results) if (r.error) throw r.error;
    return results;
  }

  async fetch(
    partitions: { topic: string; partition: number; offset: number }[],
    options: { maxWaitMs: number; minBytes: number; maxBytes: number },
  ): Promise<FetchPartitionResult[]> {
    const body = encodeFetchRequest({ partitions, ...options });
    const answer = await this.request('POST', '/v1/fetch', body, FRAME_CONTENT_TYPE, FRAME_CONTENT_TYPE);
    if (answer.status >= 400) throw new Error(`fetch answered ${answer.status}: ${answer.body.toString()}`);
    return decodeFetchResponse(answer.body);
  }

  createTopic(name: string, partitions: number) {
    return this.json('POST', '/v1/topics', { name, partitions });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Records of one request, split by Kafka's key partitioner, one batch per partition. */
function buildRequest(
  topic: string,
  partitions: number,
  records: readonly ProducerRecord[],
  compression: 'none' | 'lz4' | 'gzip',
): ProducePartitionRequest[] {
  const byPartition = new Map<number, ProducerRecord[]>();
  for (const r of records) {
    const p = r.key ? partitionForKey(r.key, partitions) : 0;
    const list = byPartition.get(p) ?? [];
    byPartition.set(p, list);
    list.push(r);
  }
  return [...byPartition].map(([partition, list]) => ({
    topic,
    partition,
    batches: encodeRecordBatch(list, { compression }),
  }));
}

const payloadBytes = (e: BenchEvent) => e.key.length + e.value.length;

/** Pre-built produce requests of ~`requestBytes` uncompressed bytes each, so that encoding is not timed. */
function buildRequestPool(
  topic: string,
  partitions: number,
  events: readonly BenchEvent[],
  requestBytes: number,
): { parts: ProducePartitionRequest[]; records: number; bytes: number }[] {
  const pool: { parts: ProducePartitionRequest[]; records: number; bytes: number }[] = [];
  let batch: ProducerRecord[] = [];
  let size = 0;
  const now = Date.now();
  for (const e of events) {
    batch.push({ key: e.key, value: e.value, timestamp: now });
    size += payloadBytes(e);
    if (size >= requestBytes) {
      pool.push({ parts: buildRequest(topic, partitions, batch, 'lz4'), records: batch.length, bytes: size });
      batch = [];
      size = 0;
    }
  }
  return pool;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** A one-member consumer group: join, long-poll fetch, heartbeat, commit every commitIntervalMs, leave. */
class GroupConsumer {
  private memberId = '';
  private generation = 0;
  private assignment: TopicPartitionRef[] = [];
  private readonly positions = new Map<number, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  private lastCommit = 0;
  heartbeatIntervalMs = 0;
  fetches = 0;
  /** Partition results that carried records, summed over fetches. */
  partitionsWithData = 0;
  records = 0;
  payloadBytes = 0;
  fetchedBytes = 0;

  constructor(
    private readonly api: Api,
    private readonly group: string,
    private readonly topic: string,
    private readonly options: {
      maxWaitMs: number;
      minBytes: number;
      maxBytes: number;
      commitIntervalMs: number;
      onRecord?: (record: DecodedRecord, receivedAt: number) => void;
    },
  ) {}

  async start(): Promise<void> {
    const joined = await this.api.json<{
      memberId: string;
      generation: number;
      assignment: TopicPartitionRef[];
      heartbeatIntervalMs: number;
    }>('POST', `/v1/groups/${this.group}/members`, {
      topics: [this.topic],
      sessionTimeoutMs: CONSUMER_DEFAULTS.sessionTimeoutMs,
    });
    this.memberId = joined.memberId;
    this.generation = joined.generation;
    await this.assign(joined.assignment);
    this.heartbeatIntervalMs = joined.heartbeatIntervalMs;
    this.heartbeat = setInterval(() => {
      this.beat().catch(() => undefined);
    }, joined.heartbeatIntervalMs);
  }

  private async assign(assignment: TopicPartitionRef[]): Promise<void> {
    this.assignment = assignment.filter((tp) => tp.topic === this.topic);
    const missing = this.assignment.filter((tp) => !this.positions.has(tp.partition));
    if (missing.length === 0) return;
    const committed = await this.api.json<{ offsets: { partition: number; offset: number }[] }>(
      'GET',
      `/v1/groups/${this.group}/offsets?topic=${this.topic}`,
    );
    for (const tp of missing) {
      const c = committed.offsets.find((o) => o.partition === tp.partition);
      this.positions.set(tp.partition, c?.offset ?? 0);
    }
  }

  pauseHeartbeats(): void {
    clearInterval(this.heartbeat);
  }

  async beat(): Promise<void> {
    const answer = await this.api.json<{ generation: number; assignment: TopicPartitionRef[] }>(
      'POST',
      `/v1/groups/${this.group}/members/${this.memberId}/heartbeat`,
      { generation: this.generation, owned: this.assignment },
    );
    this.generation = answer.generation;
    await this.assign(answer.assignment);
  }

  /** One fetch; true when it returned records. */
  async poll(): Promise<boolean> {
    if (this.assignment.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      return false;
    }
    const results = await this.api.fetch(
      this.assignment.map((tp) => ({ ...tp, offset: this.positions.get(tp.partition) ?? 0 })),
      { maxWaitMs: this.options.maxWaitMs, minBytes: this.options.minBytes, maxBytes: this.options.maxBytes },
    );
    this.fetches++;
    const receivedAt = Date.now();
    let got = false;
    for (const r of results) {
      if (r.error) throw r.error;
      const from = this.positions.get(r.partition) ?? 0;
      this.fetchedBytes += r.records.length;
      if (r.records.length > 0) this.partitionsWithData++;
      for (const batch of decodeRecordBatches(r.records).batches) {
        for (const record of batch.records) {
          if (record.offset < from) continue;
          got = true;
          this.records++;
          this.payloadBytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
          this.options.onRecord?.(record, receivedAt);
        }
      }
      this.positions.set(r.partition, r.nextOffset);
    }
    if (Date.now() - this.lastCommit >= this.options.commitIntervalMs) await this.commit();
    return got;
  }

  position(partition: number): number {
    return this.positions.get(partition) ?? 0;
  }

  async commit(): Promise<void> {
    this.lastCommit = Date.now();
    await this.api.json('POST', `/v1/groups/${this.group}/offsets`, {
      memberId: this.memberId,
      generation: this.generation,
      offsets: [...this.positions].map(([partition, offset]) => ({ topic: this.topic, partition, offset })),
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.commit();
    await this.api.json('DELETE', `/v1/groups/${this.group}/members/${this.memberId}`);
  }
}

// ————————————————————————————————————————————— phases

export const E2E_WORKLOADS: readonly WorkloadName[] = ['webAccessLog', 'iotReading', 'orderEvent'];

export interface E2EOptions {
  /** Seconds per throughput row. @default 5 */
  readonly throughputSeconds?: number;
  /** Seconds of the latency phase. @default 8 */
  readonly latencySeconds?: number;
  /**
   * Seconds of the latency phase's load run first and not measured, on a topic of its own, so that the
   * floor and the latencies are those of a warm process, as a running `npm start` is: V8 compiles the
   * call paths after some thousand calls, and cold they cost up to 4× as much CPU (a GetItem measured
   * alone: 2.1 ms of the caller's CPU over its first 1,000 calls, 0.5 ms from the 4,000th). @default 4
   */
  readonly latencyWarmupSeconds?: number;
  /** Seconds of the idle long-poll phase. @default 4 */
  readonly idleSeconds?: number;
  /** Uncompressed bytes per produce request in the throughput phase. @default 256 KiB */
  readonly requestBytes?: number;
  readonly partitions?: number;
  readonly workloads?: readonly WorkloadName[];
  /** The latency phase's producer: records per second, lingerMs, requests in flight. @default 200, 5, 1 */
  readonly latencyProducer?: { recordsPerSec: number; lingerMs: number; maxInFlight: number };
  /**
   * Requests in flight of a second latency phase, the same producer otherwise, measured beside the
   * first (its peer: Kafka's max.in.flight.requests.per.connection default); 0 for none. @default 5
   */
  readonly pipelinedInFlight?: number;
  readonly log?: (line: string) => void;
}

export interface ThroughputRow {
  readonly workload: WorkloadName;
  readonly producers: number;
  readonly requests: number;
  readonly records: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
}

export interface CatchUpRow {
  readonly workload: WorkloadName;
  readonly records: number;
  readonly fetches: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  /** Stored (compressed) bytes read per second. */
  readonly storedMbPerSec: number;
}

/** Request accounting of one workload: what one produce request and one catch-up fetch cost. */
export interface WorkloadAccounting {
  readonly workload: WorkloadName;
  readonly partitions: number;
  readonly produce: {
    requests: number;
    /** Partitions written per request, summed over requests. */
    partitionBatches: number;
    records: number;
    payloadBytes: number;
    counters: Counters;
  };
  readonly catchUp: { fetches: number; records: number; payloadBytes: number; counters: Counters };
}

export interface LatencyResult {
  readonly workload: WorkloadName;
  readonly recordsPerSec: number;
  readonly lingerMs: number;
  readonly maxInFlight: number;
  readonly maxWaitMs: number;
  readonly records: number;
  readonly produceRequests: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
  readonly e2eP50Ms: number;
  readonly e2eP99Ms: number;
  readonly e2eMaxMs: number;
  readonly seconds: number;
  readonly fetches: number;
  readonly partitionsWithData: number;
  readonly counters: Counters;
  /** The API process during the phase: CPU ms per second of wall time, and its event loop's busy share. */
  readonly api: { readonly cpuMsPerSecond: number; readonly eventLoopUtilization: number };
  /** Seconds of the same load run just before, not measured (see E2EOptions.latencyWarmupSeconds). */
  readonly warmupSeconds: number;
}

export interface IdleResult {
  /** Calls of 5 heartbeats and of 5 offset commits (one per partition each), measured alone. */
  readonly heartbeats: { count: number; counters: Counters };
  readonly commits: { count: number; partitions: number; counters: Counters };
  readonly heartbeatIntervalMs: number;
  readonly seconds: number;
  readonly partitions: number;
  readonly maxWaitMs: number;
  readonly fetches: number;
  readonly counters: Counters;
}

/** The floor of today's call sequence, measured in the same run as the latency phase. */
export interface FloorResult {
  readonly storage: StorageFloor;
  /** p50 of a request to the gateway that no handler serves (404): the HTTP hop alone. */
  readonly httpHopMs: number;
}

export interface E2EResult {
  readonly throughput: ThroughputRow[];
  readonly catchUp: CatchUpRow[];
  readonly accounting: WorkloadAccounting[];
  readonly latency: LatencyResult;
  /** The same latency phase with `pipelinedInFlight` requests in flight, run right after it. */
  readonly pipelined?: LatencyResult;
  readonly floor: FloorResult;
  readonly idle: IdleResult;
  readonly requestBytes: number;
  readonly partitions: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function closedLoopProducers(
  api: Api,
  pool: ReturnType<typeof buildRequestPool>,
  producers: number,
  seconds: number,
) {
  const deadline = performance.now() + seconds * 1000;
  const ackMs: number[] = [];
  let requests = 0;
  let records = 0;
  let bytes = 0;
  let partitionBatches = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (performance.now() < deadline) {
        const request = pool[next++ % pool.length]!;
        const t0 = performance.now();
        await api.produce(request.parts);
        ackMs.push(performance.now() - t0);
        requests++;
        records += request.records;
        bytes += request.bytes;
        partitionBatches += request.parts.length;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { requests, records, bytes, partitionBatches, elapsed, ackMs };
}

export async function runE2EBench(options: E2EOptions = {}): Promise<E2EResult> {
  const result = await runPhases(options, true);
  return { ...result, idle: result.idle! };
}

/** Only the throughput rows (no catch-up) and the latency phase with its floor: `bench/e2e.ts --latency`. */
export function runLatencyBench(options: E2EOptions = {}): Promise<LatencyBenchResult> {
  return runPhases(options, false);
}

export type LatencyBenchResult = Omit<E2EResult, 'idle'> & { readonly idle?: IdleResult };

async function runPhases(options: E2EOptions, full: boolean): Promise<LatencyBenchResult> {
  const log = options.log ?? (() => undefined);
  const throughputSeconds = options.throughputSeconds ?? 5;
  const latencySeconds = options.latencySeconds ?? 8;
  const warmupSeconds = options.latencyWarmupSeconds ?? 4;
  const idleSeconds = options.idleSeconds ?? 4;
  const requestBytes = options.requestBytes ?? 256 * 1024;
  const partitions = options.partitions ?? 4;
  const workloads = options.workloads ?? E2E_WORKLOADS;
  const server = await startServer();
  const api = new Api(server.url);
  const run = Date.now().toString(36);
  try {
    const throughput: ThroughputRow[] = [];
    const catchUp: CatchUpRow[] = [];
    const accounting: WorkloadAccounting[] = [];
    for (const workload of workloads) {
      const topic = `bench-${workload}-${run}`;
      await api.createTopic(topic, partitions);
      // Enough distinct events for a pool of requests; the pool is reused round-robin.
      const events = generateEvents(workload, Math.ceil((8 * requestBytes) / 200), 11);
      const pool = buildRequestPool(topic, partitions, events, requestBytes);
      await api.produce(pool[0]!.parts); // warm-up: topic metadata cache, connections
      let produceAccounting: WorkloadAccounting['produce'] | undefined;
      for (const producers of [1, 4]) {
        const before = await server.counters();
        const r = await closedLoopProducers(api, pool, producers, throughputSeconds);
        const counters = diffCounters(await server.counters(), before);
        if (producers === 1) {
          produceAccounting = {
            requests: r.requests,
            partitionBatches: r.partitionBatches,
            records: r.records,
            payloadBytes: r.bytes,
            counters,
          };
        }
        throughput.push({
          workload,
          producers,
          requests: r.requests,
          records: r.records,
          recordsPerSec: r.records / r.elapsed,
          mbPerSec: r.bytes / r.elapsed / 1e6,
          ackP50Ms: percentile(r.ackMs, 50),
          ackP99Ms: percentile(r.ackMs, 99),
        });
        log(`e2e ${workload}: ${producers} producer(s) ${(r.records / r.elapsed).toFixed(0)} records/s`);
      }
      if (!full) continue;
      // Catch-up: read everything back from offset 0 with one group member.
      const description = await api.json<{ partitions: { partition: number; highWatermark: number }[] }>(
        'GET',
        `/v1/topics/${topic}`,
      );
      const consumer = new GroupConsumer(api, `catchup-${workload}-${run}`, topic, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 4 * 1024 * 1024,
        commitIntervalMs: Number.POSITIVE_INFINITY,
      });
      await consumer.start();
      consumer.pauseHeartbeats();
      // Counted from here to the last fetch: fetches only (the group's calls are measured in the idle phase).
      const before = await server.counters();
      const started = performance.now();
      const deadline = started + 60_000;
      const done = () =>
        description.partitions.every((p) => consumer.position(p.partition) >= p.highWatermark);
      while (!done() && performance.now() < deadline) await consumer.poll();
      const elapsed = (performance.now() - started) / 1000;
      const counters = diffCounters(await server.counters(), before);
      await consumer.stop();
      catchUp.push({
        workload,
        records: consumer.records,
        fetches: consumer.fetches,
        recordsPerSec: consumer.records / elapsed,
        mbPerSec: consumer.payloadBytes / elapsed / 1e6,
        storedMbPerSec: consumer.fetchedBytes / elapsed / 1e6,
      });
      log(`e2e ${workload}: catch-up ${(consumer.records / elapsed).toFixed(0)} records/s`);
      accounting.push({
        workload,
        partitions,
        produce: produceAccounting!,
        catchUp: {
          fetches: consumer.fetches,
          records: consumer.records,
          payloadBytes: consumer.payloadBytes,
          counters,
        },
      });
    }

    const latencyProducer = options.latencyProducer ?? { recordsPerSec: 200, lingerMs: 5, maxInFlight: 1 };
    if (warmupSeconds > 0) {
      await latencyPhase(api, server, `${run}-warmup`, partitions, warmupSeconds, latencyProducer);
    }
    // Then the floor, on the idle (warm) stack: the same calls one at a time, nothing running beside them.
    const floor = await measureFloor(api, server);
    log(
      `e2e floor: produce calls ${floor.storage.produceMs.toFixed(1)} ms, HTTP hop ${floor.httpHopMs.toFixed(1)} ms`,
    );
    const latency = {
      ...(await latencyPhase(api, server, run, partitions, latencySeconds, latencyProducer)),
      warmupSeconds,
    };
    log(`e2e latency: ack p50 ${latency.ackP50Ms.toFixed(0)} ms, e2e p50 ${latency.e2eP50Ms.toFixed(0)} ms`);
    const inFlight = options.pipelinedInFlight ?? 5;
    const pipelined =
      inFlight > 0
        ? {
            ...(await latencyPhase(api, server, `${run}-pipelined`, partitions, latencySeconds, {
              ...latencyProducer,
              maxInFlight: inFlight,
            })),
            warmupSeconds,
          }
        : undefined;
    if (pipelined) log(`e2e latency, ${inFlight} in flight: ack p50 ${pipelined.ackP50Ms.toFixed(0)} ms`);
    const idle = full ? await idlePhase(api, server, run, partitions, idleSeconds) : undefined;
    return { throughput, catchUp, accounting, latency, pipelined, floor, idle, requestBytes, partitions };
  } finally {
    api.close();
    await server.stop();
  }
}

async function measureFloor(api: Api, server: LocalServer, samples = 40): Promise<FloorResult> {
  const hops: number[] = [];
  for (let i = 0; i < samples + 5; i++) {
    const t0 = performance.now();
    const answer = await api.request('GET', '/v1/floor-probe');
    if (i >= 5) hops.push(performance.now() - t0);
    if (answer.status !== 404) throw new Error(`the floor probe answered ${answer.status}`);
  }
  return { storage: await server.storageFloor(), httpHopMs: percentile(hops, 50) };
}

/**
 * The latency phase runs the client SDK (client/): its producer (lingerMs, one request in flight, each
 * carrying every partition with records) and a group consumer (`consumer.run`), as an application would.
 */
async function latencyPhase(
  api: Api,
  server: LocalServer,
  run: string,
  partitions: number,
  seconds: number,
  config: { recordsPerSec: number; lingerMs: number; maxInFlight: number },
): Promise<Omit<LatencyResult, 'warmupSeconds'>> {
  const workload: WorkloadName = 'webAccessLog';
  const { recordsPerSec, lingerMs, maxInFlight } = config;
  const maxWaitMs = 1000;
  const topic = `latency-${run}`;
  await api.createTopic(topic, partitions);
  const events = generateEvents(workload, recordsPerSec * seconds + 100, 23);
  const sluice = new Sluice({ endpoint: server.url });
  // Not idempotent, like the throughput phase's requests: the same calls, minus the sequence condition.
  // Profile latency: this phase measures latency at lingerMs, without the default profile's pacing.
  const producer = sluice.producer({
    profile: 'latency',
    lingerMs,
    maxInFlightRequests: maxInFlight,
    idempotent: false,
  });
  const consumer = sluice.consumer({ groupId: `latency-${run}`, maxWaitMs, minBytes: 1 });
  const e2eMs: number[] = [];
  const ackMs: number[] = [];
  let fetches = 0;
  let partitionsWithData = 0;
  consumer.on('fetch', (event) => {
    fetches++;
    partitionsWithData += event.partitions.filter((p) => p.records > 0).length;
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  const consuming = consumer.run({
    eachMessage: async ({ message }) => {
      e2eMs.push(Date.now() - message.timestamp);
    },
  });
  const before = await server.counters();
  const usageBefore = await server.usage();
  const started = performance.now();
  let sent = 0;
  const acks: Promise<unknown>[] = [];
  // Paced sending: the records due by now, every 2 ms (so requests form by lingerMs, not by the pacing).
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * recordsPerSec);
    while (sent < due) {
      const e = events[sent++ % events.length]!;
      const t0 = performance.now();
      acks.push(
        producer
          .send({ topic, messages: [{ key: e.key, value: e.value, timestamp: Date.now() }] })
          .then(() => ackMs.push(performance.now() - t0)),
      );
    }
    await sleep(2);
  }
  await Promise.all(acks);
  const drainDeadline = performance.now() + 5000;
  while (e2eMs.length < sent && performance.now() < drainDeadline) await sleep(10);
  const elapsed = (performance.now() - started) / 1000;
  const counters = diffCounters(await server.counters(), before);
  const usageAfter = await server.usage();
  const produceRequests = producer.stats.requests;
  await consumer.stop();
  await consuming;
  await consumer.disconnect();
  await producer.disconnect();
  return {
    workload,
    recordsPerSec,
    lingerMs,
    maxInFlight,
    maxWaitMs,
    records: e2eMs.length,
    produceRequests,
    ackP50Ms: percentile(ackMs, 50),
    ackP99Ms: percentile(ackMs, 99),
    e2eP50Ms: percentile(e2eMs, 50),
    e2eP99Ms: percentile(e2eMs, 99),
    e2eMaxMs: Math.max(...e2eMs),
    seconds: elapsed,
    fetches,
    partitionsWithData,
    counters,
    api: {
      cpuMsPerSecond: (usageAfter.cpuMs - usageBefore.cpuMs) / elapsed,
      eventLoopUtilization:
        (usageAfter.activeMs - usageBefore.activeMs) /
        Math.max(1, usageAfter.activeMs - usageBefore.activeMs + usageAfter.idleMs - usageBefore.idleMs),
    },
  };
}

async function idlePhase(
  api: Api,
  server: LocalServer,
  run: string,
  partitions: number,
  seconds: number,
): Promise<IdleResult> {
  const maxWaitMs = 1000;
  const topic = `idle-${run}`;
  await api.createTopic(topic, partitions);
  const consumer = new GroupConsumer(api, `idle-${run}`, topic, {
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1024 * 1024,
    commitIntervalMs: 5000,
  });
  await consumer.start();
  await consumer.poll(); // the first poll waits a full maxWaitMs; start counting after it
  const before = await server.counters();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) await consumer.poll();
  const elapsed = (performance.now() - started) / 1000;
  const counters = diffCounters(await server.counters(), before);
  const fetches = consumer.fetches - 1;
  consumer.pauseHeartbeats();
  const count = 5;
  const h0 = await server.counters();
  for (let i = 0; i < count; i++) await consumer.beat();
  const h1 = await server.counters();
  for (let i = 0; i < count; i++) await consumer.commit();
  const h2 = await server.counters();
  await consumer.stop();
  return {
    heartbeats: { count, counters: diffCounters(h1, h0) },
    commits: { count, partitions, counters: diffCounters(h2, h1) },
    heartbeatIntervalMs: consumer.heartbeatIntervalMs,
    seconds: elapsed,
    partitions,
    maxWaitMs,
    fetches,
    counters,
  };
}

// ————————————————————————————————————————————— tables

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '—');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');

export function formatThroughputTable(result: Pick<E2EResult, 'throughput'>): string {
  const lines = [
    `| workload | producers | records/s | MB/s (uncompressed) | produce requests | ack p50 ms | ack p99 ms |`,
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of result.throughput) {
    lines.push(
      `| ${r.workload} | ${r.producers} | ${f0(r.recordsPerSec)} | ${f2(r.mbPerSec)} | ${r.requests} | ${f1(r.ackP50Ms)} | ${f1(r.ackP99Ms)} |`,
    );
  }
  return lines.join('\n');
}

export function formatCatchUpTable(result: E2EResult): string {
  const lines = [
    '| workload | records read | fetches | records/s | MB/s (uncompressed) | MB/s (stored, lz4) |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of result.catchUp) {
    lines.push(
      `| ${r.workload} | ${r.records} | ${r.fetches} | ${f0(r.recordsPerSec)} | ${f2(r.mbPerSec)} | ${f2(r.storedMbPerSec)} |`,
    );
  }
  return lines.join('\n');
}

/** The floors beside the measured latencies: lingerMs + the calls of today's sequence, one at a time. */
export function floors(result: Pick<E2EResult, 'floor' | 'latency'>): { ackMs: number; e2eMs: number } {
  const { storage, httpHopMs } = result.floor;
  const ackMs = result.latency.lingerMs + httpHopMs + storage.produceMs;
  return { ackMs, e2eMs: ackMs + httpHopMs + storage.fetchMs };
}

export function formatLatencyTable(result: Pick<E2EResult, 'floor' | 'latency' | 'pipelined'>): string {
  const floor = floors(result);
  const rows = (l: LatencyResult, inFlight: string) => [
    `| produce ack (send() → acknowledged, incl. lingerMs ${l.lingerMs})${inFlight} | ${f1(l.ackP50Ms)} | ${f1(l.ackP99Ms)} | — | ${f1(floor.ackMs)} |`,
    `| end to end (send() → group consumer receipt, incl. lingerMs ${l.lingerMs})${inFlight} | ${f0(l.e2eP50Ms)} | ${f0(l.e2eP99Ms)} | ${f0(l.e2eMaxMs)} | ${f1(floor.e2eMs)} |`,
  ];
  const p = result.pipelined;
  return [
    '| measure | p50 ms | p99 ms | max ms | floor ms (same run) |',
    '|---|--:|--:|--:|--:|',
    ...rows(result.latency, p ? `, ${result.latency.maxInFlight} request in flight` : ''),
    ...(p ? rows(p, `, ${p.maxInFlight} requests in flight`) : []),
  ].join('\n');
}

/** Mean time the gateway took per request, by operation (its request log), for the busiest ones. */
function gatewayMeans(counters: Counters): string {
  return Object.entries(counters.api)
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 2)
    .map(([op, c]) => `gateway ${op} mean ${f0(c.ms / Math.max(1, c.count))} ms`)
    .join(', ');
}

/** The storage calls of the latency phase, per request and per 1,000 records: counts, not timings. */
export function formatLatencyCallsTable(result: Pick<E2EResult, 'latency'>): string {
  const l = result.latency;
  const lines = [
    `| latency phase (${l.records} records, ${l.produceRequests} produce requests, ${l.fetches} fetches) | calls | per 1,000 records |`,
    '|---|--:|--:|',
  ];
  const row = (name: string, count: number) =>
    lines.push(`| ${name} | ${count} | ${f0((1000 * count) / Math.max(1, l.records))} |`);
  for (const [name, op] of Object.entries(l.counters.dynamo)) row(`DynamoDB ${name}`, op.count);
  for (const [name, op] of Object.entries(l.counters.s3)) row(`S3 ${name}`, op.count);
  return lines.join('\n');
}

/** What the floor is made of: each call's p50, one at a time on the idle stack. */
export function formatFloorTable(result: Pick<E2EResult, 'floor' | 'latency'>): string {
  const { storage, httpHopMs } = result.floor;
  const floor = floors(result);
  const lines = [
    '| floor component (p50, one call at a time) | ms |',
    '|---|--:|',
    `| lingerMs | ${result.latency.lingerMs} |`,
    `| HTTP hop (client → local gateway → client, no handler) | ${f1(httpHopMs)} |`,
    ...Object.entries(storage.calls).map(([name, ms]) => `| ${name} | ${f1(ms)} |`),
    `| **produce ack** = lingerMs + hop + S3 PUT + 3 DynamoDB writes | **${f1(floor.ackMs)}** |`,
    `| **end to end** = ack + hop + GetItem + Query + S3 GET | **${f1(floor.e2eMs)}** |`,
    `| (during the latency phase: the API process's CPU ${f0(result.latency.api.cpuMsPerSecond)} ms/s, its event loop ${f0(100 * result.latency.api.eventLoopUtilization)}% busy; ${gatewayMeans(result.latency.counters)}) | |`,
  ];
  return lines.join('\n');
}

export function formatAccountingTable(result: E2EResult): string {
  const lines = [
    '| workload | per | API requests | S3 PUT | S3 GET | DynamoDB calls | WRU | RRU | records | stored KB |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const a of result.accounting) {
    const p = totals(a.produce.counters);
    const put = a.produce.counters.s3.PutObject;
    const n = a.produce.requests;
    lines.push(
      `| ${a.workload} | produce request | ${f2(p.apiRequests / n)} | ${f2(p.s3Puts / n)} | ${f2(p.s3Gets / n)} | ${f2(p.dynamoCalls / n)} | ${f2(p.wru / n)} | ${f2(p.rru / n)} | ${f0(a.produce.records / n)} | ${f1((put?.bytesIn ?? 0) / Math.max(1, put?.count ?? 1) / 1024)} |`,
    );
    const c = totals(a.catchUp.counters);
    const m = a.catchUp.fetches;
    const get = a.catchUp.counters.s3.GetObject;
    lines.push(
      `| ${a.workload} | catch-up fetch | ${f2(c.apiRequests / m)} | ${f2(c.s3Puts / m)} | ${f2(c.s3Gets / m)} | ${f2(c.dynamoCalls / m)} | ${f2(c.wru / m)} | ${f2(c.rru / m)} | ${f0(a.catchUp.records / m)} | ${f1((get?.bytesOut ?? 0) / Math.max(1, m) / 1024)} |`,
    );
  }
  const l = result.latency;
  const lt = totals(l.counters);
  lines.push(
    `| ${l.workload} | second of tailing (${l.recordsPerSec} records/s, lingerMs ${l.lingerMs}) | ${f2(lt.apiRequests / l.seconds)} | ${f2(lt.s3Puts / l.seconds)} | ${f2(lt.s3Gets / l.seconds)} | ${f2(lt.dynamoCalls / l.seconds)} | ${f2(lt.wru / l.seconds)} | ${f2(lt.rru / l.seconds)} | ${f0(l.records / l.seconds)} | — |`,
  );
  const i = result.idle;
  const it = totals(i.counters);
  lines.push(
    `| (idle topic) | second of long polling (${i.partitions} partitions, maxWaitMs ${i.maxWaitMs}) | ${f2(it.apiRequests / i.seconds)} | ${f2(it.s3Puts / i.seconds)} | ${f2(it.s3Gets / i.seconds)} | ${f2(it.dynamoCalls / i.seconds)} | ${f2(it.wru / i.seconds)} | ${f2(it.rru / i.seconds)} | 0 | — |`,
  );
  for (const [label, part] of [
    ['heartbeat', i.heartbeats],
    [`offset commit (${i.partitions} partitions)`, i.commits],
  ] as const) {
    const t = totals(part.counters);
    const n = part.count;
    lines.push(
      `| (group) | ${label} | ${f2(t.apiRequests / n)} | ${f2(t.s3Puts / n)} | ${f2(t.s3Gets / n)} | ${f2(t.dynamoCalls / n)} | ${f2(t.wru / n)} | ${f2(t.rru / n)} | — | — |`,
    );
  }
  return lines.join('\n');
}

/** Every DynamoDB and S3 operation seen in the produce phase of the first workload, for the record. */
export function formatOperationsTable(result: E2EResult): string {
  const a = result.accounting[0];
  if (!a) return '';
  const n = a.produce.requests;
  const m = a.catchUp.fetches;
  const names = new Set([
    ...Object.keys(a.produce.counters.dynamo).map((x) => `DynamoDB ${x}`),
    ...Object.keys(a.produce.counters.s3).map((x) => `S3 ${x}`),
    ...Object.keys(a.catchUp.counters.dynamo).map((x) => `DynamoDB ${x}`),
    ...Object.keys(a.catchUp.counters.s3).map((x) => `S3 ${x}`),
    ...Object.keys(a.produce.counters.api).map((x) => `API ${x}`),
    ...Object.keys(a.catchUp.counters.api).map((x) => `API ${x}`),
  ]);
  const get = (c: Counters, name: string): number => {
    const [service, op] = name.split(' ') as [string, string];
    if (service === 'API') return c.api[op]?.count ?? 0;
    return (service === 'S3' ? c.s3 : c.dynamo)[op]?.count ?? 0;
  };
  const lines = [
    `| call (${a.workload}) | per produce request | per catch-up fetch |`,
    '|---|--:|--:|',
    ...[...names]
      .sort()
      .map(
        (name) =>
          `| ${name} | ${f2(get(a.produce.counters, name) / n)} | ${f2(get(a.catchUp.counters, name) / m)} |`,
      ),
  ];
  return lines.join('\n');
}

if (process.argv.includes('--serve')) {
  serve().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else if (
  process.argv[1] === fileURLToPath(import.meta.url) &&
  process.argv.some((a) => a.startsWith('--latency'))
) {
  // The throughput rows and the latency phase with its floor, nothing else (a minute on 2 cores);
  // with --latency-only, not even the throughput rows.
  const only = process.argv.includes('--latency-only');
  runLatencyBench({ log: (line) => console.error(line), ...(only ? { workloads: [] } : {}) }).then(
    (result) => {
      console.log(
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}\n`,
      );
      for (const table of [
        formatThroughputTable(result),
        formatLatencyTable(result),
        formatFloorTable(result),
        formatLatencyCallsTable(result),
      ]) {
        console.log(`${table}\n`);
      }
    },
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runE2EBench({ log: (line) => console.error(line) }).then((result) => {
    for (const table of [
      formatThroughputTable(result),
      formatCatchUpTable(result),
      formatLatencyTable(result),
      formatFloorTable(result),
      formatAccountingTable(result),
      formatOperationsTable(result),
    ]) {
      console.log(`${table}\n`);
    }
  });
}
