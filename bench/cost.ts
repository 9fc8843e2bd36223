/**
 * The cost model: request counts measured on the local stack (bench/e2e.ts), turned into dollars with the
 * list prices of bench/prices.ts, for standard scenarios, next to Kinesis (on-demand and provisioned) and
 * MSK Serverless priced from their published prices; plus an estimate of latency on AWS.
 *
 * What is measured and what is modelled:
 * - measured (local stack, its clients counting each call): S3 PUTs per produce request; DynamoDB calls and
 *   capacity units per partition written, per head read, per index query, per heartbeat and per offset commit;
 *   S3 GETs per stored object read; stored (lz4) bytes per payload byte.
 * - run, not assumed: how many requests the producers make. The SDK producer itself runs on a virtual
 *   clock against a counting transport (bench/producer-model.ts) at each scenario's rate per producer,
 *   with the knob's options (profile, lingerMs, requestIntervalMs, maxBatchBytes) and the estimated
 *   acknowledgement time on AWS; its requests per second and partitions per request are what is priced.
 * - run, not assumed: what the SDK consumer sends when nothing arrives. It runs on a virtual clock against a
 *   counting transport (bench/consumer-model.ts) with the knob's consumer options: its long polls, the idle
 *   backoff's short fetches, the time a fetch is in flight, the server's head reads and its heartbeats
 *   (steady, after the settling ones) are what is priced for an idle segment, and its heartbeats for all.
 * - modelled: while records flow, each consumer member keeps one long poll in flight: it returns when
 *   minBytes are there or maxWaitMs passed, reading each partition's head at the fetch tuning's backoff
 *   (20 ms doubling to 250 ms). Lambda is billed for the whole long poll. Function memory: the CDK
 *   construct's defaults.
 * - AWS durations (Lambda GB-s) and latencies come from published typical latencies (LATENCIES_MS), not
 *   from this machine: emulators on one machine are not AWS.
 * Not counted: free tiers, CloudWatch logs and metrics, KMS, NAT/VPC endpoints, cold starts, retries.
 */
import {
  CONSUMER_DEFAULTS,
  CONSUMER_PROFILES,
  type ConsumerOptions,
  PRODUCER_DEFAULTS,
  type ProducerOptions,
} from '../client';
import { DEFAULT_FETCH_TUNING } from '../shared/log/fetch';
import { type ConsumerRunResult, runConsumerModel } from './consumer-model';
import { type Counters, type E2EResult, totals } from './e2e';
import { LATENCIES_MS, PRICES, PRICES_CHECKED, PRICES_REGION } from './prices';
import { type ProducerRunResult, runProducerModel } from './producer-model';
import type { OpCount } from './storage-calls';
import type { WorkloadName } from './workloads';

const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** AWS bills a GB as 2^30 bytes. */
const GB = 2 ** 30;
const MB = 1e6;
/** Function memory, GB: the CDK construct's defaults (cdk/sluice-construct.ts DEFAULT_MEMORY_MB); fetch's is a knob. */
const MEMORY_GB = { produce: 1, groups: 0.5, cleanup: 1 } as const;
/** The consumer's auto-commit interval (CONSUMER_DEFAULTS); it commits only offsets that moved. */
const COMMIT_INTERVAL_S = CONSUMER_DEFAULTS.autoCommitIntervalMs / 1000;

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

/** The fetch function's default memory (cdk/sluice-construct.ts DEFAULT_MEMORY_MB.fetch). */
export const FETCH_MEMORY_MB = 256;

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
  /** The SDK producer's options (profile, lingerMs, requestIntervalMs, maxBatchBytes, …), run as they are. */
  readonly producer: ProducerOptions;
  /** The SDK consumer's options besides maxWaitMs and minBytes (profile, idle backoff, session), run as they are. */
  readonly consumer: ConsumerOptions;
  /** Consumer long poll: the longest wait, and the bytes that end it sooner. */
  readonly maxWaitMs: number;
  readonly minBytes: number;
  /** Consumer that sleeps this long between short fetches (maxWaitMs 0) instead of long-polling; 0: long poll. */
  readonly pollIntervalMs: number;
  /** Server: the long poll's head-read backoff (FetchTuning minPollMs, maxPollMs). */
  readonly minPollMs: number;
  readonly maxPollMs: number;
  /** How produce and fetch reach their functions: API Gateway (the default) or Lambda function URLs. */
  readonly dataPath: 'apiGateway' | 'functionUrls';
  /** Memory of the fetch function, which a long poll holds while it waits, in MB. */
  readonly fetchMemoryMb: number;
}

/** The client SDK's defaults (client/producer.ts, client/consumer/types.ts) and the server's fetch tuning. */
export const DEFAULT_KNOBS: Knobs = {
  producer: {},
  consumer: {},
  maxWaitMs: CONSUMER_DEFAULTS.maxWaitMs,
  minBytes: CONSUMER_DEFAULTS.minBytes,
  pollIntervalMs: 0,
  minPollMs: DEFAULT_FETCH_TUNING.minPollMs,
  maxPollMs: DEFAULT_FETCH_TUNING.maxPollMs,
  dataPath: 'apiGateway',
  fetchMemoryMb: FETCH_MEMORY_MB,
};

/** Batched for cost: the producer's and the consumer's `cost` profiles, consumers fetching once a second. */
export const BATCHED_KNOBS: Knobs = {
  ...DEFAULT_KNOBS,
  producer: { profile: 'cost' },
  consumer: { profile: 'cost' },
  pollIntervalMs: 1000,
};

/** The SDK defaults with the optional data path of Lambda function URLs (no API Gateway fee). */
export const FUNCTION_URL_KNOBS: Knobs = { ...DEFAULT_KNOBS, dataPath: 'functionUrls' };

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

/** The legs in front of a data-path function: API Gateway, or nothing with a function URL. */
const front = (knobs: Knobs): Leg[] => (knobs.dataPath === 'apiGateway' ? ['apiGateway'] : []);

/**
 * Estimated latency on AWS from the measured call sequence: a produce request is API Gateway (none with
 * function URLs), a warm Lambda, one S3 PUT, then the partition's DynamoDB writes in sequence (reserve,
 * commit, advance; partitions in parallel). End to end adds how long records wait for their request
 * (`produceWaitMs`, from the producer model: lingerMs and the pacing at the scenario's rate), the consumer
 * noticing the new high-water mark (half the poll pause, on average), then a Query, an S3 GET and the
 * fetch's way back.
 */
export function estimateLatency(units: UnitCosts, knobs: Knobs, produceWaitMs = 0): LatencyEstimate {
  const writes = Math.max(1, Math.round(units.dynamoWritesPerPartitionBatch));
  const produce = path([...front(knobs), 'lambdaInvoke', 's3Put', ...Array<Leg>(writes).fill('dynamoWrite')]);
  const fetchBack = path(['dynamoRead', 's3Get', 'lambdaInvoke', ...front(knobs)]);
  const notice =
    knobs.pollIntervalMs > 0
      ? { typical: knobs.pollIntervalMs / 2, tail: knobs.pollIntervalMs }
      : { typical: knobs.maxPollMs / 2, tail: knobs.maxPollMs };
  return {
    produceAckMs: produce,
    endToEndMs: {
      typical: produceWaitMs + produce.typical + notice.typical + fetchBack.typical,
      tail: produceWaitMs + produce.tail + notice.tail + fetchBack.tail,
    },
  };
}

// ————————————————————————————————————————————— the producer, run

/**
 * What one SDK producer does at a scenario's rate with a knob's options: run once on the virtual clock
 * (bench/producer-model.ts), then looked up. `prepare` runs what `get` will be asked.
 */
export class ProducerModel {
  private readonly runs = new Map<string, ProducerRunResult>();
  /** The SDK consumer on an idle topic, by its options and the partitions one member owns. */
  private readonly consumerRuns = new Map<string, ConsumerRunResult>();

  constructor(
    private readonly units: UnitCosts,
    /** Virtual seconds per run. */
    private readonly seconds = 10,
  ) {}

  private inputs(scenario: Scenario, knobs: Knobs, bytesPerSec: number) {
    const recordsPerSec = bytesPerSec / scenario.producers / this.units.recordBytes;
    const ackMs = Math.round(estimateLatency(this.units, knobs).produceAckMs.typical);
    const key = JSON.stringify([knobs.producer, Math.round(recordsPerSec * 100), scenario.partitions, ackMs]);
    return { recordsPerSec, ackMs, key };
  }

  private consumerInputs(scenario: Scenario, knobs: Knobs) {
    const options: ConsumerOptions = {
      ...knobs.consumer,
      maxWaitMs: knobs.maxWaitMs,
      minBytes: knobs.minBytes,
    };
    const partitions = Math.ceil(scenario.partitions / scenario.membersPerGroup);
    const tuning = { minPollMs: knobs.minPollMs, maxPollMs: knobs.maxPollMs };
    return { options, partitions, tuning, key: JSON.stringify([options, partitions, tuning]) };
  }

  /** What one group member of the scenario sends on an idle topic, counted on the virtual clock. */
  consumer(scenario: Scenario, knobs: Knobs): ConsumerRunResult {
    const run = this.consumerRuns.get(this.consumerInputs(scenario, knobs).key);
    if (run === undefined) throw new Error(`the consumer model was not prepared for ${scenario.name}`);
    return run;
  }

  async prepare(scenario: Scenario, knobs: Knobs): Promise<void> {
    const c = this.consumerInputs(scenario, knobs);
    if (!this.consumerRuns.has(c.key)) {
      this.consumerRuns.set(
        c.key,
        await runConsumerModel({
          options: c.options,
          partitions: c.partitions,
          tuning: c.tuning,
          seconds: 1800,
        }),
      );
    }
    for (const segment of scenario.profile) {
      if (segment.mbPerSec <= 0) continue;
      const { recordsPerSec, ackMs, key } = this.inputs(scenario, knobs, segment.mbPerSec * MB);
      if (this.runs.has(key)) continue;
      this.runs.set(
        key,
        await runProducerModel({
          options: knobs.producer,
          recordsPerSec,
          partitions: scenario.partitions,
          ackMs,
          seconds: this.seconds,
        }),
      );
    }
  }

  get(scenario: Scenario, knobs: Knobs, bytesPerSec: number): ProducerRunResult {
    const run = this.runs.get(this.inputs(scenario, knobs, bytesPerSec).key);
    if (run === undefined) throw new Error(`the producer model was not prepared for ${scenario.name}`);
    return run;
  }
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
  /** Mean ms from send() to acknowledgement on AWS (model: lingerMs, pacing, estimated ack), by bytes. */
  readonly produceWaitMs: number;
  readonly partitionsPerRequest: number;
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
  model: ProducerModel,
): { produce: Usage; consume: Usage; partitionBatchesPerSec: number } {
  const produce = zeroUsage();
  const consume = zeroUsage();
  const P = scenario.partitions;
  const viaApi = knobs.dataPath === 'apiGateway' ? 1 : 0;
  let partitionBatchesPerSec = 0;
  let requestsPerSec = 0;
  let touched = 0;

  if (bytesPerSec > 0) {
    // Producers: what the SDK producer did at this rate per producer, counted on the virtual clock.
    const run = model.get(scenario, knobs, bytesPerSec);
    requestsPerSec = scenario.producers * run.requestsPerSec;
    touched = run.partitionsPerRequest;
    partitionBatchesPerSec = scenario.producers * run.partitionBatchesPerSec;
    const produceSeconds =
      (LATENCIES_MS.lambdaInvoke.typical +
        LATENCIES_MS.s3Put.typical +
        units.dynamoWritesPerPartitionBatch * LATENCIES_MS.dynamoWrite.typical) /
      1000;
    produce.produceRequests = requestsPerSec;
    produce.api = requestsPerSec * viaApi;
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
  const fetchPath =
    path([...front(knobs), 'lambdaInvoke', 'dynamoRead', 'dynamoRead', 's3Get']).typical / 1000;
  let fetchInterval: number;
  let fetchSeconds: number;
  let headReads: number;
  // The consumer as it runs on an idle topic (virtual clock): its steady heartbeats, and its fetches.
  const idleRun = model.consumer(scenario, knobs);
  if (bytesPerSec <= 0 && knobs.pollIntervalMs <= 0) {
    // Idle: what the SDK consumer did, per member (long polls, or the idle backoff's short fetches).
    const perMember = idleRun.longPollsPerSec + idleRun.shortFetchesPerSec;
    fetchInterval = 1 / perMember;
    fetchSeconds = (idleRun.fetchBusy + perMember * fetchPath) / perMember;
    headReads = idleRun.headReadsPerSec / perMember;
  } else if (knobs.pollIntervalMs > 0) {
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
  consume.api = fetchesPerSec * viaApi;
  consume.lambdaRequests = fetchesPerSec;
  consume.lambdaGbS = fetchesPerSec * fetchSeconds * (knobs.fetchMemoryMb / 1024);
  consume.rru =
    fetchesPerSec *
    (headReads * units.rruPerHeadRead +
      partitionsWithData * units.queriesPerPartitionWithData * units.rruPerQuery);
  // Each stored object is read once per member whose partitions it holds (no cross-group cache hits).
  consume.s3Gets = members * arrivalsPerSec * units.s3GetsPerObject;
  // Group upkeep: heartbeats, and offset commits every COMMIT_INTERVAL_S, only when offsets moved
  // (the consumer commits nothing on an idle topic).
  const heartbeatsPerSec = members * idleRun.heartbeatsPerSec;
  const commitsPerSec = members * Math.min(1 / COMMIT_INTERVAL_S, arrivalsPerSec);
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

export function sluiceMonth(
  scenario: Scenario,
  units: UnitCosts,
  knobs: Knobs,
  model: ProducerModel,
): SluiceMonth {
  const days = SECONDS_PER_MONTH / 86_400;
  let produceBill = priceUsage(zeroUsage(), 0);
  let consumeBill = priceUsage(zeroUsage(), 0);
  let bytesPerDay = 0;
  let batchesPerDay = 0;
  const perSecond = { produce: 0, fetch: 0, wru: 0, rru: 0, partitions: 0 };
  let waitWeighted = 0;
  for (const segment of scenario.profile) {
    const seconds = segment.hours * 3600 * days;
    const u = usagePerSecond(scenario, units, knobs, segment.mbPerSec * MB, model);
    if (segment.mbPerSec > 0) {
      const run = model.get(scenario, knobs, segment.mbPerSec * MB);
      waitWeighted += run.meanAckMs * segment.mbPerSec * segment.hours;
      perSecond.partitions +=
        run.partitionsPerRequest * run.requestsPerSec * scenario.producers * (segment.hours / 24);
    }
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
  const mbHours = scenario.profile.reduce((sum, x) => sum + x.mbPerSec * x.hours, 0);
  return {
    bill,
    produceWaitMs: mbHours > 0 ? waitWeighted / mbHours : 0,
    partitionsPerRequest: perSecond.produce > 0 ? perSecond.partitions / perSecond.produce : 0,
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

/** The Sluice settings priced side by side in the scenario and bill tables. */
export const SETTINGS: readonly { readonly label: string; readonly knobs: Knobs }[] = [
  { label: 'SDK defaults', knobs: DEFAULT_KNOBS },
  { label: 'SDK defaults, function URLs', knobs: FUNCTION_URL_KNOBS },
  { label: 'batched', knobs: BATCHED_KNOBS },
  { label: 'batched, function URLs', knobs: { ...BATCHED_KNOBS, dataPath: 'functionUrls' } },
];

export interface CostReport {
  readonly units: UnitCosts;
  readonly model: ProducerModel;
  readonly scenarios: {
    scenario: Scenario;
    /** One per SETTINGS row, in its order. */
    sluice: SluiceMonth[];
    alternatives: AlternativeMonth[];
  }[];
}

export async function costReport(
  result: E2EResult,
  workload: WorkloadName = 'webAccessLog',
): Promise<CostReport> {
  const units = unitCosts(result, workload);
  const model = new ProducerModel(units);
  for (const scenario of SCENARIOS) for (const { knobs } of SETTINGS) await model.prepare(scenario, knobs);
  for (const row of KNOB_ROWS) await model.prepare(knobScenario(row), row.knobs);
  return {
    units,
    model,
    scenarios: SCENARIOS.map((scenario) => ({
      scenario,
      sluice: SETTINGS.map(({ knobs }) => sluiceMonth(scenario, units, knobs, model)),
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
    '| scenario | GB in / month | Sluice, SDK defaults (profile balanced, long poll) | Sluice, SDK defaults, function URLs | Sluice, batched (profile cost, fetch every 1 s) | Kinesis on-demand | Kinesis provisioned | MSK Serverless |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const cell = (total: number, perGbIn: number, perGbOut: number) =>
    Number.isFinite(perGbIn)
      ? `${usd(total)} (${usd(perGbIn)}/GB in${perGbOut > 0 ? `, ${usd(perGbOut)}/GB out` : ''})`
      : usd(total);
  const month = (m: SluiceMonth | undefined) => (m ? cell(m.bill.total, m.perGbIn, m.perGbOut) : '—');
  for (const { scenario, sluice, alternatives } of report.scenarios) {
    const alt = alternatives.map((a) => cell(a.total, a.perGbIn, a.perGbOut));
    const [defaults, urls, batched] = sluice;
    lines.push(
      `| ${scenario.name} | ${(defaults?.gbIn ?? 0).toFixed(0)} | ${month(defaults)} | ${month(urls)} | ` +
        `**${month(batched)}** | ${alt.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function formatBillTable(report: CostReport): string {
  const lines = [
    '| scenario | Sluice settings | produce req/s | partitions / request | fetch req/s | WRU/s | RRU/s | API Gateway | Lambda | S3 requests | S3 storage | DynamoDB requests | DynamoDB storage | total |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { scenario, sluice } of report.scenarios) {
    sluice.forEach((m, i) => {
      const b = m.bill;
      lines.push(
        `| ${scenario.name} | ${SETTINGS[i]!.label} | ${m.produceRequestsPerSec.toFixed(1)} | ${m.produceRequestsPerSec > 0 ? m.partitionsPerRequest.toFixed(2) : '—'} | ${m.fetchRequestsPerSec.toFixed(1)} | ${m.wruPerSec.toFixed(0)} | ${m.rruPerSec.toFixed(0)} | ${usd(b.apiGateway)} | ${usd(b.lambda)} | ${usd(b.s3Requests)} | ${usd(b.s3Storage)} | ${usd(b.dynamoRequests)} | ${usd(b.dynamoStorage)} | ${usd(b.total)} |`,
      );
    });
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

const withProducer = (producer: Knobs['producer']): Knobs => ({ ...DEFAULT_KNOBS, producer });

export const KNOB_ROWS: readonly KnobRow[] = [
  {
    label: `SDK defaults: 4 producers, profile balanced (lingerMs ${PRODUCER_DEFAULTS.lingerMs}, requestIntervalMs ${PRODUCER_DEFAULTS.requestIntervalMs}), consumer profile balanced (long poll maxWaitMs ${DEFAULT_KNOBS.maxWaitMs}; idle after ${CONSUMER_PROFILES.balanced.idleAfterMs / 1000} s of empty ones: a short fetch every ${CONSUMER_PROFILES.balanced.idleFetchIntervalMs / 1000} s; session ${CONSUMER_PROFILES.balanced.sessionTimeoutMs / 1000} s), fetch ${FETCH_MEMORY_MB} MB`,
    knobs: DEFAULT_KNOBS,
  },
  {
    label: `consumer profile latency (long-polls when idle too, session ${CONSUMER_PROFILES.latency.sessionTimeoutMs / 1000} s: the SDK default before profiles)`,
    knobs: { ...DEFAULT_KNOBS, consumer: { profile: 'latency' } },
  },
  {
    label: `consumer profile cost (idle: a short fetch every ${CONSUMER_PROFILES.cost.idleFetchIntervalMs / 1000} s; session ${CONSUMER_PROFILES.cost.sessionTimeoutMs / 1000} s)`,
    knobs: { ...DEFAULT_KNOBS, consumer: { profile: 'cost' } },
  },
  {
    label: 'consumer idleFetchIntervalMs 1000',
    knobs: { ...DEFAULT_KNOBS, consumer: { idleFetchIntervalMs: 1000 } },
  },
  { label: '1 producer instead of 4', knobs: DEFAULT_KNOBS, producers: 1 },
  { label: '16 partitions instead of 4 (keyed records)', knobs: DEFAULT_KNOBS, partitions: 16 },
  {
    label: "profile latency (lingerMs 0, no pacing: Kafka's behaviour)",
    knobs: withProducer({ profile: 'latency' }),
  },
  {
    label: 'profile latency, lingerMs 5 (the SDK default before profiles)',
    knobs: withProducer({ profile: 'latency', lingerMs: 5 }),
  },
  { label: 'profile latency, lingerMs 100', knobs: withProducer({ profile: 'latency', lingerMs: 100 }) },
  { label: 'requestIntervalMs 250', knobs: withProducer({ requestIntervalMs: 250 }) },
  { label: 'requestIntervalMs 2000', knobs: withProducer({ requestIntervalMs: 2000 }) },
  { label: 'profile cost (lingerMs 1000, requestIntervalMs 5000)', knobs: withProducer({ profile: 'cost' }) },
  {
    label: "profile cost, maxBatchBytes 16 KB (Kafka's batch.size)",
    knobs: withProducer({ profile: 'cost', maxBatchBytes: 16 * 1024 }),
  },
  { label: 'function URLs for produce and fetch (no API Gateway fee)', knobs: FUNCTION_URL_KNOBS },
  { label: 'fetch function 512 MB', knobs: { ...DEFAULT_KNOBS, fetchMemoryMb: 512 } },
  { label: 'fetch function 128 MB', knobs: { ...DEFAULT_KNOBS, fetchMemoryMb: 128 } },
  {
    label: "long poll maxWaitMs 500 (Kafka's fetch.max.wait.ms)",
    knobs: { ...DEFAULT_KNOBS, maxWaitMs: 500 },
  },
  { label: 'long poll maxWaitMs 20000 (the cap)', knobs: { ...DEFAULT_KNOBS, maxWaitMs: 20_000 } },
  { label: 'long poll minBytes 1 MB', knobs: { ...DEFAULT_KNOBS, minBytes: 1024 * 1024 } },
  { label: 'short poll every 1 s instead of a long poll', knobs: { ...DEFAULT_KNOBS, pollIntervalMs: 1000 } },
  { label: 'short poll every 10 s', knobs: { ...DEFAULT_KNOBS, pollIntervalMs: 10_000 } },
  {
    label: 'server head-read backoff 100 → 1000 ms (FetchTuning)',
    knobs: { ...DEFAULT_KNOBS, minPollMs: 100, maxPollMs: 1000 },
  },
  { label: 'batched: profile cost + short poll every 1 s', knobs: BATCHED_KNOBS },
  { label: 'batched, function URLs', knobs: { ...BATCHED_KNOBS, dataPath: 'functionUrls' } },
  { label: 'batched, 1 producer', knobs: BATCHED_KNOBS, producers: 1 },
  { label: 'batched, 16 partitions', knobs: BATCHED_KNOBS, partitions: 16 },
];

function knobScenario(row: KnobRow, scenario: Scenario = SCENARIOS[0]!): Scenario {
  return {
    ...scenario,
    producers: row.producers ?? scenario.producers,
    partitions: row.partitions ?? scenario.partitions,
  };
}

export function formatKnobTable(report: CostReport, scenario: Scenario = SCENARIOS[0]!): string {
  const { units, model } = report;
  const lines = [
    `| knob (scenario: ${scenario.name}) | produce req/s | partitions / request | fetch req/s | WRU/s | RRU/s | $/month | $/month idle | produce wait p50 (send → ack) | est. end-to-end on AWS |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of KNOB_ROWS) {
    const s = knobScenario(row, scenario);
    const m = sluiceMonth(s, units, row.knobs, model);
    const idle = sluiceMonth(
      { ...s, name: 'idle', profile: [{ hours: 24, mbPerSec: 0 }], producers: 1 },
      units,
      row.knobs,
      model,
    );
    const latency = estimateLatency(units, row.knobs, m.produceWaitMs);
    lines.push(
      `| ${row.label} | ${m.produceRequestsPerSec.toFixed(1)} | ${m.partitionsPerRequest.toFixed(2)} | ${m.fetchRequestsPerSec.toFixed(1)} | ${m.wruPerSec.toFixed(0)} | ${m.rruPerSec.toFixed(0)} | ${usd(m.bill.total)} | ${usd(idle.bill.total)} | ${m.produceWaitMs.toFixed(0)} ms | ${latency.endToEndMs.typical.toFixed(0)} ms |`,
    );
  }
  return lines.join('\n');
}

export function formatLatencyEstimate(
  report: CostReport,
  local?: { ackP50: number; e2eP50: number },
): string {
  const { units, model } = report;
  const m = sluiceMonth(SCENARIOS[0]!, units, DEFAULT_KNOBS, model);
  const e = estimateLatency(units, DEFAULT_KNOBS, m.produceWaitMs);
  const urls = estimateLatency(units, FUNCTION_URL_KNOBS);
  return [
    '| ESTIMATE, not measured on AWS | typical ms | slow tail ms | local stack p50 ms (SDK, send() → …) |',
    '|---|--:|--:|--:|',
    `| produce request: API Gateway + Lambda + S3 PUT + ${Math.round(units.dynamoWritesPerPartitionBatch)} DynamoDB writes | ${e.produceAckMs.typical.toFixed(0)} | ${e.produceAckMs.tail.toFixed(0)} | ${local ? local.ackP50.toFixed(0) : '—'} |`,
    `| produce request through a function URL (no API Gateway) | ${urls.produceAckMs.typical.toFixed(0)} | ${urls.produceAckMs.tail.toFixed(0)} | — |`,
    `| end to end at 1 MB/s from 4 producers, SDK defaults: wait for the request (mean ${m.produceWaitMs.toFixed(0)} ms, ack included) + notice (≤ ${DEFAULT_KNOBS.maxPollMs} ms poll) + Query + S3 GET + return | ${e.endToEndMs.typical.toFixed(0)} | ${e.endToEndMs.tail.toFixed(0)} | ${local ? local.e2eP50.toFixed(0) : '—'} |`,
  ].join('\n');
}

export interface CostSection {
  readonly key: 'units' | 'scenarios' | 'bill' | 'knobs' | 'estimate';
  readonly title: string;
  readonly intro: string;
  readonly table: string;
}

/** The cost model's sections of bench/results.md (and the README's benchmark tables), in order. */
export function costSections(report: CostReport, local?: { ackP50: number; e2eP50: number }): CostSection[] {
  const transfer = PRICES.dataTransferOutGb.usd;
  return [
    {
      key: 'units',
      title: 'Cost model: unit costs',
      intro: 'The measured inputs of the cost model (webAccessLog workload).',
      table: formatUnitCosts(report.units),
    },
    {
      key: 'scenarios',
      title: 'Cost per month and per GB, side by side',
      intro: `List prices of ${PRICES_REGION} checked ${PRICES_CHECKED} (bench/prices.ts, sources there; some marked unverified). 24 h retention everywhere, consumers in the region (no transfer charges), no free tiers. Sluice's produce requests are the SDK producer's own, run at each scenario's rate per producer on a virtual clock against a counting transport (bench/producer-model.ts), not assumed. SDK defaults: profile \`balanced\` (lingerMs ${PRODUCER_DEFAULTS.lingerMs}, requestIntervalMs ${PRODUCER_DEFAULTS.requestIntervalMs}: sustained load is paced to one request a second per producer, carrying every partition), one request in flight; consumers of profile \`balanced\` long-polling with maxWaitMs ${CONSUMER_DEFAULTS.maxWaitMs / 1000} s while records come, and after ${CONSUMER_PROFILES.balanced.idleAfterMs / 1000} s of empty long polls fetching short every ${CONSUMER_PROFILES.balanced.idleFetchIntervalMs / 1000} s until they do (run on a virtual clock, bench/consumer-model.ts), heartbeating every ${CONSUMER_PROFILES.balanced.sessionTimeoutMs / 3000} s when steady; fetch function ${FETCH_MEMORY_MB} MB; API Gateway in front, or Lambda function URLs for produce and fetch (\`sluice:dataPath=functionUrls\`). Batched: producer and consumer profile \`cost\` (requestIntervalMs 5000; heartbeat every ${CONSUMER_PROFILES.cost.sessionTimeoutMs / 3000} s), consumers fetching once a second. GB = 2^30 bytes of uncompressed records. Kinesis with KPL-aggregated records and shared-throughput consumers; provisioned shards sized for the peak. MSK Serverless with lz4-compressed Kafka clients. $/GB in: producing and storing; $/GB out: per GB read by one group. Consumers outside AWS add $${transfer}/GB transferred: Sluice and MSK transfer lz4-compressed bytes ($${(transfer * report.units.storedPerPayload).toFixed(3)} per GB of records), Kinesis the records as sent.`,
      table: formatScenarioTable(report),
    },
    {
      key: 'bill',
      title: "Sluice's bill by service",
      intro:
        'Where the Sluice dollars go, and the request rates behind them (averaged over the day). Partitions per request: as the producer model counted them.',
      table: formatBillTable(report),
    },
    {
      key: 'knobs',
      title: 'Knobs that move the cost',
      intro: `The first scenario with one setting changed at a time; "idle" is the same topic with no traffic and one group member. Produce wait: mean ms from send() to the acknowledgement in the producer model (lingerMs, pacing, and the estimated AWS acknowledgement time). Long-polling consumers pay Lambda for the whole wait (${FETCH_MEMORY_MB} MB, one fetch in flight per member), each partition's head is read at the server's backoff and heartbeats go through API Gateway: at low rates that, not the data, is most of the bill. So the consumer's profile backs off on an idle topic (a short fetch every idleFetchIntervalMs once long polls have come back empty for idleAfterMs, back to long polls with the first records) and heartbeats at a third of its session timeout when steady; the idle column is that consumer as it ran on a virtual clock (bench/consumer-model.ts).`,
      table: formatKnobTable(report),
    },
    {
      key: 'estimate',
      title: 'Latency on AWS: an ESTIMATE',
      intro:
        'Not measured on AWS. The measured call sequence of a produce and of a fetch, priced in time with published typical latencies (bench/prices.ts LATENCIES_MS: S3 tens of ms, DynamoDB single-digit ms, API Gateway 10–30 ms); warm functions, no cold starts. The wait for the request comes from the producer model. The local column is this machine, for contrast only.',
      table: formatLatencyEstimate(report, local),
    },
  ];
}
