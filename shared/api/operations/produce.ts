import { randomInt } from 'node:crypto';
import { partitionForKey } from '../../codec/partitioner';
import { encodeRecordBatch, type ProducerRecord } from '../../codec/record-batch';
import { SluiceError } from '../../errors';
import type { PartitionError, ProducePartitionRequest, ProducePartitionResult } from '../../model';
import { partitionLabel } from '../../model/partitions';
import { decodeProduceRequest, encodeProduceResponse, FRAME_CONTENT_TYPE } from '../framing';
import { binary, json } from '../http';
import { API_LIMITS } from '../limits';
import { BINARY_MEDIA_TYPES } from '../routes';
import {
  checkBodySize,
  decodeBytes,
  ENCODINGS,
  type Encoding,
  invalid,
  jsonArray,
  jsonBody,
  jsonInt,
  jsonObject,
  jsonString,
  jsonStringMap,
  oneOf,
  partitionParam,
  queryParams,
  requireContentType,
  topicParam,
  validateTopicName,
} from '../validate';
import type { Operation } from './types';

interface JsonRecord {
  readonly record: ProducerRecord;
  readonly key: Buffer | null;
  readonly partition: number | undefined;
}

function parseRecord(value: unknown, field: string, encoding: Encoding): JsonRecord {
  const r = jsonObject(value, field, ['key', 'value', 'headers', 'partition', 'timestamp']);
  const bytes = (v: unknown, name: string): Buffer | null =>
    v === null || v === undefined
      ? null
      : decodeBytes(jsonString(v, `${field}.${name}`), encoding, `${field}.${name}`);
  if (!('value' in r)) throw invalid(`${field}.value is required (null for a tombstone)`);
  const key = bytes(r.key, 'key');
  const headers =
    r.headers === undefined || r.headers === null
      ? []
      : jsonStringMap(r.headers, `${field}.headers`).map(([k, v]) => ({
          key: k,
          value: v === null ? null : decodeBytes(v, encoding, `${field}.headers.${k}`),
        }));
  const partition =
    r.partition === undefined || r.partition === null
      ? undefined
      : jsonInt(`${field}.partition`, r.partition, { max: API_LIMITS.maxPartitionNumber });
  const timestamp =
    r.timestamp === undefined || r.timestamp === null
      ? Date.now()
      : jsonInt(`${field}.timestamp`, r.timestamp);
  return { record: { key, value: bytes(r.value, 'value'), headers, timestamp }, key, partition };
}

function producedRecords(results: readonly (ProducePartitionResult | PartitionError)[]): number {
  return results.reduce((n, r) => (r.error ? n : n + r.lastOffset - r.baseOffset + 1), 0);
}

/**
 * JSON produce: the server partitions (Kafka's murmur2 partitioner for keys; one random partition per
 * request for null keys, the sticky partitioner's per-batch choice), encodes one lz4 batch per
 * partition and appends them all in one log request. Offsets come back in request order.
 */
export const produceRecords: Operation = async (req, services) => {
  queryParams(req, []);
  const topic = topicParam(req);
  const body = jsonObject(jsonBody(req), 'the body', ['records', 'encoding']);
  const encoding = body.encoding === undefined ? 'utf8' : oneOf(body.encoding, 'encoding', ENCODINGS);
  const items = jsonArray(body.records, 'records', API_LIMITS.maxRecordsPerRequest);
  if (items.length === 0) throw invalid('records must hold at least one record, but is empty');
  const records = items.map((item, i) => parseRecord(item, `records[${i}]`, encoding));

  // The log service's warm topic cache answers this without a read most of the time.
  const { partitionCount: count } = await services.log.requireTopic(topic);
  const sticky = randomInt(count);
  const groups = new Map<number, { records: ProducerRecord[]; positions: number[] }>();
  const placement = records.map((r, i) => {
    if (r.partition !== undefined && r.partition >= count) {
      throw new SluiceError(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `records[${i}].partition must be < ${count} (the partition count of ${topic}), but ${r.partition} was provided`,
      );
    }
    const partition = r.partition ?? (r.key === null ? sticky : partitionForKey(r.key, count));
    let group = groups.get(partition);
    if (group === undefined) {
      group = { records: [], positions: [] };
      groups.set(partition, group);
    }
    group.positions.push(i);
    return { partition, position: group.records.push(r.record) - 1 };
  });

  const parts: ProducePartitionRequest[] = [...groups].map(([partition, group]) => ({
    topic,
    partition,
    batches: encodeRecordBatch(group.records, { compression: 'lz4' }),
  }));
  const results = await services.log.produce(parts);
  const byPartition = new Map(results.map((r) => [r.partition, r]));
  const failures = results.filter((r): r is PartitionError => r.error !== undefined);
  if (failures.length === results.length && failures[0]) throw failures[0].error;

  const offsets = placement.map(({ partition, position }) => {
    const result = byPartition.get(partition);
    if (result === undefined) throw new Error(`the log answered no result for partition ${partition}`);
    if (result.error) return { partition, error: result.error.toJSON().error };
    return { partition, offset: result.baseOffset + position };
  });
  return json(
    200,
    { offsets },
    { stats: { records: records.length, bytes: parts.reduce((n, p) => n + p.batches.length, 0) } },
  );
};

/** Binary produce: the body is one or more Kafka RecordBatches for one partition, appended as sent. */
export const produceBatches: Operation = async (req, { log }) => {
  queryParams(req, []);
  const topic = topicParam(req);
  const partition = partitionParam(req);
  requireContentType(req, BINARY_MEDIA_TYPES);
  checkBodySize(req);
  if (req.body.length === 0)
    throw new SluiceError('CORRUPT_MESSAGE', 'the body must hold at least one record batch, but it is empty');
  const [result] = await log.produce([{ topic, partition, batches: req.body }]);
  if (result === undefined) throw new Error('the log answered no result');
  if (result.error) throw result.error;
  return json(
    200,
    { baseOffset: result.baseOffset, lastOffset: result.lastOffset, duplicate: result.duplicate },
    { stats: { records: result.lastOffset - result.baseOffset + 1, bytes: req.body.length } },
  );
};

/** Multi-partition produce in the binary framing (framing.ts). Per-partition errors travel in the answer. */
export const produce: Operation = async (req, { log }) => {
  queryParams(req, []);
  requireContentType(req, [FRAME_CONTENT_TYPE]);
  checkBodySize(req);
  const parts = decodeProduceRequest(req.body);
  if (parts.length > API_LIMITS.maxPartitionsPerRequest) {
    throw new SluiceError(
      'MESSAGE_TOO_LARGE',
      `a produce request must name ≤ ${API_LIMITS.maxPartitionsPerRequest} partitions, but ${parts.length} were provided`,
    );
  }
  const seen = new Set<string>();
  parts.forEach((p, i) => {
    validateTopicName(p.topic, `partitions[${i}].topic`);
    jsonInt(`partitions[${i}].partition`, p.partition, { max: API_LIMITS.maxPartitionNumber });
    if (p.batches.length === 0) {
      throw new SluiceError(
        'CORRUPT_MESSAGE',
        `partitions[${i}] must hold at least one record batch, but it is empty`,
      );
    }
    const id = partitionLabel(p.topic, p.partition);
    if (seen.has(id)) throw invalid(`partitions[${i}] repeats ${id}; send each partition once per request`);
    seen.add(id);
  });
  const results = await log.produce(parts);
  return binary(200, encodeProduceResponse(results), FRAME_CONTENT_TYPE, {
    stats: { records: producedRecords(results), bytes: req.body.length },
  });
};
