/**
 * DescribeConfigs (key 32), v0–v4 (DescribeConfigsRequest.json, DescribeConfigsResponse.json). Flexible
 * from v4.
 *
 *   DescribeConfigsRequest => Resources [ResourceType int8, ResourceName STRING,
 *                                        ConfigurationKeys [STRING] (nullable: all), TAG_BUFFER],
 *                             IncludeSynonyms bool (v1+), IncludeDocumentation bool (v3+), TAG_BUFFER
 *   DescribeConfigsResponse => ThrottleTimeMs int32,
 *                              Results [ErrorCode int16, ErrorMessage NULLABLE_STRING, ResourceType int8,
 *                                       ResourceName STRING,
 *                                       Configs [Name STRING, Value NULLABLE_STRING, ReadOnly bool,
 *                                                IsDefault bool (v0), ConfigSource int8 (v1+),
 *                                                IsSensitive bool,
 *                                                Synonyms [Name STRING, Value NULLABLE_STRING,
 *                                                          Source int8, TAG_BUFFER] (v1+),
 *                                                ConfigType int8 (v3+),
 *                                                Documentation NULLABLE_STRING (v3+), TAG_BUFFER],
 *                                       TAG_BUFFER], TAG_BUFFER
 *
 * Topics (resource type 2) have the settings Sluice has: retention.ms and retention.bytes (−1: no
 * bound), and, fixed, cleanup.policy=delete (no compaction), compression.type=producer (batches are
 * stored as sent), message.timestamp.type=CreateTime and max.message.bytes. The broker (type 4, named
 * by this listener's node id, or "" for the cluster's defaults) answers the broker-wide defaults behind
 * them, so AdminClients and tools that read a few broker settings work. Unknown keys are left out, as
 * Kafka does. This file also holds the topic config model that CreateTopics validates against.
 */
import { isSluiceError } from '../../errors';
import { DEFAULT_RETENTION_MS } from '../../log/log-service';
import { LOG_LIMITS, type Topic } from '../../model';
import { KAFKA_ERRORS, kafkaErrorCode } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { ErrorFields } from './fields';
import type { KafkaApi, RequestContext } from './types';

export const RESOURCE_TYPE = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** org.apache.kafka.clients.admin.ConfigEntry.ConfigSource, by their wire ids. */
export const CONFIG_SOURCE = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** org.apache.kafka.clients.admin.ConfigEntry.ConfigType, by their wire ids. */
const CONFIG_TYPE = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const;

export interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: number;
  readonly sensitive: boolean;
  readonly synonyms: readonly {
    readonly name: string;
    readonly value: string | null;
    readonly source: number;
  }[];
  readonly type: number;
  readonly documentation: string | null;
}

/** Largest record batch a producer may send: what one produce request carries. */
const MAX_MESSAGE_BYTES = LOG_LIMITS.maxProduceBytes;

interface TopicSetting {
  /** The broker setting that holds its default, as Kafka names it. */
  readonly brokerName: string;
  readonly type: number;
  readonly defaultValue: string;
  /** Whether a topic may set it (at creation); fixed settings accept only their one value. */
  readonly settable: boolean;
  readonly documentation: string;
  readonly of: (topic: Topic) => string;
}

const bound = (value: number | null) => (value === null ? '-1' : String(value));

/** The topic settings Sluice has, in Kafka's names and words. */
export const TOPIC_SETTINGS: ReadonlyMap<string, TopicSetting> = new Map<string, TopicSetting>([
  [
    'retention.ms',
    {
      brokerName: 'log.retention.ms',
      type: CONFIG_TYPE.LONG,
      defaultValue: String(DEFAULT_RETENTION_MS),
      settable: true,
      documentation: 'How long records are kept before cleanup deletes them; -1: forever.',
      of: (t) => bound(t.retentionMs),
    },
  ],
  [
    'retention.bytes',
    {
      brokerName: 'log.retention.bytes',
      type: CONFIG_TYPE.LONG,
      defaultValue: '-1',
      settable: true,
      documentation: 'Per-partition size above which cleanup deletes the oldest records; -1: no bound.',
      of: (t) => bound(t.retentionBytes),
    },
  ],
  [
    'cleanup.policy',
    {
      brokerName: 'log.cleanup.policy',
      type: CONFIG_TYPE.LIST,
      defaultValue: 'delete',
      settable: false,
      documentation: 'Old records are deleted by retention; Sluice does not compact.',
      of: () => 'delete',
    },
  ],
  [
    'compression.type',
    {
      brokerName: 'compression.type',
      type: CONFIG_TYPE.STRING,
      defaultValue: 'producer',
      settable: false,
      documentation: 'Batches are stored as the producer compressed them (none, gzip, snappy, lz4 or zstd).',
      of: () => 'producer',
    },
  ],
  [
    'message.timestamp.type',
    {
      brokerName: 'log.message.timestamp.type',
      type: CONFIG_TYPE.STRING,
      defaultValue: 'CreateTime',
      settable: false,
      documentation: 'Record timestamps are the ones the producer set.',
      of: () => 'CreateTime',
    },
  ],
  [
    'max.message.bytes',
    {
      brokerName: 'message.max.bytes',
      type: CONFIG_TYPE.INT,
      defaultValue: String(MAX_MESSAGE_BYTES),
      settable: false,
      documentation: 'Largest record batch (and produce request) accepted, in bytes.',
      of: () => String(MAX_MESSAGE_BYTES),
    },
  ],
]);

/** What a topic's configuration is answered as: its value, and where it comes from. */
export function topicConfigEntries(topic: Topic, includeSynonyms: boolean, keys: readonly string[] | null) {
  const entries: ConfigEntry[] = [];
  for (const [name, setting] of TOPIC_SETTINGS) {
    if (keys !== null && !keys.includes(name)) continue;
    const value = setting.of(topic);
    const isDefault = value === setting.defaultValue;
    const source = isDefault ? CONFIG_SOURCE.DEFAULT_CONFIG : CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG;
    const synonyms = [];
    if (includeSynonyms) {
      if (!isDefault) synonyms.push({ name, value, source });
      synonyms.push({
        name: setting.brokerName,
        value: setting.defaultValue,
        source: CONFIG_SOURCE.DEFAULT_CONFIG,
      });
    }
    entries.push({
      name,
      value,
      readOnly: !setting.settable,
      source,
      sensitive: false,
      synonyms,
      type: setting.type,
      documentation: setting.documentation,
    });
  }
  return entries;
}

/** The broker-wide settings answered for the broker resource. */
function brokerConfigEntries(nodeId: number, includeSynonyms: boolean, keys: readonly string[] | null) {
  const settings: [string, string, number, string][] = [
    ['broker.id', String(nodeId), CONFIG_TYPE.INT, 'This listener’s node id.'],
    ['num.partitions', '1', CONFIG_TYPE.INT, 'Partitions of a topic created without a count.'],
    ['default.replication.factor', '1', CONFIG_TYPE.INT, 'Storage is S3: one logical replica.'],
    ['auto.create.topics.enable', 'false', CONFIG_TYPE.BOOLEAN, 'Topics are created explicitly.'],
    ['delete.topic.enable', 'true', CONFIG_TYPE.BOOLEAN, 'DeleteTopics is allowed.'],
    ...[...TOPIC_SETTINGS.values()].map((s): [string, string, number, string] => [
      s.brokerName,
      s.defaultValue,
      s.type,
      s.documentation,
    ]),
  ];
  return settings
    .filter(([name]) => keys === null || keys.includes(name))
    .map(
      ([name, value, type, documentation]): ConfigEntry => ({
        name,
        value,
        readOnly: true,
        source: CONFIG_SOURCE.STATIC_BROKER_CONFIG,
        sensitive: false,
        synonyms: includeSynonyms ? [{ name, value, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG }] : [],
        type,
        documentation,
      }),
    );
}

export interface DescribeConfigsRequest {
  readonly resources: readonly {
    readonly resourceType: number;
    readonly resourceName: string;
    readonly configurationKeys: readonly string[] | null;
  }[];
  readonly includeSynonyms: boolean;
  readonly includeDocumentation: boolean;
}

export interface DescribeConfigsResult extends ErrorFields {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly ConfigEntry[];
}

export interface DescribeConfigsResponse {
  readonly results: readonly DescribeConfigsResult[];
  readonly includeDocumentation: boolean;
}

async function describe(
  resource: DescribeConfigsRequest['resources'][number],
  request: DescribeConfigsRequest,
  context: RequestContext,
): Promise<DescribeConfigsResult> {
  const { resourceType, resourceName, configurationKeys: keys } = resource;
  const result = (errorCode: number, errorMessage: string | null, configs: ConfigEntry[] = []) => ({
    errorCode,
    errorMessage,
    resourceType,
    resourceName,
    configs,
  });
  if (resourceType === RESOURCE_TYPE.TOPIC) {
    try {
      const topic = await context.listener.services.log.requireTopic(resourceName, true);
      return result(KAFKA_ERRORS.NONE, null, topicConfigEntries(topic, request.includeSynonyms, keys));
    } catch (err) {
      if (!isSluiceError(err)) throw err;
      return result(kafkaErrorCode(err), err.message);
    }
  }
  if (resourceType === RESOURCE_TYPE.BROKER) {
    const { nodeId } = context.listener;
    if (resourceName !== '' && resourceName !== String(nodeId)) {
      return result(
        KAFKA_ERRORS.INVALID_REQUEST,
        `There is no broker ${resourceName}: this cluster has broker ${nodeId}`,
      );
    }
    return result(KAFKA_ERRORS.NONE, null, brokerConfigEntries(nodeId, request.includeSynonyms, keys));
  }
  return result(
    KAFKA_ERRORS.INVALID_REQUEST,
    `Resource type ${resourceType} is not supported; Sluice describes topics (2) and the broker (4)`,
  );
}

/** One resource asked about: its type and name, and the keys wanted (null: every one). */
function decodeResource(r: KafkaReader): DescribeConfigsRequest['resources'][number] {
  const resourceType = r.int8();
  const resourceName = r.string();
  const configurationKeys = r.nullableArray((r) => r.string());
  r.taggedFields();
  return { resourceType, resourceName, configurationKeys };
}

export const describeConfigs: KafkaApi<DescribeConfigsRequest, DescribeConfigsResponse> = {
  key: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 4,

  decode(r: KafkaReader, version: number): DescribeConfigsRequest {
    const resources = r.array(decodeResource);
    const includeSynonyms = version >= 1 ? r.bool() : false;
    const includeDocumentation = version >= 3 ? r.bool() : false;
    r.taggedFields();
    return { resources, includeSynonyms, includeDocumentation };
  },

  async handle(request, context) {
    const results = await Promise.all(
      request.resources.map((resource) => describe(resource, request, context)),
    );
    return { results, includeDocumentation: request.includeDocumentation };
  },

  errorResponse(request, errorCode) {
    return {
      results: request.resources.map((r) => ({
        errorCode,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      })),
      includeDocumentation: false,
    };
  },

  encode(w: KafkaWriter, res: DescribeConfigsResponse, version: number): void {
    w.int32(0); // ThrottleTimeMs
    w.array(res.results, (w, result) => {
      w.int16(result.errorCode).nullableString(result.errorMessage);
      w.int8(result.resourceType).string(result.resourceName);
      w.array(result.configs, (w, c) => {
        w.string(c.name).nullableString(c.value).bool(c.readOnly);
        if (version === 0) w.bool(c.source === CONFIG_SOURCE.DEFAULT_CONFIG);
        else w.int8(c.source);
        w.bool(c.sensitive);
        if (version >= 1) {
          w.array(c.synonyms, (w, s) => {
            w.string(s.name).nullableString(s.value).int8(s.source).taggedFields();
          });
        }
        if (version >= 3) {
          w.int8(c.type);
          w.nullableString(res.includeDocumentation ? c.documentation : null);
        }
        w.taggedFields();
      });
      w.taggedFields();
    });
    w.taggedFields();
  },
};
