/**
 * The scenarios of the reliability matrix, each a function of a seed and a scale: the short scale runs
 * inside `npm test`, the long one in `npm run test:reliability`. Each starts its own system under test,
 * runs a seeded load with its faults, removes the faults, lets the log settle, reads everything back
 * with a fresh reader, audits storage, and checks the history.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logTopicMetadata } from '../../shared/api/services';
import { createServices } from '../../shared/app';
import { GroupService } from '../../shared/groups/group-service';
import { type LocalStack, startLocalStack } from '../../shared/local/stack';
import { type CrashPoint, SimulatedCrash } from '../../shared/log/faults';
import { runCleanup } from '../../shared/retention';
import { DynamoGroupStore } from '../../shared/store/group-store';
import { createLogHarness, lostResponse, type WireHook } from '../support/log';
import { startTestStorage, type TestStorage } from '../support/storage';
import { type DirectStorage, readAll, StorageAuditor, settle } from './audit';
import { fuzzBadInput } from './bad-input';
import { type CheckOptions, checkHistory, type KnownAbortedRange, type Violation } from './checker';
import { ChildStack, directStorage, type StackUnderTest, startStack } from './environment';
import { FAULTS, type FaultAction, type FaultPolicy, type ProxiedRequest } from './fault-proxy';
import {
  type ConsumerStats,
  DirectGroupApi,
  type GroupApi,
  GroupConsumer,
  HttpGroupApi,
} from './groups-workload';
import { Recorder } from './history';
import { Random } from './prng';
import { probeTokenMode } from './security';
import { HttpTransport, InProcessTransport, type LogTransport } from './transport';
import { Poller, Producer, type ProducerSpec, type RunClock } from './workloads';

export type Scale = 'short' | 'long';

export interface ScenarioOptions {
  readonly seed: number;
  readonly scale: Scale;
  readonly log?: (line: string) => void;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly seed: number;
  readonly operations: number;
  readonly faults: number;
  readonly violations: readonly Violation[];
  /** All violations per invariant (violations keeps a sample). */
  readonly counts: Readonly<Record<string, number>>;
  readonly notes?: string;
}

export interface Scenario {
  readonly name: string;
  /** The matrix cases it exercises. */
  readonly covers: string;
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const debug = process.env.RELIABILITY_DEBUG
  ? (line: string) => console.error(`[${new Date().toISOString()}] ${line}`)
  : () => {};
let topicCounter = 0;
const topicName = (prefix: string, seed: number) =>
  `${prefix}-${seed}-${(topicCounter++).toString(36)}-${Date.now().toString(36)}`;

/** Producers and pollers together, until the producers are done (or their bounds run out). */
async function runLoad(
  transport: LogTransport,
  recorder: Recorder,
  rng: Random,
  plan: {
    producers: { spec: ProducerSpec; transport?: LogTransport }[];
    pollers?: { name: string; topic: string; partitions: number[]; maxWaitMs: [number, number] }[];
    durationMs: number;
    giveUpMs: number;
  },
  tag: string,
): Promise<Violation[]> {
  const clock: RunClock = {
    stopAt: Date.now() + plan.durationMs,
    giveUpAt: Date.now() + plan.durationMs + plan.giveUpMs,
  };
  const producers = plan.producers.map(
    (p) => new Producer(p.spec, p.transport ?? transport, recorder, rng.fork(), tag),
  );
  const pollers = (plan.pollers ?? []).map(
    (p) => new Poller(p.name, p.topic, p.partitions, transport, recorder, rng.fork(), p.maxWaitMs),
  );
  const polling = pollers.map((p) => p.run());
  debug(`load: ${producers.length} producers, ${pollers.length} pollers`);
  await Promise.all(producers.map((p) => p.run(clock)));
  debug(`load: producers done, ${recorder.operations} ops`);
  for (const p of pollers) p.stopped = true;
  await Promise.all(polling);
  debug('load: pollers done');
  return producers.flatMap((p) => p.anomalies);
}

type ProducerShape = Omit<
  ProducerSpec,
  'name' | 'producerId' | 'epoch' | 'topic' | 'partitionCount' | 'partition'
>;

/**
 * Producers p0…p(n−1) of a topic at epoch 0, ids from firstId: producer i writes partition i % partitions,
 * or with `keyed` keyed records over all of them. `shape(i)` gives the rest of each spec.
 */
function producerSpecs(
  n: number,
  firstId: number,
  target: { readonly topic: string; readonly partitions: number; readonly keyed?: boolean },
  shape: (i: number) => ProducerShape,
): { spec: ProducerSpec }[] {
  const { topic, partitions, keyed } = target;
  return Array.from({ length: n }, (_, i) => ({
    spec: {
      name: `p${i}`,
      producerId: firstId + i,
      epoch: 0,
      topic,
      partitionCount: partitions,
      ...(keyed ? {} : { partition: i % partitions }),
      ...shape(i),
    },
  }));
}

/** Pollers r0…r(n−1) of a topic: poller i reads partitionsOf(i), with long polls drawn from maxWaitMs. */
function pollerSpecs(
  n: number,
  topic: string,
  partitionsOf: (i: number) => number[],
  maxWaitMs: [number, number],
): { name: string; topic: string; partitions: number[]; maxWaitMs: [number, number] }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `r${i}`,
    topic,
    partitions: partitionsOf(i),
    maxWaitMs,
  }));
}

/** Settle, read back with a fresh reader, audit, check. */
async function finish(args: {
  scenario: string;
  seed: number;
  recorder: Recorder;
  topics: string[];
  /** A fresh transport for the final read and the nudges of settling. */
  reader: LogTransport;
  direct: DirectStorage;
  settleMs: number;
  faults: number;
  extra?: Violation[];
  committed?: Map<string, number>;
  aborted?: KnownAbortedRange[];
  options?: CheckOptions;
  notes?: string;
}): Promise<ScenarioResult> {
  const auditor = new StorageAuditor(args.direct);
  const final = [];
  const audit = [];
  for (const topic of args.topics) {
    await settle(auditor, args.reader, topic, args.settleMs);
    debug('finish: settled');
    final.push(...(await readAll(args.reader, topic)));
    debug('finish: read back');
    audit.push(...(await auditor.audit(topic)));
    debug('finish: audited');
  }
  const checked = checkHistory({
    events: args.recorder.events,
    final,
    audit,
    ...(args.committed ? { committed: args.committed } : {}),
    ...(args.aborted ? { aborted: args.aborted } : {}),
    ...(args.options ? { options: args.options } : {}),
  });
  const extra = args.extra ?? [];
  if (process.env.RELIABILITY_DUMP) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      join(process.env.RELIABILITY_DUMP, `${args.scenario.split(' ')[0]}-${args.seed}.json`),
      JSON.stringify(
        { events: args.recorder.events, final: final.map((f) => ({ ...f, records: [...f.records] })), audit },
        null,
        0,
      ),
    );
  }
  const counts = { ...checked.counts };
  for (const v of extra) counts[v.invariant] = (counts[v.invariant] ?? 0) + 1;
  return {
    scenario: args.scenario,
    seed: args.seed,
    operations: args.recorder.operations,
    faults: args.faults,
    violations: [...extra.slice(0, 20), ...checked.violations],
    counts,
    ...(args.notes ? { notes: args.notes } : {}),
  };
}

/** What a scenario runs against: a transport for the load, a fresh reader, storage reached directly. */
interface ScenarioSystem {
  readonly transport: LogTransport;
  readonly reader: LogTransport;
  readonly direct: DirectStorage;
  stop(): Promise<void>;
}

interface HttpSystem extends ScenarioSystem {
  readonly sut: StackUnderTest;
  readonly transport: HttpTransport;
  readonly reader: HttpTransport;
}

/** The local stack over HTTP (behind its fault proxies if asked); the reader goes where the clients go. */
async function httpSystem(
  options: Parameters<typeof startStack>[0] & { readerPastApiProxy?: boolean } = {},
): Promise<HttpSystem> {
  const { readerPastApiProxy, ...stackOptions } = options;
  const sut = await startStack(stackOptions);
  const transport = new HttpTransport(sut.url);
  const reader = new HttpTransport(readerPastApiProxy ? sut.stack.url : sut.url);
  return {
    sut,
    transport,
    reader,
    direct: sut.direct,
    async stop() {
      transport.close();
      reader.close();
      await sut.stop();
    },
  };
}

type ScenarioFinish = Omit<
  Parameters<typeof finish>[0],
  'scenario' | 'seed' | 'recorder' | 'reader' | 'direct'
>;

/** A load of `shortMs` at the short scale, of a minute at the long one. */
type ScaledLoadPlan = Omit<Parameters<typeof runLoad>[3], 'durationMs'> & { readonly shortMs: number };

interface ScenarioRun<S extends ScenarioSystem> {
  readonly seed: number;
  readonly scale: Scale;
  readonly rng: Random;
  readonly system: S;
  readonly recorder: Recorder;
  /** runLoad() on the system's transport, recorded by this run. */
  load(plan: ScaledLoadPlan): Promise<Violation[]>;
  /** finish() with this run's scenario, seed, recorder, reader and storage. */
  finish(args: ScenarioFinish): Promise<ScenarioResult>;
}

/** Starts the system (it may draw from the run's seeded random), runs the body, stops the system. */
async function withScenario<S extends ScenarioSystem>(
  scenario: string,
  { seed, scale }: ScenarioOptions,
  start: (rng: Random) => Promise<S>,
  body: (run: ScenarioRun<S>) => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  const rng = new Random(seed);
  const system = await start(rng);
  const recorder = new Recorder();
  try {
    return await body({
      seed,
      scale,
      rng,
      system,
      recorder,
      load: ({ shortMs, ...plan }) =>
        runLoad(
          system.transport,
          recorder,
          rng,
          { ...plan, durationMs: scale === 'short' ? shortMs : 60_000 },
          `s${seed}`,
        ),
      finish: (args) =>
        finish({ scenario, seed, recorder, reader: system.reader, direct: system.direct, ...args }),
    });
  } finally {
    await system.stop();
  }
}

/** A result from a probe that counts requests rather than recording a history (B1–B9, S1). */
function probeResult(
  scenario: string,
  seed: number,
  result: { requests: number; violations: Violation[] },
): ScenarioResult {
  const counts: Record<string, number> = {};
  for (const v of result.violations) counts[v.invariant] = (counts[v.invariant] ?? 0) + 1;
  return { scenario, seed, operations: result.requests, faults: 0, violations: result.violations, counts };
}

// ---- L1–L3, F1–F4, F8: loads through the HTTP API, some with storage faults through the proxy ----------

type PollerPlan = ReturnType<typeof pollerSpecs>[number];

/** What an HTTP load scenario runs: its topic's partitions, producers and pollers, and its bounds. */
interface HttpLoad {
  readonly partitions: number;
  readonly producers: { spec: ProducerSpec }[];
  readonly pollers: PollerPlan[];
  /** How long the short scale loads, ms (the long one: a minute). */
  readonly shortMs: number;
  readonly giveUpMs: number;
  readonly settleMs: number;
}

/**
 * A seeded load of one topic over HTTP, then the check. With `storageFaults`, the fault proxy between
 * the stack and its emulators applies the policy drawn for the run while the load runs.
 */
function httpLoadScenario(args: {
  readonly name: string;
  readonly covers: string;
  /** Of the topic's name. */
  readonly prefix: string;
  /** The policy, given its random and its chance (fixed at the short scale, drawn at the long one). */
  readonly storageFaults?: FaultChoice;
  readonly plan: (run: { scale: Scale; rng: Random; topic: string }) => HttpLoad;
}): Scenario {
  const { name, storageFaults } = args;
  return {
    name,
    covers: args.covers,
    run: ({ seed, scale }) =>
      withScenario(
        name,
        { seed, scale },
        () => httpSystem({ storageFaults: storageFaults !== undefined }),
        async ({ rng, system, load, finish }) => {
          const { sut, transport } = system;
          const topic = topicName(args.prefix, seed);
          const policy = storageFaults && drawPolicy(rng, scale, storageFaults);
          const plan = args.plan({ scale, rng, topic });
          await transport.createTopic(topic, plan.partitions);
          if (policy) sut.storageProxy!.policy = policy;
          const { producers, pollers, shortMs, giveUpMs } = plan;
          const extra = await load({ producers, pollers, shortMs, giveUpMs });
          if (policy) sut.storageProxy!.policy = undefined;
          return await finish({ topics: [topic], settleMs: plan.settleMs, faults: sut.faults(), extra });
        },
      ),
  };
}

/** The chance of a fault at the short scale, and those the long one draws from. */
type FaultChance = readonly [short: number, long: readonly number[]];

/** The random of a run's faults (its own fork) and their chance, drawn in that order. */
function faultChance(rng: Random, scale: Scale, [short, long]: FaultChance): { faults: Random; p: number } {
  const faults = rng.fork();
  return { faults, p: scale === 'short' ? short : rng.pick(long) };
}

/** A fault policy made from its own random and a chance. */
interface FaultChoice {
  readonly policy: (rng: Random, p: number) => FaultPolicy;
  readonly chance: FaultChance;
}

function drawPolicy(rng: Random, scale: Scale, choice: FaultChoice): FaultPolicy {
  const { faults, p } = faultChance(rng, scale, choice.chance);
  return choice.policy(faults, p);
}

const L1 = httpLoadScenario({
  name: 'L1 idempotent producers on one partition',
  covers: 'L1, F3, I1–I8',
  prefix: 'l1',
  plan: ({ scale, rng, topic }) => ({
    partitions: 1,
    producers: producerSpecs(
      scale === 'short' ? rng.int(8, 12) : rng.int(8, 32),
      1000,
      { topic, partitions: 1 },
      () => ({
        requests: scale === 'short' ? 8 : 100_000,
        recordsPerRequest: [1, 5] as const,
      }),
    ),
    pollers: pollerSpecs(3, topic, () => [0], [200, 2000]),
    shortMs: 5_000,
    giveUpMs: 15_000,
    settleMs: 15_000,
  }),
});

const L2 = httpLoadScenario({
  name: 'L2 many partitions, random keys',
  covers: 'L2, I1–I8',
  prefix: 'l2',
  plan: ({ scale, topic }) => {
    const partitions = scale === 'short' ? 16 : 200;
    const all = Array.from({ length: partitions }, (_, p) => p);
    return {
      partitions,
      producers: producerSpecs(8, 2000, { topic, partitions, keyed: true }, () => ({
        requests: scale === 'short' ? 10 : 100_000,
        recordsPerRequest: scale === 'short' ? ([4, 30] as const) : ([20, 120] as const),
      })),
      pollers: pollerSpecs(4, topic, (i) => all.filter((p) => p % 4 === i), [100, 1000]),
      shortMs: 5_000,
      giveUpMs: 15_000,
      settleMs: 15_000,
    };
  },
});

const L3 = httpLoadScenario({
  name: 'L3 long polls waiting on producers',
  covers: 'L3, I6',
  prefix: 'l3',
  plan: ({ scale, topic }) => ({
    partitions: 4,
    producers: producerSpecs(3, 3000, { topic, partitions: 4 }, () => ({
      requests: scale === 'short' ? 12 : 150,
      recordsPerRequest: [1, 3] as const,
      pauseMs: [100, 500] as const,
    })),
    pollers: pollerSpecs(scale === 'short' ? 16 : 48, topic, (i) => [i % 4], [1000, 5000]),
    shortMs: 5_000,
    giveUpMs: 15_000,
    settleMs: 15_000,
  }),
});

/** Requests that `match` meet a fault with `chance`: one of `actions`, made when it strikes. */
interface FaultRule {
  readonly match: (req: ProxiedRequest) => boolean;
  readonly chance: number;
  readonly actions: () => FaultAction[];
}

/** The first rule that matches a request and strikes gives its fault; a request no rule strikes passes. */
function rulePolicy(rng: Random, rules: readonly FaultRule[]): FaultPolicy {
  return (req) => {
    for (const rule of rules) {
      if (rule.match(req) && rng.chance(rule.chance)) return rng.pick(rule.actions());
    }
    return { kind: 'pass' };
  };
}

const RESET_BEFORE: FaultAction = { kind: 'reset-before' };
const RESET_AFTER: FaultAction = { kind: 'reset-after' };

/** Writes to S3 and DynamoDB fail, throttle, lose their answers or crawl (F1, F2, F4). */
export function storageWritePolicy(rng: Random, p: number): FaultPolicy {
  const delay = (min: number, max: number): FaultAction => ({ kind: 'delay', ms: rng.int(min, max) });
  return rulePolicy(rng, [
    {
      match: (req) => req.service === 's3' && req.operation === 'PutObject',
      chance: p,
      actions: () => [FAULTS.s3SlowDown, FAULTS.s3Internal, RESET_BEFORE, RESET_AFTER, delay(50, 800)],
    },
    {
      match: (req) =>
        req.service === 'dynamodb' && (req.operation === 'UpdateItem' || req.operation === 'PutItem'),
      chance: p,
      actions: () => [
        FAULTS.dynamoThrottle,
        FAULTS.dynamo500,
        RESET_BEFORE,
        RESET_AFTER,
        RESET_AFTER,
        delay(20, 400),
      ],
    },
    {
      match: (req) => req.service === 'dynamodb',
      chance: p / 4,
      actions: () => [FAULTS.dynamoThrottle, RESET_AFTER, delay(20, 200)],
    },
  ]);
}

/** S3 GETs fail, crawl or come back cut short; DynamoDB reads fail now and then (F8). */
function fetchFaultPolicy(rng: Random, p: number): FaultPolicy {
  const truncate: FaultAction = { kind: 'truncate' };
  return rulePolicy(rng, [
    {
      match: (req) => req.service === 's3' && req.operation === 'GetObject',
      chance: p,
      actions: () => [
        FAULTS.s3SlowDown,
        FAULTS.s3Internal,
        truncate,
        truncate,
        RESET_AFTER,
        { kind: 'delay', ms: rng.int(50, 500) },
      ],
    },
    {
      match: (req) =>
        req.service === 'dynamodb' && (req.operation === 'Query' || req.operation === 'GetItem'),
      chance: p / 5,
      actions: () => [FAULTS.dynamo500, FAULTS.dynamoThrottle, RESET_AFTER],
    },
  ]);
}

const STORAGE_FAULTS = httpLoadScenario({
  name: 'F1–F4 S3 and DynamoDB write faults',
  covers: 'F1, F2, F3, F4, I1–I8',
  prefix: 'f1',
  storageFaults: { policy: storageWritePolicy, chance: [0.12, [0.05, 0.1, 0.2]] },
  plan: ({ scale, topic }) => ({
    partitions: 2,
    producers: producerSpecs(scale === 'short' ? 10 : 16, 4000, { topic, partitions: 2 }, () => ({
      requests: scale === 'short' ? 8 : 100_000,
      recordsPerRequest: [1, 6] as const,
    })),
    pollers: pollerSpecs(2, topic, (i) => [i], [200, 1500]),
    shortMs: 6_000,
    giveUpMs: 30_000,
    settleMs: 20_000,
  }),
});

const FETCH_FAULTS = httpLoadScenario({
  name: 'F8 S3 GET 503 and truncated bodies on fetch',
  covers: 'F8, I3, I4',
  prefix: 'f8',
  storageFaults: { policy: fetchFaultPolicy, chance: [0.3, [0.1, 0.3, 0.5]] },
  plan: ({ scale, topic }) => ({
    partitions: 3,
    producers: producerSpecs(6, 5000, { topic, partitions: 3 }, () => ({
      requests: scale === 'short' ? 10 : 100_000,
      recordsPerRequest: [1, 20] as const,
      pauseMs: [10, 100] as const,
    })),
    pollers: pollerSpecs(6, topic, (i) => [i % 3], [100, 1000]),
    shortMs: 5_000,
    giveUpMs: 20_000,
    settleMs: 15_000,
  }),
});

// ---- F6, F7: lost produce answers, pipelining, zombie epochs ---------------------------------------

const PRODUCER_FAULTS: Scenario = {
  name: 'F6–F7 lost produce answers, pipelining, zombie epochs',
  covers: 'F6, F7, I2, I5, I7',
  run: ({ seed, scale }) =>
    withScenario(
      PRODUCER_FAULTS.name,
      { seed, scale },
      () => httpSystem({ apiFaults: true, readerPastApiProxy: true }),
      async ({ rng, system, recorder, finish }) => {
        const { sut, transport } = system;
        const topic = topicName('f6', seed);
        await transport.createTopic(topic, 2);
        const faults = rng.fork();
        const p = scale === 'short' ? 0.2 : rng.pick([0.1, 0.2, 0.3]);
        sut.apiProxy!.policy = (req) => {
          if (req.operation === 'POST /v1/produce' && faults.chance(p)) {
            return faults.pick<FaultAction>([
              { kind: 'reset-after' },
              { kind: 'reset-after' },
              { kind: 'reset-before' },
              FAULTS.api503,
              { kind: 'delay', ms: faults.int(50, 300) },
            ]);
          }
          if (req.operation === 'POST /v1/fetch' && faults.chance(p / 3)) return { kind: 'reset-after' };
          return { kind: 'pass' };
        };
        const requests = scale === 'short' ? 10 : 100_000;
        const producers = producerSpecs(8, 6000, { topic, partitions: 2 }, (i) => ({
          requests,
          recordsPerRequest: [1, 4] as const,
          maxInFlight: i % 2 === 0 ? 2 : 1,
        }));
        const clock = (ms: number): RunClock => ({
          stopAt: Date.now() + ms,
          giveUpAt: Date.now() + ms + 20_000,
        });
        const durationMs = scale === 'short' ? 6_000 : 60_000;
        const load = runLoad(
          transport,
          recorder,
          rng,
          {
            producers,
            pollers: pollerSpecs(2, topic, (i) => [i], [200, 1000]),
            durationMs,
            giveUpMs: 20_000,
          },
          `s${seed}`,
        );
        // F7: a new instance of producer 6000 and 6001 (epoch 1) starts mid-run; the old ones go on as zombies.
        await sleep(rng.int(500, 2000));
        const successors = [0, 1].map(
          (i) =>
            new Producer(
              { ...producers[i]!.spec, name: `p${i}-epoch1`, epoch: 1, requests: Math.ceil(requests / 2) },
              transport,
              recorder,
              rng.fork(),
              `s${seed}`,
            ),
        );
        await Promise.all(successors.map((s) => s.run(clock(durationMs / 2))));
        const extra = [...(await load), ...successors.flatMap((s) => s.anomalies)];
        sut.apiProxy!.policy = undefined;
        return await finish({
          topics: [topic],
          settleMs: 15_000,
          faults: sut.faults(),
          extra,
        });
      },
    ),
};

// ---- F5: crash points in process, and SIGKILL of the whole stack ------------------------------------

/** Storage emulators in this process, with a log service driven directly (no HTTP). */
interface InProcessSystem extends ScenarioSystem {
  readonly storage: TestStorage;
  readonly transport: InProcessTransport;
  readonly reader: InProcessTransport;
}

/**
 * Faults injected at random while armed, each drawn from the run's own fork of the random with the
 * run's chance p (or a fraction of it), and counted.
 */
class RandomFaults {
  armed = true;
  injected = 0;

  constructor(
    readonly rng: Random,
    readonly p: number,
  ) {}

  /** Whether to inject one now: while armed, with chance p / rarer. */
  hit(rarer = 1): boolean {
    if (!this.armed || !this.rng.chance(this.p / rarer)) return false;
    this.injected++;
    return true;
  }
}

interface CrashingSystem extends InProcessSystem {
  readonly faults: RandomFaults;
}

/**
 * Storage in this process and appenders that die at random at their crash points (at `crashAt` only, if
 * given) and meet the faults of `wire`; the reader is a log service of its own that never crashes.
 */
async function crashingSystem(
  rng: Random,
  args: {
    scale: Scale;
    chance: FaultChance;
    repairAfterMs: number;
    crashAt?: CrashPoint;
    wire: (faults: RandomFaults) => WireHook;
  },
): Promise<CrashingSystem> {
  const storage = await startTestStorage();
  const drawn = faultChance(rng, args.scale, args.chance);
  const faults = new RandomFaults(drawn.faults, drawn.p);
  const { repairAfterMs, crashAt } = args;
  const harness = createLogHarness(storage, {
    append: { repairAfterMs, maxAckWaitMs: 3_000 },
    faults: {
      crash: (point) => {
        if ((crashAt === undefined || point === crashAt) && faults.hit()) throw new SimulatedCrash(point);
      },
    },
  });
  harness.wire = args.wire(faults);
  const reader = createLogHarness(storage, { append: { repairAfterMs } });
  return {
    storage,
    faults,
    transport: new InProcessTransport(harness.log),
    reader: new InProcessTransport(reader.log),
    direct: { config: storage.config, clients: storage.clients },
    stop: () => storage.stop(),
  };
}

const CRASHES: Scenario = {
  name: 'F5 crash points in the append path, lost SDK answers',
  covers: 'F4, F5, F6, I1–I8',
  run({ seed, scale }) {
    const start = (rng: Random) =>
      crashingSystem(rng, {
        scale,
        chance: [0.06, [0.02, 0.05, 0.1]],
        repairAfterMs: 300,
        wire: (faults) => async (command, send) => {
          if ((command === 'UpdateItemCommand' || command === 'PutItemCommand') && faults.hit()) {
            await send();
            throw lostResponse(); // applied, the answer lost: the SDK retries the conditional write
          }
          if (command === 'PutObjectCommand' && faults.hit(2)) {
            throw Object.assign(new Error('SlowDown'), {
              name: 'SlowDown',
              $metadata: { httpStatusCode: 503 },
              $fault: 'server',
            });
          }
          return send();
        },
      });
    return withScenario(CRASHES.name, { seed, scale }, start, async ({ system, load, finish }) => {
      const { reader } = system;
      const topic = topicName('f5', seed);
      await reader.createTopic(topic, 2);
      const producers = producerSpecs(scale === 'short' ? 8 : 16, 7000, { topic, partitions: 2 }, (i) => ({
        requests: scale === 'short' ? 10 : 100_000,
        recordsPerRequest: [1, 4] as const,
        maxInFlight: (i % 3 === 0 ? 2 : 1) as 1 | 2,
      }));
      const pollers = pollerSpecs(2, topic, (i) => [i], [100, 1000]);
      const extra = await load({ producers, pollers, shortMs: 6_000, giveUpMs: 20_000 });
      system.faults.armed = false;
      return await finish({ topics: [topic], settleMs: 10_000, faults: system.faults.injected, extra });
    });
  },
};

const KILL: Scenario = {
  name: 'F5 SIGKILL of the local stack mid-load, restart on its data',
  covers: 'F5, F6, I1–I8',
  async run({ seed, scale }) {
    const rng = new Random(seed);
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-kill-'));
    const child = new ChildStack(dataDir);
    let kills = 0;
    let final: LocalStack | undefined;
    await child.start();
    // The clients follow the child across restarts: same port.
    const transport = new HttpTransport(child.url, { timeoutMs: 15_000 });
    try {
      const topic = topicName('kill', seed);
      await transport.createTopic(topic, 2);
      const recorder = new Recorder();
      const durationMs = scale === 'short' ? 9_000 : 60_000;
      const producers = producerSpecs(8, 8000, { topic, partitions: 2 }, (i) => ({
        requests: scale === 'short' ? 1000 : 10_000,
        recordsPerRequest: [1, 5] as const,
        maxInFlight: (i % 4 === 0 ? 2 : 1) as 1 | 2,
      }));
      const pollers = pollerSpecs(2, topic, (i) => [i], [200, 1000]);
      const load = runLoad(
        transport,
        recorder,
        rng,
        { producers, pollers, durationMs, giveUpMs: 30_000 },
        `s${seed}`,
      );
      const ends = Date.now() + durationMs - 2_000;
      while (Date.now() < ends) {
        await sleep(rng.int(1_000, scale === 'short' ? 2_500 : 8_000));
        if (Date.now() >= ends) break;
        debug(`kill at ${Date.now()}`);
        await child.kill();
        kills++;
        await sleep(rng.int(50, 500));
        await child.start();
        debug(`restarted at ${Date.now()}`);
      }
      const extra = await load;
      await child.stop();
      // The final read and audit on the same data, by a stack in this process.
      final = await startLocalStack({ port: 0, dataDir, quiet: true, env: {} });
      const reader = new HttpTransport(final.url);
      const direct = directStorage(final.config.dynamoEndpoint!, final.config.s3Endpoint!);
      try {
        return await finish({
          scenario: KILL.name,
          seed,
          recorder,
          topics: [topic],
          reader,
          direct,
          settleMs: 25_000,
          faults: kills,
          extra,
          notes: `${kills} kills`,
        });
      } finally {
        reader.close();
        direct.clients.dynamo.destroy();
        direct.clients.s3.destroy();
      }
    } finally {
      transport.close();
      await child.stop().catch(() => undefined);
      await final?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

// ---- F13: cleanup, merge and range repair racing appenders ------------------------------------------

const CLEANUP_RACE: Scenario = {
  name: 'F13 cleanup, merge and repair racing appenders',
  covers: 'F13, F5, I1–I8',
  run({ seed, scale }) {
    const repairAfterMs = 400;
    const start = (rng: Random) =>
      crashingSystem(rng, {
        scale,
        chance: [0.04, [0.02, 0.04, 0.08]],
        repairAfterMs,
        crashAt: 'after-reserve',
        // Late appenders: a commit that stalls past the repair time finds its range aborted.
        wire: (faults) => async (command, send) => {
          if (command === 'PutItemCommand' && faults.hit()) {
            await sleep(faults.rng.int(repairAfterMs, repairAfterMs * 3));
          }
          return send();
        },
      });
    return withScenario(CLEANUP_RACE.name, { seed, scale }, start, async ({ rng, system, load, finish }) => {
      const { storage, transport } = system;
      const { log } = transport;
      const deps = createServices(storage.config, storage.clients).cleanup;
      const options = {
        repairAfterMs,
        indexGraceMs: 500,
        objectGraceMs: 500,
        // Far above the longest append of this run, as the real window is above the longest function run.
        orphanWindowMs: 60_000,
        maxDurationMs: 10_000,
        // Above twice the longest write of this run (a commit or an abort stalls up to 3 × repairAfterMs),
        // as the real minAgeMs is above the longest function run: a repair's abort still on its way when
        // the late commit lands must not arrive after a merge deleted that commit (options.ts, minAgeMs).
        merge: { minAgeMs: 3_000, smallEntryBytes: 1 << 20, maxRunEntries: 8, objectBytes: 256 * 1024 },
      };
      let passes = 0;
      let merged = 0;
      const topic = topicName('f13', seed);
      const retentionMs = rng.pick([null, 4_000, 8_000]);
      await log.createTopic({ name: topic, partitionCount: 2, retentionMs });
      let running = true;
      // Retention deletes aborted entries below the log start: note them as they appear, for the checker.
      const auditor = new StorageAuditor({ config: storage.config, clients: storage.clients });
      const aborted = new Map<string, KnownAbortedRange>();
      const noteAborted = async () => {
        for (const r of await auditor.abortedRanges(topic)) aborted.set(`${r.partition}/${r.base}`, r);
      };
      const cleaner = (async () => {
        while (running) {
          await noteAborted();
          const summary = await runCleanup(deps, options);
          passes++;
          merged += summary.entriesMerged;
          await sleep(rng.int(50, 300));
        }
      })();
      const producers = producerSpecs(scale === 'short' ? 6 : 12, 9500, { topic, partitions: 2 }, () => ({
        requests: scale === 'short' ? 40 : 100_000,
        recordsPerRequest: [1, 4] as const,
        pauseMs: [10, 100] as const,
      }));
      const pollers = pollerSpecs(2, topic, (i) => [i], [100, 800]);
      const extra = await load({ producers, pollers, shortMs: 6_000, giveUpMs: 20_000 });
      system.faults.armed = false;
      running = false;
      await cleaner;
      // Quiet passes finish what the racing ones left half done (merge leftovers, pending deletions).
      await sleep(600);
      for (let i = 0; i < 3; i++) {
        await noteAborted();
        await runCleanup(deps, options);
      }
      return await finish({
        aborted: [...aborted.values()],
        topics: [topic],
        settleMs: 10_000,
        faults: system.faults.injected + passes,
        extra,
        notes: `${passes} cleanup passes, ${merged} entries merged, retention ${retentionMs ?? 'none'}`,
      });
    });
  },
};

// ---- F9–F12: consumer groups -----------------------------------------------------------------------

async function runGroups(
  run: ScenarioRun<ScenarioSystem>,
  args: {
    /** A group API per consumer: HTTP, or a group service with its own clock. */
    api: (rng: Random, index: number) => GroupApi;
    groupApi: GroupApi;
  },
): Promise<ScenarioResult> {
  const { rng, recorder, scale, seed } = run;
  const { transport, reader } = run.system;
  const topic = topicName('grp', seed);
  const partitions = 6;
  await transport.createTopic(topic, partitions);
  const group = `g-${seed}-${Date.now().toString(36)}`;
  const stats: ConsumerStats = { crashes: 0, pauses: 0, zombieCommits: 0 };
  const behaviour = {
    sessionTimeoutMs: 1_500,
    commitEveryMs: 300,
    crashChance: scale === 'short' ? 0.08 : 0.03,
    pauseChance: scale === 'short' ? 0.01 : 0.004,
  };
  const consumers = new Set<GroupConsumer>();
  const running = new Map<GroupConsumer, Promise<void>>();
  let spawned = 0;
  const spawn = () => {
    const i = spawned++;
    const c = new GroupConsumer(
      `c${i}`,
      group,
      topic,
      args.api(rng, i),
      transport,
      recorder,
      rng.fork(),
      behaviour,
      stats,
    );
    consumers.add(c);
    running.set(
      c,
      c.run().catch(() => undefined),
    );
  };
  const size = scale === 'short' ? 3 : rng.int(3, 5);
  for (let i = 0; i < size; i++) spawn();
  const producers = producerSpecs(3, 9000, { topic, partitions, keyed: true }, () => ({
    requests: scale === 'short' ? 25 : 100_000,
    recordsPerRequest: [1, 8] as const,
    pauseMs: [20, 200] as const,
  }));
  // Crashed members are replaced, as a supervisor would.
  let producing = true;
  const supervisor = (async () => {
    while (producing) {
      await sleep(200);
      for (const c of [...consumers]) {
        if (c.crashed) {
          consumers.delete(c);
          spawn();
        }
      }
    }
  })();
  const extra = await run.load({ producers, shortMs: 6_000, giveUpMs: 15_000 });
  // Let the group catch up to the high-water marks, then stop it (commit and leave).
  const deadline = Date.now() + (scale === 'short' ? 30_000 : 40_000);
  let caughtUp = false;
  while (!caughtUp && Date.now() < deadline) {
    await sleep(300);
    const bounds = await reader.describe(topic);
    const offsets = await args.groupApi.fetchOffsets(group, topic);
    if (bounds.type !== 'ok' || offsets.type !== 'ok') continue;
    caughtUp = bounds.value.every(
      (b) => offsets.value.offsets.find((o) => o.partition === b.partition)?.offset === b.highWatermark,
    );
  }
  producing = false;
  await supervisor;
  for (const c of consumers) c.stopped = true;
  await Promise.all(running.values());
  const committed = new Map<string, number>();
  const offsets = await args.groupApi.fetchOffsets(group, topic);
  if (offsets.type === 'ok') {
    for (const o of offsets.value.offsets) committed.set(`${group}/${topic}/${o.partition}`, o.offset);
  }
  if (!caughtUp) {
    extra.push({
      invariant: 'G3',
      message: `${group}: the group did not catch up with the high-water marks in time`,
      events: [],
    });
  }
  return run.finish({
    topics: [topic],
    settleMs: 15_000,
    faults: stats.crashes + stats.pauses,
    extra,
    committed,
    options: { expectConsumedAll: true },
    notes: `${stats.crashes} crashes, ${stats.pauses} pauses, ${spawned} members`,
  });
}

const GROUPS: Scenario = {
  name: 'F9–F11 group members crash, pause past their session, auto-commit',
  covers: 'F9, F10, F11, G1–G4',
  run: ({ seed, scale }) =>
    withScenario(
      GROUPS.name,
      { seed, scale },
      () => httpSystem(),
      (run) => {
        const api = new HttpGroupApi(run.system.transport.http);
        return runGroups(run, { api: () => api, groupApi: api });
      },
    ),
};

const CLOCK_SKEW: Scenario = {
  name: 'F12 group services with skewed clocks',
  covers: 'F12, G1–G4',
  run: ({ seed, scale }) =>
    withScenario(
      CLOCK_SKEW.name,
      { seed, scale },
      () => httpSystem(),
      (run) => {
        const { direct } = run.system;
        const log = createServices(direct.config, direct.clients).log;
        const service = (skewMs: number) =>
          new GroupService({
            store: new DynamoGroupStore(direct.clients.dynamo, direct.config.groupsTable),
            topics: logTopicMetadata(log),
            now: () => Date.now() + skewMs,
          });
        // Each member's requests go to a service whose clock is off by up to ±600 ms (sessions of 1.5 s).
        return runGroups(run, {
          api: (r) => new DirectGroupApi(service(r.int(-600, 600))),
          groupApi: new DirectGroupApi(service(0)),
        });
      },
    ),
};

// ---- B1–B9 and S1 over HTTP ------------------------------------------------------------------------

const BAD_INPUT: Scenario = {
  name: 'B1–B9 bad input, fuzzed over HTTP',
  covers: 'B1–B9',
  run: ({ seed, scale }) =>
    withScenario(
      BAD_INPUT.name,
      { seed, scale },
      () => httpSystem(),
      async ({ system }) =>
        probeResult(
          BAD_INPUT.name,
          seed,
          await fuzzBadInput({
            http: system.transport.http,
            direct: system.direct,
            seed,
            numRuns: scale === 'short' ? 25 : 150,
          }),
        ),
    ),
};

const TOKEN: Scenario = {
  name: 'S1 bearer token on the local stack',
  covers: 'S1 (local stack)',
  async run({ seed, scale }) {
    const token = `tok-${seed}`;
    const sut = await startStack({ token });
    try {
      return probeResult(
        TOKEN.name,
        seed,
        await probeTokenMode({
          url: sut.url,
          token,
          direct: sut.direct,
          seed,
          requests: scale === 'short' ? 60 : 400,
        }),
      );
    } finally {
      await sut.stop();
    }
  },
};

export const SCENARIOS: readonly Scenario[] = [
  L1,
  L2,
  L3,
  STORAGE_FAULTS,
  FETCH_FAULTS,
  PRODUCER_FAULTS,
  CRASHES,
  KILL,
  CLEANUP_RACE,
  GROUPS,
  CLOCK_SKEW,
  BAD_INPUT,
  TOKEN,
];

export function scenarioNamed(prefix: string): Scenario {
  const s = SCENARIOS.find((x) => x.name.startsWith(prefix));
  if (!s) throw new Error(`no scenario ${prefix}`);
  return s;
}
