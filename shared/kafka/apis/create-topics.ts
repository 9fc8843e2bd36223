/**
 * CreateTopics (key 19), v0–v7 (CreateTopicsRequest.json, CreateTopicsResponse.json). Flexible from v5.
 *
 *   CreateTopicsRequest => Topics [Name STRING, NumPartitions int32, ReplicationFactor int16,
 *                                  Assignments [PartitionIndex int32, BrokerIds [int32], TAG_BUFFER],
 *                                  Configs [Name STRING, Value NULLABLE_STRING, TAG_BUFFER], TAG_BUFFER],
 *                          TimeoutMs int32, ValidateOnly bool (v1+), TAG_BUFFER
 *   CreateTopicsResponse => ThrottleTimeMs int32 (v2+),
 *                           Topics [Name STRING, TopicId uuid (v7+), ErrorCode int16,
 *                                   ErrorMessage NULLABLE_STRING (v1+),
 *                                   NumPartitions int32 (v5+), ReplicationFactor int16 (v5+),
 *                                   Configs [Name STRING, Value NULLABLE_STRING, ReadOnly bool,
 *                                            ConfigSource int8, IsSensitive bool, TAG_BUFFER]
 *                                           (nullable, v5+),
 *                                   TAG_BUFFER], TAG_BUFFER
 *
 * As Kafka answers on a one-broker cluster, with Sluice's storage behind it:
 * - NumPartitions −1 takes the default (1); 0, below −1 or over the limit is INVALID_PARTITIONS.
 * - ReplicationFactor −1 or any positive value is accepted and answered as 1: S3 holds the replicas, so
 *   asking for 3 gets at least that durability; 0 or below −1 is INVALID_REPLICATION_FACTOR.
 * - Assignments (manual placement) must put partitions 0 … n − 1 on this broker only, with
 *   NumPartitions and ReplicationFactor −1; anything else is INVALID_REPLICA_ASSIGNMENT or INVALID_REQUEST.
 * - Configs: retention.ms and retention.bytes (−1: no bound); cleanup.policy, compression.type,
 *   message.timestamp.type and max.message.bytes only at the one value Sluice has. Any other name, a
 *   repeated name or a bad value is INVALID_CONFIG; a null value takes the default.
 * - A name given twice in one request is INVALID_REQUEST for each; an existing name is
 *   TOPIC_ALREADY_EXISTS; a name that collides with an existing one once '.' and '_' are equated is
 *   INVALID_TOPIC_EXCEPTION, as Kafka refuses (their metric names would clash).
 * - ValidateOnly runs every check and creates nothing. TimeoutMs is not waited on: a topic exists, on
 *   every listener, once this answers.
 * Each topic succeeds or fails alone; a failed one writes nothing.
 */
import { isSluiceError } from '../../errors';
import { DEFAULT_RETENTION_MS } from '../../log/log-service';
import { LOG_LIMITS, type Topic } from '../../model';
import { validateTopicName } from '../../model/names';
import { KAFKA_ERRORS, type KafkaErrorName, kafkaErrorCode } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { topicIdToUuid, ZERO_UUID } from '../topic-id';
import { type ConfigEntry, TOPIC_SETTINGS, topicConfigEntries } from './describe-configs';
import type { ErrorFields } from './fields';
import type { KafkaApi, RequestContext } from './types';

/** Partitions of a topic created with NumPartitions −1: Kafka's num.partitions default. */
export const DEFAULT_PARTITIONS = 1;

export interface CreatableTopic {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
}

export interface CreateTopicsRequest {
  readonly topics: readonly CreatableTopic[];
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

export interface CreatableTopicResult extends ErrorFields {
  readonly name: string;
  readonly topicId: Buffer;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: readonly ConfigEntry[];
}

export interface CreateTopicsResponse {
  readonly topics: readonly CreatableTopicResult[];
}

/** A per-topic refusal: Kafka's error name and a message that says what was wrong. */
class Refusal extends Error {
  constructor(
    readonly errorName: KafkaErrorName,
    message: string,
  ) {
    super(message);
  }
}

/** What a topic would be created with, once every check passed. */
interface Plan {
  readonly name: string;
  readonly partitionCount: number;
  readonly retentionMs?: number | null;
  readonly retentionBytes?: number | null;
}

function parseBound(name: string, value: string): number | null {
  const trimmed = value.trim();
  if (/^-?\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n === -1) return null;
    if (Number.isSafeInteger(n) && n >= 1) return n;
  }
  throw new Refusal(
    'INVALID_CONFIG',
    `Invalid value ${JSON.stringify(value)} for configuration ${name}: Sluice takes a positive integer, or -1 for no bound`,
  );
}

function plan(topic: CreatableTopic, nodeId: number): Plan {
  const { name, numPartitions, replicationFactor, assignments } = topic;
  try {
    validateTopicName(name);
  } catch (err) {
    if (isSluiceError(err)) throw new Refusal('INVALID_TOPIC_EXCEPTION', err.message);
    throw err;
  }
  let partitionCount: number;
  if (assignments.length > 0) {
    if (numPartitions !== -1 || replicationFactor !== -1) {
      throw new Refusal(
        'INVALID_REQUEST',
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    const indexes = assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    if (indexes.some((p, i) => p !== i)) {
      throw new Refusal(
        'INVALID_REPLICA_ASSIGNMENT',
        `Partitions should be a consecutive 0-based integer sequence, but ${indexes.join(', ')} was given`,
      );
    }
    for (const a of assignments) {
      if (
        a.brokerIds.length === 0 ||
        a.brokerIds.some((b) => b !== nodeId) ||
        new Set(a.brokerIds).size !== a.brokerIds.length
      ) {
        throw new Refusal(
          'INVALID_REPLICA_ASSIGNMENT',
          `Partition ${a.partitionIndex} is assigned to brokers [${a.brokerIds.join(', ')}]; this cluster has only broker ${nodeId}`,
        );
      }
    }
    partitionCount = assignments.length;
  } else {
    if (numPartitions === 0 || numPartitions < -1) {
      throw new Refusal(
        'INVALID_PARTITIONS',
        `Number of partitions must be larger than 0, or -1 for the default, but ${numPartitions} was given`,
      );
    }
    if (replicationFactor === 0 || replicationFactor < -1) {
      throw new Refusal(
        'INVALID_REPLICATION_FACTOR',
        `Replication factor must be larger than 0, or -1 for the default, but ${replicationFactor} was given`,
      );
    }
    partitionCount = numPartitions === -1 ? DEFAULT_PARTITIONS : numPartitions;
  }
  if (partitionCount > LOG_LIMITS.maxPartitions) {
    throw new Refusal(
      'INVALID_PARTITIONS',
      `A topic may have at most ${LOG_LIMITS.maxPartitions} partitions, but ${partitionCount} were requested`,
    );
  }
  const result: { -readonly [K in keyof Plan]: Plan[K] } = { name, partitionCount };
  const seen = new Set<string>();
  for (const { name: key, value } of topic.configs) {
    if (seen.has(key)) throw new Refusal('INVALID_CONFIG', `Configuration ${key} is given more than once`);
    seen.add(key);
    const setting = TOPIC_SETTINGS.get(key);
    if (setting === undefined) {
      throw new Refusal(
        'INVALID_CONFIG',
        `Unknown topic config name: ${key}. Sluice topics have ${[...TOPIC_SETTINGS.keys()].join(', ')}`,
      );
    }
    if (value === null) continue;
    if (key === 'retention.ms') result.retentionMs = parseBound(key, value);
    else if (key === 'retention.bytes') result.retentionBytes = parseBound(key, value);
    else if (value.trim() !== setting.defaultValue) {
      throw new Refusal(
        'INVALID_CONFIG',
        `Invalid value ${JSON.stringify(value)} for configuration ${key}: Sluice topics have ${key}=${setting.defaultValue} only`,
      );
    }
  }
  return result;
}

/** Kafka refuses a name equal to an existing one once '.' and '_' are the same character. */
function collision(name: string, existing: readonly Topic[]): string | undefined {
  const folded = name.replaceAll('.', '_');
  return existing.find((t) => t.name !== name && t.name.replaceAll('.', '_') === folded)?.name;
}

async function createOne(
  topic: CreatableTopic,
  request: CreateTopicsRequest,
  context: RequestContext,
  existing: readonly Topic[],
): Promise<CreatableTopicResult> {
  const failed = (errorCode: number, errorMessage: string): CreatableTopicResult => ({
    name: topic.name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    numPartitions: -1,
    replicationFactor: -1,
    configs: [],
  });
  const { log } = context.listener.services;
  try {
    const p = plan(topic, context.listener.nodeId);
    if (existing.some((t) => t.name === p.name)) {
      throw new Refusal('TOPIC_ALREADY_EXISTS', `Topic '${p.name}' already exists.`);
    }
    const clash = collision(p.name, existing);
    if (clash !== undefined) {
      throw new Refusal(
        'INVALID_TOPIC_EXCEPTION',
        `Topic '${p.name}' collides with existing topic: ${clash} (Kafka treats '.' and '_' as the same in metric names)`,
      );
    }
    const created: Topic = request.validateOnly
      ? {
          name: p.name,
          topicId: '00000000000000000000000000',
          partitionCount: p.partitionCount,
          retentionMs: p.retentionMs === undefined ? DEFAULT_RETENTION_MS : p.retentionMs,
          retentionBytes: p.retentionBytes ?? null,
          createdAt: context.listener.now(),
        }
      : await log.createTopic(p);
    return {
      name: created.name,
      topicId: request.validateOnly ? ZERO_UUID : topicIdToUuid(created.topicId),
      errorCode: KAFKA_ERRORS.NONE,
      errorMessage: null,
      numPartitions: created.partitionCount,
      replicationFactor: 1,
      configs: topicConfigEntries(created, false, null),
    };
  } catch (err) {
    if (err instanceof Refusal) return failed(KAFKA_ERRORS[err.errorName], err.message);
    if (isSluiceError(err)) return failed(kafkaErrorCode(err), err.message);
    throw err;
  }
}

export const createTopics: KafkaApi<CreateTopicsRequest, CreateTopicsResponse> = {
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  flexibleFrom: 5,

  decode(r: KafkaReader, version: number): CreateTopicsRequest {
    const topics = r.array((r): CreatableTopic => {
      const name = r.string();
      const numPartitions = r.int32();
      const replicationFactor = r.int16();
      const assignments = r.array((r) => {
        const partitionIndex = r.int32();
        const brokerIds = r.array((r) => r.int32());
        r.taggedFields();
        return { partitionIndex, brokerIds };
      });
      const configs = r.array((r) => {
        const configName = r.string();
        const value = r.nullableString();
        r.taggedFields();
        return { name: configName, value };
      });
      r.taggedFields();
      return { name, numPartitions, replicationFactor, assignments, configs };
    });
    const timeoutMs = r.int32();
    const validateOnly = version >= 1 ? r.bool() : false;
    r.taggedFields();
    return { topics, timeoutMs, validateOnly };
  },

  async handle(request, context) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    // One listing for the existence and collision checks; creation itself is conditional, so a
    // topic created meanwhile by another listener still gets TOPIC_ALREADY_EXISTS.
    const existing = await context.listener.services.log.listTopics();
    const topics = await Promise.all(
      request.topics.map((topic) =>
        counts.get(topic.name)! > 1
          ? {
              name: topic.name,
              topicId: ZERO_UUID,
              errorCode: KAFKA_ERRORS.INVALID_REQUEST,
              errorMessage: `Create topics request contains multiple entries for the topic ${topic.name}`,
              numPartitions: -1,
              replicationFactor: -1,
              configs: [],
            }
          : createOne(topic, request, context, existing),
      ),
    );
    return { topics };
  },

  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((t) => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage: null,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      })),
    };
  },

  encode(w: KafkaWriter, res: CreateTopicsResponse, version: number): void {
    if (version >= 2) w.int32(0); // ThrottleTimeMs
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      if (version >= 7) w.uuid(t.topicId);
      w.int16(t.errorCode);
      if (version >= 1) w.nullableString(t.errorMessage);
      if (version >= 5) {
        w.int32(t.numPartitions).int16(t.replicationFactor);
        w.array(t.configs, (w, c) => {
          w.string(c.name).nullableString(c.value).bool(c.readOnly).int8(c.source).bool(c.sensitive);
          w.taggedFields();
        });
      }
      w.taggedFields();
    });
    w.taggedFields();
  },
};
