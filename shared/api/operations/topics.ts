import type { OffsetSpec, Topic, TopicDescription } from '../../model';
import { LOG_LIMITS } from '../../model';
import { json, noContent } from '../http';
import {
  invalid,
  jsonBody,
  jsonInt,
  jsonObject,
  parseIntParam,
  partitionParam,
  queryParams,
  show,
  topicParam,
  validateTopicName,
} from '../validate';
import type { Operation } from './types';

/** A topic as the API shows it. */
export function topicView(topic: Topic) {
  return {
    name: topic.name,
    topicId: topic.topicId,
    partitionCount: topic.partitionCount,
    retentionMs: topic.retentionMs,
    retentionBytes: topic.retentionBytes,
    createdAt: topic.createdAt,
  };
}

export function descriptionView(description: TopicDescription) {
  return {
    ...topicView(description),
    partitions: description.partitions.map((p) => ({
      partition: p.partition,
      logStartOffset: p.logStartOffset,
      highWatermark: p.highWatermark,
    })),
  };
}

function partitionCount(value: unknown, field: string): number {
  return jsonInt(field, value, { min: 1, max: LOG_LIMITS.maxPartitions, code: 'INVALID_PARTITIONS' });
}

/**
 * A retention setting: absent (undefined: the default, or unchanged), null or -1 (Kafka's value) for
 * no bound — keep forever, or no size limit — or a positive integer.
 */
function retention(value: unknown, field: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === null || value === -1) return null;
  return jsonInt(field, value, { min: 1, code: 'INVALID_CONFIG' });
}

export const createTopic: Operation = async (req, { log }) => {
  queryParams(req, []);
  const body = jsonObject(jsonBody(req), 'the body', ['name', 'partitions', 'retentionMs', 'retentionBytes']);
  const name = validateTopicName(body.name, 'name');
  const partitions = partitionCount(body.partitions, 'partitions');
  const retentionMs = retention(body.retentionMs, 'retentionMs');
  const retentionBytes = retention(body.retentionBytes, 'retentionBytes');
  const topic = await log.createTopic({
    name,
    partitionCount: partitions,
    ...(retentionMs === undefined ? {} : { retentionMs }),
    ...(retentionBytes === undefined ? {} : { retentionBytes }),
  });
  return json(201, topicView(topic));
};

export const listTopics: Operation = async (req, { log }) => {
  queryParams(req, []);
  const topics = await log.listTopics();
  return json(200, { topics: topics.map(topicView) });
};

export const describeTopic: Operation = async (req, { log }) => {
  queryParams(req, []);
  return json(200, descriptionView(await log.describeTopic(topicParam(req))));
};

export const deleteTopic: Operation = async (req, { log }) => {
  queryParams(req, []);
  await log.deleteTopic(topicParam(req));
  return noContent();
};

export const alterTopicConfig: Operation = async (req, { log }) => {
  queryParams(req, []);
  const topic = topicParam(req);
  const body = jsonObject(jsonBody(req), 'the body', ['retentionMs', 'retentionBytes']);
  const retentionMs = retention(body.retentionMs, 'retentionMs');
  const retentionBytes = retention(body.retentionBytes, 'retentionBytes');
  if (retentionMs === undefined && retentionBytes === undefined) {
    throw invalid('the body must set retentionMs, retentionBytes or both', 'INVALID_CONFIG');
  }
  const altered = await log.alterTopicConfig(topic, {
    ...(retentionMs === undefined ? {} : { retentionMs }),
    ...(retentionBytes === undefined ? {} : { retentionBytes }),
  });
  return json(200, topicView(altered));
};

export const createPartitions: Operation = async (req, { log }) => {
  queryParams(req, []);
  const topic = topicParam(req);
  const body = jsonObject(jsonBody(req), 'the body', ['partitions']);
  const partitions = partitionCount(body.partitions, 'partitions');
  return json(200, descriptionView(await log.createPartitions(topic, partitions)));
};

/** `at` of an offset lookup: earliest, latest, or a timestamp in ms (the first offset at or after it). */
export function parseOffsetSpec(raw: string | undefined): OffsetSpec {
  if (raw === undefined)
    throw invalid('query parameter at is required (earliest, latest or a timestamp in ms)');
  if (raw === 'earliest' || raw === 'latest') return raw;
  if (!/^[0-9]/.test(raw)) {
    throw invalid(`at must be earliest, latest or a timestamp in ms, but ${show(raw)} was provided`);
  }
  return { timestamp: parseIntParam('at', raw) };
}

export const listOffsets: Operation = async (req, { log }) => {
  const topic = topicParam(req);
  const partition = partitionParam(req);
  const spec = parseOffsetSpec(queryParams(req, ['at']).at);
  const { offset, timestamp } = await log.listOffset(topic, partition, spec);
  return json(200, { topic, partition, offset, timestamp });
};
