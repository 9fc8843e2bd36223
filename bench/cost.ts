/**
 * The cost model: request counts measured on the local stack (bench/e2e.ts), turned into dollars with the
 * list prices of bench/prices.ts, for standard scenarios, next to Kinesis (on-demand and provisioned) and
 * MSK Serverless priced from their published prices; plus an estimate of latency on AWS.
 *
 * What is measured and what is modelled:
 * - measured (local stack, proxy on the wire): S3 PUTs per produce request; DynamoDB calls and capacity
 *   units per partition written, per head read, per index query, per heartbeat and per offset commit;
 *   S3 GETs per stored object read; stored (lz4) bytes per payload byte.
 * - modelled: how many requests a scenario makes. Producers send a request when maxBatchBytes fill or
 *   lingerMs pass, one request in flight (the SDK's default), so never faster than the acknowledgement
 *   time. Each consumer member keeps one fetch in flight: a long poll returns when minBytes are there or
 *   maxWaitMs passed, reading each partition's head at the fetch tuning's backoff (20 ms doubling to
 *   250 ms). Lambda is billed for the whole long poll. Function memory: the CDK construct's defaults.
 * - AWS durations (Lambda GB-s) and latencies come from published typical latencies (LATENCIES_MS), not
 *   from this machine: emulators on one machine are not AWS.
 * Not counted: free tiers, CloudWatch logs and metrics, KMS, NAT/VPC endpoints, cold starts, retries.
 */
import { CONSUMER_DEFAULTS, PRODUCER_DEFAULTS } from '../client';
import { DEFAULT_FETCH_TUNING } from '../shared/log/fetch';
import { type Counters, type E2EResult, type OpCount, totals } from './e2e';
import { LATENCIES_MS, PRICES } from './prices';
import type { WorkloadName } from './workloads';

const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** AWS bills a GB as 2^30 bytes. */
const GB = 2 ** 30;
const MB = 1e6;
/** Function memory, GB: the CDK construct's defaults (cdk/sluice-construct.ts DEFAULT_MEMORY_MB). */
const MEMORY_GB = { produce: 1, fetch: 0.5, groups: 0.5, cleanup: 1 } as const;
/** The SDK's producer ceiling per request (LOG_LIMITS.maxProduceBytes). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Kafka's auto-commit interval, which a consumer is assumed to follow. */
const COMMIT_INTERVAL_S = 5;

// ————————————————————————————————————————————— measured unit costs

export interface UnitCosts {
  readonly workload: WorkloadName;
  /** Uncompressed key + value bytes per record. */
  readonly recordBytes: number;
  /** Stored (lz4) bytes per payload byte, as produce requests carried them. */
  readonly storedPerPayload: number;
  readonly wruPerPartitionBatch: number;
  readonly dynamoWritesPerPartitionBatch: number;
  readonly rruPerProduceRequest: number;
  readonly s3PutsPerProduceRequest: number;
  /** Bytes of one index entry's PutItem request (an upper bound of the item's size). */
  readonly indexEntryBytes: number;
  readonly rruPerHeadRead: number;
  /** Index Queries per partition that a tailing fetch found new records in, and RRU per Query. */
  readonly queriesPerPartitionWithData: number;
  readonly rruPerQuery: number;
  /** S3 GETs per stored object, for a tailing consumer (each object read once) and for catch-up. */
  readonly s3GetsPerObject: number;
  readonly catchUpS3GetsPerObject: number;
  readonly heartbeat: { wru: number; rru: number };
  readonly commitPerPartition: { wru: number; rru: number };
  readonly heartbeatIntervalMs: number;
}

const op = (c: Counters, service: 'dynamo' | 's3', name: string): OpCount =>
  c[service][name] ?? { count: 0, wru: 0, rru: 0, failed: 0, bytesIn: 0, bytesOut: 0 };

export function unitCosts(result: E2EResult, workload: WorkloadName): UnitCosts {
  const a = result.accounting.find((x) => x.workload === workload);
  if (!a) throw new Error(`no accounting for workload ${workload}`);
  const p = a.produce;
  const pt = totals(p.counters);
  const writes = ['PutItem', 'UpdateItem', 'DeleteItem'].reduce(
    (s, name) => s + op(p.counters, 'dynamo', name).count,
    0,
  );
  const put = op(p.counters, 's3', 'PutObject');
  const entry = op(p.counters, 'dynamo', 'PutItem');
  const c = a.catchUp.counters;
  const objects =
    result.throughput.filter((r) => r.workload === workload).reduce((s, r) => s + r.requests, 0) + 1;
  // Fetch-side units from the tailing phase: what a consumer keeping up pays.
  const tail = result.latency;
  const query = op(tail.counters, 'dynamo', 'Query');
  const tailPuts = op(tail.counters, 's3', 'PutObject').count;
  const idleHead = op(result.idle.counters, 'dynamo', 'GetItem');
  const hb = totals(result.idle.heartbeats.counters);
  const cm = totals(result.idle.commits.counters);
  const commitPartitions = result.idle.commits.count * result.idle.commits.partitions;
  return {
    workload,
    recordBytes: p.payloadBytes / p.records,
    storedPerPayload: put.bytesIn / p.payloadBytes,
    wruPerPartitionBatch: pt.wru / p.partitionBatches,
    dynamoWritesPerPartitionBatch: writes / p.partitionBatches,
    rruPerProduceRequest: pt.rru / p.requests,
    s3PutsPerProduceRequest: pt.s3Puts / p.requests,
    indexEntryBytes: entry.count > 0 ? entry.bytesIn / entry.count : 300,
    rruPerHeadRead: idleHead.count > 0 ? idleHead.rru / idleHead.count : 1,
    queriesPerPartitionWithData: query.count / Math.max(1, tail.partitionsWithData),
    rruPerQuery: query.count > 0 ? query.rru / query.count : 1,
    s3GetsPerObject: op(tail.counters, 's3', 'GetObject').count / Math.max(1, tailPuts),
    catchUpS3GetsPerObject: op(c, 's3', 'GetObject').count / objects,
    heartbeat: { wru: hb.wru / result.idle.heartbeats.count, rru: hb.rru / result.idle.heartbeats.count },
    commitPerPartition: { wru: cm.wru / commitPartitions, rru: cm.rru / commitPartitions },
    heartbeatIntervalMs: result.idle.heartbeatIntervalMs || 3000,
  };
}

// ————————————————————————————————————————————— scenarios and knobs

export interface Scenario {
  readonly name: string;
  /** The ingest rate over a day: segments of hours at a rate of uncompressed MB/s (10^6 bytes). */
  readonly profile: readonly { hours: number; mbPerSec: number }[];
  readonly groups: number;
  readonly membersPerGroup: number;
  readonly partitions: number;
  readonly producers: number;
  readonly retentionHours: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: '1 MB/s, 1 group',
    profile: [{ hours: 24, mbPerSec: 1 }],
    groups: 1,
    membersPerGroup: 1,
    partitions: 4,
    producers: 4,
    retentionHours: 24,
  },
  {
    name: '10 MB/s, 3 groups',
    profile: [{ hours: 24, mbPerSec: 10 }],
    groups: 3,
    membersPerGroup: 2,
    partitions: 16,
    producers: 16,
    retentionHours: 24,
  },
  {
    name: 'spiky day (22 h at 0.2, 2 h at 20 MB/s), 1 group',
    profile: [
      { hours: 22, mbPerSec: 0.2 },
      { hours: 2, mbPerSec: 20 },
    ],
    groups: 1,
    membersPerGroup: 2,
    partitions: 16,
    producers: 8,
    retentionHours: 24,
  },
  {
    name: 'idle topic (no traffic), 1 group',
    profile: [{ hours: 24, mbPerSec: 0 }],
    groups: 1,
    membersPerGroup: 1,
    partitions: 4,
    producers: 1,
    retentionHours: 24,
  },
];

export interface Knobs {
  /** Producer: how long a record may wait for others to share its request. */
  readonly lingerMs: number;
  /** Producer: bytes per partition batch before a request is sent. */
  readonly maxBatchBytes: number;
  /** Consumer long poll: the longest wait, and the bytes that end it sooner. */
  readonly maxWaitMs: number;
  readonly minBytes: number;
  /** Consumer that sleeps this long between short fetches (maxWaitMs 0) instead of long-polling; 0: long poll. */
  readonly pollIntervalMs: number;
  /** Server: the long poll's head-read backoff (FetchTuning minPollMs, maxPollMs). */
  readonly minPollMs: number;
  readonly maxPollMs: number;
}

/** The client SDK's defaults (client/producer.ts, client/consumer/types.ts) and the server's fetch tuning. */
export const DEFAULT_KNOBS: Knobs = {
  lingerMs: PRODUCER_DEFAULTS.lingerMs,
  maxBatchBytes: PRODUCER_DEFAULTS.maxBatchBytes,
  maxWaitMs: CONSUMER_DEFAULTS.maxWaitMs,
  minBytes: CONSUMER_DEFAULTS.minBytes,
  pollIntervalMs: 0,
  minPollMs: DEFAULT_FETCH_TUNING.minPollMs,
  maxPollMs: DEFAULT_FETCH_TUNING.maxPollMs,
};

/** Batched for cost: requests wait up to a second to fill, consumers fetch once a second. */
export const BATCHED_KNOBS: Knobs = { ...DEFAULT_KNOBS, lingerMs: 1000, pollIntervalMs: 1000 };

// ————————————————————————————————————————————— latency on AWS (estimate)

export interface LatencyEstimate {
  readonly produceAckMs: { typical: number; tail: number };
  readonly endToEndMs: { typical: number; tail: number };
}

type Leg = keyof typeof LATENCIES_MS;

function path(legs: readonly Leg[]): { typical: number; tail: number } {
  const typical = legs.reduce((s, l) => s + LATENCIES_MS[l].typical, 0);
  // A slow tail is one slow call, not all of them at once.
  const excess = Math.max(...legs.map((l) => LATENCIES_MS[l].tail - LATENCIES_MS[l].typical));
  return { typical, tail: typical + excess };
}

/**
 * Estimated latency on AWS from the measured call sequence: a produce request is API Gateway, a warm
 * Lambda, one S3 PUT, then the partition's DynamoDB writes in sequence (reserve, commit, advance;
 * partitions in parallel). End to end adds lingerMs, the consumer noticing the new high-water mark
 * (half the poll pause, on average), then a Query, an S3 GET and the fetch's way back.
 */
export function estimateLatency(units: UnitCosts, knobs: Knobs): LatencyEstimate {
  const writes = Math.max(1, Math.round(units.dynamoWritesPerPartitionBatch));
  const produce = path(['apiGateway', 'lambdaInvoke', 's3Put', ...Array<Leg>(writes).fill('dynamoWrite')]);
  const fetchBack = path(['dynamoRead', 's3Get', 'lambdaInvoke', 'apiGateway']);
  const notice =
    knobs.pollIntervalMs > 0
      ? { typical: knobs.pollIntervalMs / 2, tail: knobs.pollIntervalMs }
      : { typical: knobs.maxPollMs / 2, tail: knobs.maxPollMs };
  return {
    produceAckMs: produce,
    endToEndMs: {
      typical: knobs.lingerMs + produce.typical + notice.typical + fetchBack.typical,
      tail: knobs.lingerMs + produce.tail + notice.tail + fetchBack.tail,
    },
  };
}

// ————————————————————————————————————————————— Sluice's bill

export interface Bill {
  readonly apiGateway: number;
  readonly lambda: number;
  readonly s3Requests: number;
  readonly s3Storage: number;
  readonly dynamoRequests: number;
  readonly dynamoStorage: number;
  readonly total: number;
}

export interface SluiceMonth {
  readonly bill: Bill;
  /** Per second, averaged over the day. */
  readonly produceRequestsPerSec: number;
  readonly fetchRequestsPerSec: number;
  readonly wruPerSec: number;
  readonly rruPerSec: number;
  readonly gbIn: number;
  readonly gbStored: number;
  /** Cost split: producing and storing, per GB in; consuming, per GB read (all groups). */
  readonly perGbIn: number;
  readonly perGbOut: number;
}

/** Head reads of one partition during a long poll of `seconds`: one per round of the backoff. */
export function headReadsDuring(seconds: number, knobs: Knobs): number {
  let reads = 1;
  let waited = 0;
  let pause = knobs.minPollMs / 1000;
  while (waited + pause < seconds) {
    waited += pause;
    reads++;
    pause = Math.min(pause * 2, knobs.maxPollMs / 1000);
  }
  return reads;
}

interface Usage {
  api: number;
  lambdaRequests: number;
  lambdaGbS: number;
  s3Puts: number;
  s3Gets: number;
  wru: number;
  rru: number;
  produceRequests: number;
  fetchRequests: number;
}

const zeroUsage = (): Usage => ({
  api: 0,
  lambdaRequests: 0,
  lambdaGbS: 0,
  s3Puts: 0,
  s3Gets: 0,
  wru: 0,
  rru: 0,
  produceRequests: 0,
  fetchRequests: 0,
});

/** Usage per second at a steady ingest of `bytesPerSec`, split into the produce and the consume side. */
function usagePerSecond(
  scenario: Scenario,
  units: UnitCosts,
  knobs: Knobs,
  bytesPerSec: number,
): { produce: Usage; consume: Usage; partitionBatchesPerSec: number } {
  const produce = zeroUsage();
  const consume = zeroUsage();
  const latency = estimateLatency(units, knobs);
  const P = scenario.partitions;
  let partitionBatchesPerSec = 0;
  let requestsPerSec = 0;
  let touched = 0;

  if (bytesPerSec > 0) {
    // Producers: a request leaves when a batch fills or lingerMs passed, and not before the last one was
    // acknowledged (one in flight); never with less than one record.
    const perProducer = bytesPerSec / scenario.producers;
    const requestCap = Math.min(MAX_REQUEST_BYTES, knobs.maxBatchBytes * P);
    const interval = Math.max(
      Math.min(requestCap / perProducer, knobs.lingerMs / 1000),
      latency.produceAckMs.typical / 1000,
      units.recordBytes / perProducer,
    );
    requestsPerSec = scenario.producers / interval;
    const recordsPerRequest = (perProducer * interval) / units.recordBytes;
    touched = P * (1 - (1 - 1 / P) ** recordsPerRequest);
    partitionBatchesPerSec = requestsPerSec * touched;
    const produceSeconds =
      (LATENCIES_MS.lambdaInvoke.typical +
        LATENCIES_MS.s3Put.typical +
        units.dynamoWritesPerPartitionBatch * LATENCIES_MS.dynamoWrite.typical) /
      1000;
    produce.produceRequests = requestsPerSec;
    produce.api = requestsPerSec;
    produce.lambdaRequests = requestsPerSec;
    produce.lambdaGbS = requestsPerSec * produceSeconds * MEMORY_GB.produce;
    produce.s3Puts = requestsPerSec * units.s3PutsPerProduceRequest;
    produce.wru = partitionBatchesPerSec * units.wruPerPartitionBatch;
    produce.rru = requestsPerSec * units.rruPerProduceRequest;
  }

  // Consumers: every member of every group keeps one fetch in flight over its P / M partitions.
  const members = scenario.groups * scenario.membersPerGroup;
  const owned = P / scenario.membersPerGroup;
  const touchesMember = touched > 0 ? 1 - (1 - touched / P) ** owned : 0;
  const arrivalsPerSec = requestsPerSec * touchesMember;
  const storedPerMember = (bytesPerSec * units.storedPerPayload) / scenario.membersPerGroup;
  const fetchPath = path(['apiGateway', 'lambdaInvoke', 'dynamoRead', 'dynamoRead', 's3Get']).typical / 1000;
  let fetchInterval: number;
  let fetchSeconds: number;
  let headReads: number;
  if (knobs.pollIntervalMs > 0) {
    fetchInterval = Math.max(knobs.pollIntervalMs / 1000, fetchPath);
    fetchSeconds = fetchPath;
    headReads = owned;
  } else {
    const untilMinBytes = storedPerMember > 0 ? knobs.minBytes / storedPerMember : Number.POSITIVE_INFINITY;
    const untilArrival = arrivalsPerSec > 0 ? 1 / arrivalsPerSec : Number.POSITIVE_INFINITY;
    fetchInterval = Math.min(knobs.maxWaitMs / 1000, Math.max(fetchPath, untilMinBytes, untilArrival));
    fetchSeconds = fetchInterval;
    headReads = owned * headReadsDuring(Math.max(0, fetchInterval - fetchPath), knobs);
  }
  const fetchesPerSec = members / fetchInterval;
  // Each request writes a given partition with probability touched / P.
  const partitionsWithData = owned * (1 - (1 - touched / P) ** (requestsPerSec * fetchInterval));
  consume.fetchRequests = fetchesPerSec;
  consume.api = fetchesPerSec;
  consume.lambdaRequests = fetchesPerSec;
  consume.lambdaGbS = fetchesPerSec * fetchSeconds * MEMORY_GB.fetch;
  consume.rru =
    fetchesPerSec *
    (headReads * units.rruPerHeadRead +
      partitionsWithData * units.queriesPerPartitionWithData * units.rruPerQuery);
  // Each stored object is read once per member whose partitions it holds (no cross-group cache hits).
  consume.s3Gets = members * arrivalsPerSec * units.s3GetsPerObject;
  // Group upkeep: heartbeats, and offset commits every COMMIT_INTERVAL_S.
  const heartbeatsPerSec = members / (units.heartbeatIntervalMs / 1000);
  const commitsPerSec = members / COMMIT_INTERVAL_S;
  const groupCalls = heartbeatsPerSec + commitsPerSec;
  consume.api += groupCalls;
  consume.lambdaRequests += groupCalls;
  consume.lambdaGbS +=
    groupCalls *
    ((LATENCIES_MS.lambdaInvoke.typical + 2 * LATENCIES_MS.dynamoWrite.typical) / 1000) *
    MEMORY_GB.groups;
  consume.wru +=
    heartbeatsPerSec * units.heartbeat.wru + commitsPerSec * owned * units.commitPerPartition.wru;
  consume.rru +=
    heartbeatsPerSec * units.heartbeat.rru + commitsPerSec * owned * units.commitPerPartition.rru;
  return { produce, consume, partitionBatchesPerSec };
}

function priceUsage(u: Usage, seconds: number) {
  return {
    apiGateway: ((u.api * seconds) / 1e6) * PRICES.apiGatewayRestPerMillion.usd,
    lambda:
      ((u.lambdaRequests * seconds) / 1e6) * PRICES.lambdaRequestPerMillion.usd +
      u.lambdaGbS * seconds * PRICES.lambdaArmGbSecond.usd,
    s3Requests:
      ((u.s3Puts * seconds) / 1000) * PRICES.s3PutPer1k.usd +
      ((u.s3Gets * seconds) / 1000) * PRICES.s3GetPer1k.usd,
    dynamoRequests:
      ((u.wru * seconds) / 1e6) * PRICES.dynamoWruPerMillion.usd +
      ((u.rru * seconds) / 1e6) * PRICES.dynamoRruPerMillion.usd,
  };
}

const addBills = (a: ReturnType<typeof priceUsage>, b: ReturnType<typeof priceUsage>) => ({
  apiGateway: a.apiGateway + b.apiGateway,
  lambda: a.lambda + b.lambda,
  s3Requests: a.s3Requests + b.s3Requests,
  dynamoRequests: a.dynamoRequests + b.dynamoRequests,
});

const sumOf = (b: ReturnType<typeof priceUsage>) => b.apiGateway + b.lambda + b.s3Requests + b.dynamoRequests;

export function sluiceMonth(scenario: Scenario, units: UnitCosts, knobs: Knobs = DEFAULT_KNOBS): SluiceMonth {
  const days = SECONDS_PER_MONTH / 86_400;
  let produceBill = priceUsage(zeroUsage(), 0);
  let consumeBill = priceUsage(zeroUsage(), 0);
  let bytesPerDay = 0;
  let batchesPerDay = 0;
  const perSecond = { produce: 0, fetch: 0, wru: 0, rru: 0 };
  for (const segment of scenario.profile) {
    const seconds = segment.hours * 3600 * days;
    const u = usagePerSecond(scenario, units, knobs, segment.mbPerSec * MB);
    produceBill = addBills(produceBill, priceUsage(u.produce, seconds));
    consumeBill = addBills(consumeBill, priceUsage(u.consume, seconds));
    bytesPerDay += segment.mbPerSec * MB * segment.hours * 3600;
    batchesPerDay += u.partitionBatchesPerSec * segment.hours * 3600;
    const share = segment.hours / 24;
    perSecond.produce += u.produce.produceRequests * share;
    perSecond.fetch += u.consume.fetchRequests * share;
    perSecond.wru += (u.produce.wru + u.consume.wru) * share;
    perSecond.rru += (u.produce.rru + u.consume.rru) * share;
  }
  // The cleanup function: every 5 minutes, ~2 s at 1 GB, a few reads per partition (estimate).
  const cleanupRuns = (SECONDS_PER_MONTH / 300) * 1;
  const cleanup =
    (cleanupRuns / 1e6) * PRICES.lambdaRequestPerMillion.usd +
    cleanupRuns * 2 * MEMORY_GB.cleanup * PRICES.lambdaArmGbSecond.usd +
    ((cleanupRuns * scenario.partitions * 3) / 1e6) * PRICES.dynamoRruPerMillion.usd;
  const retentionDays = scenario.retentionHours / 24;
  const gbStored = (bytesPerDay * retentionDays * units.storedPerPayload) / GB;
  const s3Storage = gbStored * PRICES.s3StorageGbMonth.usd;
  // Index entries live as long as their data (plus a grace period, ignored).
  const dynamoGb = (batchesPerDay * retentionDays * (units.indexEntryBytes + 100)) / GB;
  const dynamoStorage = dynamoGb * PRICES.dynamoStorageGbMonth.usd;
  const gbIn = (bytesPerDay * days) / GB;
  const produceTotal = sumOf(produceBill) + s3Storage + dynamoStorage + cleanup;
  const consumeTotal = sumOf(consumeBill);
  const bill: Bill = {
    apiGateway: produceBill.apiGateway + consumeBill.apiGateway,
    lambda: produceBill.lambda + consumeBill.lambda + cleanup,
    s3Requests: produceBill.s3Requests + consumeBill.s3Requests,
    s3Storage,
    dynamoRequests: produceBill.dynamoRequests + consumeBill.dynamoRequests,
    dynamoStorage,
    total: produceTotal + consumeTotal,
  };
  return {
    bill,
    produceRequestsPerSec: perSecond.produce,
    fetchRequestsPerSec: perSecond.fetch,
    wruPerSec: perSecond.wru,
    rruPerSec: perSecond.rru,
    gbIn,
    gbStored,
    perGbIn: produceTotal / gbIn,
    perGbOut: consumeTotal / (gbIn * scenario.groups),
  };
}

// ————————————————————————————————————————————— the alternatives, from published prices

export interface AlternativeMonth {
  readonly name: string;
  readonly total: number;
  readonly perGbIn: number;
  readonly perGbOut: number;
  readonly note: string;
}

function monthlyProfile(scenario: Scenario) {
  const days = SECONDS_PER_MONTH / 86_400;
  const bytesPerDay = scenario.profile.reduce((s, x) => s + x.mbPerSec * MB * x.hours * 3600, 0);
  const peak = Math.max(...scenario.profile.map((x) => x.mbPerSec));
  return { gbIn: (bytesPerDay * days) / GB, peakMbPerSec: peak, bytesPerDay };
}

/**
 * Kinesis Data Streams, on-demand: one stream; records as the KPL aggregates them (so the 1 KB rounding
 * of each record adds little); consumers with shared throughput. 24 h retention is included.
 */
export function kinesisOnDemand(scenario: Scenario): AlternativeMonth {
  const { gbIn } = monthlyProfile(scenario);
  const fixed = HOURS_PER_MONTH * PRICES.kinesisOnDemandStreamHour.usd;
  const inCost = gbIn * PRICES.kinesisOnDemandIngestGb.usd;
  const outCost = gbIn * scenario.groups * PRICES.kinesisOnDemandRetrievalGb.usd;
  return {
    name: 'Kinesis on-demand',
    total: fixed + inCost + outCost,
    perGbIn: (fixed + inCost) / gbIn,
    perGbOut: PRICES.kinesisOnDemandRetrievalGb.usd,
    note: 'KPL-aggregated records; without aggregation each record is billed as 1 KB',
  };
}

/**
 * Kinesis Data Streams, provisioned for the peak (no resharding during the day): a shard takes 1 MB/s in
 * and gives 2 MB/s out shared by all consumers; PUT payload units of 25 KB (KPL-aggregated records).
 */
export function kinesisProvisioned(scenario: Scenario): AlternativeMonth {
  const { gbIn, peakMbPerSec, bytesPerDay } = monthlyProfile(scenario);
  const peakMiB = (peakMbPerSec * MB) / 2 ** 20;
  const shards = Math.max(1, Math.ceil(peakMiB), Math.ceil((peakMiB * scenario.groups) / 2));
  const shardCost = shards * HOURS_PER_MONTH * PRICES.kinesisShardHour.usd;
  const units = (bytesPerDay * (SECONDS_PER_MONTH / 86_400)) / (25 * 1024);
  const putCost = (units / 1e6) * PRICES.kinesisPutUnitPerMillion.usd;
  return {
    name: 'Kinesis provisioned',
    total: shardCost + putCost,
    perGbIn: (shardCost + putCost) / gbIn,
    perGbOut: 0,
    note: `${shards} shards for the peak (reads included in the shard price)`,
  };
}

/** MSK Serverless: one cluster; Kafka clients compress (lz4), so bytes in and out are the stored ones. */
export function mskServerless(scenario: Scenario, units: UnitCosts): AlternativeMonth {
  const { gbIn } = monthlyProfile(scenario);
  const gbWire = gbIn * units.storedPerPayload;
  const fixed =
    HOURS_PER_MONTH *
    (PRICES.mskServerlessClusterHour.usd + scenario.partitions * PRICES.mskServerlessPartitionHour.usd);
  const storedGb = (gbWire / (SECONDS_PER_MONTH / 86_400)) * (scenario.retentionHours / 24);
  const storage = storedGb * PRICES.mskServerlessStorageGbMonth.usd;
  const inCost = gbWire * PRICES.mskServerlessInGb.usd;
  const outCost = gbWire * scenario.groups * PRICES.mskServerlessOutGb.usd;
  return {
    name: 'MSK Serverless',
    total: fixed + storage + inCost + outCost,
    perGbIn: (fixed + storage + inCost) / gbIn,
    perGbOut: (gbWire / gbIn) * PRICES.mskServerlessOutGb.usd,
    note: `cluster-hours $${fixed.toFixed(0)}/month whatever the traffic; data billed compressed (lz4)`,
  };
}

// ————————————————————————————————————————————— tables

const usd = (n: number) =>
  !Number.isFinite(n)
    ? '—'
    : n >= 100
      ? `$${n.toFixed(0)}`
      : n >= 1
        ? `$${n.toFixed(2)}`
        : `$${n.toFixed(3)}`;

export interface CostReport {
  readonly units: UnitCosts;
  readonly scenarios: {
    scenario: Scenario;
    sluice: SluiceMonth;
    sluiceBatched: SluiceMonth;
    alternatives: AlternativeMonth[];
  }[];
}

export function costReport(result: E2EResult, workload: WorkloadName = 'webAccessLog'): CostReport {
  const units = unitCosts(result, workload);
  return {
    units,
    scenarios: SCENARIOS.map((scenario) => ({
      scenario,
      sluice: sluiceMonth(scenario, units),
      sluiceBatched: sluiceMonth(scenario, units, BATCHED_KNOBS),
      alternatives: [kinesisOnDemand(scenario), kinesisProvisioned(scenario), mskServerless(scenario, units)],
    })),
  };
}

export function formatUnitCosts(units: UnitCosts): string {
  return [
    '| measured on the local stack | value |',
    '|---|--:|',
    `| workload | ${units.workload} (${units.recordBytes.toFixed(0)} B/record) |`,
    `| stored bytes per payload byte (lz4, ~64 KB batches) | ${units.storedPerPayload.toFixed(3)} |`,
    `| S3 PUTs per produce request | ${units.s3PutsPerProduceRequest.toFixed(2)} |`,
    `| DynamoDB writes per partition written (reserve, commit, advance) | ${units.dynamoWritesPerPartitionBatch.toFixed(2)} |`,
    `| WRU per partition written | ${units.wruPerPartitionBatch.toFixed(2)} |`,
    `| RRU per produce request | ${units.rruPerProduceRequest.toFixed(3)} |`,
    `| RRU per head read (strongly consistent GetItem) | ${units.rruPerHeadRead.toFixed(2)} |`,
    `| index Queries per partition with new records (tailing), RRU each | ${units.queriesPerPartitionWithData.toFixed(2)}, ${units.rruPerQuery.toFixed(2)} |`,
    `| S3 GETs per stored object: tailing consumer, catch-up | ${units.s3GetsPerObject.toFixed(2)}, ${units.catchUpS3GetsPerObject.toFixed(2)} |`,
    `| heartbeat: WRU, RRU | ${units.heartbeat.wru.toFixed(2)}, ${units.heartbeat.rru.toFixed(2)} (every ${units.heartbeatIntervalMs} ms) |`,
    `| offset commit per partition: WRU, RRU | ${units.commitPerPartition.wru.toFixed(2)}, ${units.commitPerPartition.rru.toFixed(2)} |`,
  ].join('\n');
}

export function formatScenarioTable(report: CostReport): string {
  const lines = [
    '| scenario | GB in / month | Sluice, SDK defaults | Sluice, batched (lingerMs 1000, fetch every 1 s) | Kinesis on-demand | Kinesis provisioned | MSK Serverless |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  const cell = (total: number, perGbIn: number, perGbOut: number) =>
    Number.isFinite(perGbIn)
      ? `${usd(total)} (${usd(perGbIn)}/GB in${perGbOut > 0 ? `, ${usd(perGbOut)}/GB out` : ''})`
      : usd(total);
  for (const { scenario, sluice, sluiceBatched, alternatives } of report.scenarios) {
    const alt = alternatives.map((a) => cell(a.total, a.perGbIn, a.perGbOut));
    lines.push(
      `| ${scenario.name} | ${sluice.gbIn.toFixed(0)} | ${cell(sluice.bill.total, sluice.perGbIn, sluice.perGbOut)} | ` +
        `**${cell(sluiceBatched.bill.total, sluiceBatched.perGbIn, sluiceBatched.perGbOut)}** | ${alt.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function formatBillTable(report: CostReport): string {
  const lines = [
    '| scenario | Sluice settings | produce req/s | fetch req/s | WRU/s | RRU/s | API Gateway | Lambda | S3 requests | S3 storage | DynamoDB requests | DynamoDB storage | total |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { scenario, sluice, sluiceBatched } of report.scenarios) {
    for (const [label, m] of [
      ['SDK defaults', sluice],
      ['batched', sluiceBatched],
    ] as const) {
      const b = m.bill;
      lines.push(
        `| ${scenario.name} | ${label} | ${m.produceRequestsPerSec.toFixed(1)} | ${m.fetchRequestsPerSec.toFixed(1)} | ${m.wruPerSec.toFixed(0)} | ${m.rruPerSec.toFixed(0)} | ${usd(b.apiGateway)} | ${usd(b.lambda)} | ${usd(b.s3Requests)} | ${usd(b.s3Storage)} | ${usd(b.dynamoRequests)} | ${usd(b.dynamoStorage)} | ${usd(b.total)} |`,
      );
    }
  }
  return lines.join('\n');
}

export interface KnobRow {
  readonly label: string;
  readonly knobs: Knobs;
  /** Producer processes and partitions, when not the scenario's. */
  readonly producers?: number;
  readonly partitions?: number;
}

export const KNOB_ROWS: readonly KnobRow[] = [
  {
    label: `SDK defaults: 4 producers, lingerMs ${DEFAULT_KNOBS.lingerMs}, maxBatchBytes ${DEFAULT_KNOBS.maxBatchBytes / 2 ** 20} MiB, long poll maxWaitMs ${DEFAULT_KNOBS.maxWaitMs}`,
    knobs: DEFAULT_KNOBS,
  },
  { label: '1 producer instead of 4', knobs: DEFAULT_KNOBS, producers: 1 },
  { label: '16 partitions instead of 4 (keyed records)', knobs: DEFAULT_KNOBS, partitions: 16 },
  { label: 'lingerMs 100', knobs: { ...DEFAULT_KNOBS, lingerMs: 100 } },
  { label: 'lingerMs 1000', knobs: { ...DEFAULT_KNOBS, lingerMs: 1000 } },
  {
    label: "lingerMs 1000, maxBatchBytes 16 KB (Kafka's batch.size)",
    knobs: { ...DEFAULT_KNOBS, lingerMs: 1000, maxBatchBytes: 16 * 1024 },
  },
  {
    label: "long poll maxWaitMs 500 (Kafka's fetch.max.wait.ms)",
    knobs: { ...DEFAULT_KNOBS, maxWaitMs: 500 },
  },
  { label: 'long poll maxWaitMs 20000 (the cap)', knobs: { ...DEFAULT_KNOBS, maxWaitMs: 20_000 } },
  { label: 'long poll minBytes 1 MB', knobs: { ...DEFAULT_KNOBS, minBytes: 1024 * 1024 } },
  { label: 'short poll every 1 s instead of a long poll', knobs: { ...DEFAULT_KNOBS, pollIntervalMs: 1000 } },
  {
    label: 'server head-read backoff 100 → 1000 ms (FetchTuning)',
    knobs: { ...DEFAULT_KNOBS, minPollMs: 100, maxPollMs: 1000 },
  },
  { label: 'batched: lingerMs 1000 + short poll every 1 s', knobs: BATCHED_KNOBS },
  { label: 'batched, 1 producer', knobs: BATCHED_KNOBS, producers: 1 },
  { label: 'batched, 16 partitions', knobs: BATCHED_KNOBS, partitions: 16 },
];

export function formatKnobTable(units: UnitCosts, scenario: Scenario = SCENARIOS[0]!): string {
  const lines = [
    `| knob (scenario: ${scenario.name}) | produce req/s | fetch req/s | WRU/s | RRU/s | $/month | $/month idle | est. end-to-end p50 on AWS |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const idle: Scenario = { ...scenario, name: 'idle', profile: [{ hours: 24, mbPerSec: 0 }] };
  for (const row of KNOB_ROWS) {
    const m = sluiceMonth(
      {
        ...scenario,
        producers: row.producers ?? scenario.producers,
        partitions: row.partitions ?? scenario.partitions,
      },
      units,
      row.knobs,
    );
    const latency = estimateLatency(units, row.knobs);
    lines.push(
      `| ${row.label} | ${m.produceRequestsPerSec.toFixed(1)} | ${m.fetchRequestsPerSec.toFixed(1)} | ${m.wruPerSec.toFixed(0)} | ${m.rruPerSec.toFixed(0)} | ${usd(m.bill.total)} | ${usd(sluiceMonth({ ...idle, partitions: row.partitions ?? idle.partitions }, units, row.knobs).bill.total)} | ${latency.endToEndMs.typical.toFixed(0)} ms |`,
    );
  }
  return lines.join('\n');
}

export function formatLatencyEstimate(units: UnitCosts, local?: { ackP50: number; e2eP50: number }): string {
  const e = estimateLatency(units, DEFAULT_KNOBS);
  return [
    '| ESTIMATE, not measured on AWS | typical ms | slow tail ms | local stack p50 ms (SDK, send() → …) |',
    '|---|--:|--:|--:|',
    `| produce ack: API Gateway + Lambda + S3 PUT + ${Math.round(units.dynamoWritesPerPartitionBatch)} DynamoDB writes | ${e.produceAckMs.typical.toFixed(0)} | ${e.produceAckMs.tail.toFixed(0)} | ${local ? local.ackP50.toFixed(0) : '—'} |`,
    `| end to end: lingerMs ${DEFAULT_KNOBS.lingerMs} + ack + notice (≤ ${DEFAULT_KNOBS.maxPollMs} ms poll) + Query + S3 GET + return | ${e.endToEndMs.typical.toFixed(0)} | ${e.endToEndMs.tail.toFixed(0)} | ${local ? local.e2eP50.toFixed(0) : '—'} |`,
  ].join('\n');
}
