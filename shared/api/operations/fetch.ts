import { decodeRecordBatches } from '../../codec/record-batch';
import { SluiceError } from '../../errors';
import type { LogService } from '../../log/log-service';
import type { FetchPartitionResult, FetchRequest } from '../../model';
import { partitionLabel } from '../../model/partitions';
import { countRecords } from '../batches';
import {
  decodeFetchRequest,
  encodeFetchResponse,
  FRAME_CONTENT_TYPE,
  fitFetchResponse,
  trimFetchResult,
} from '../framing';
import { type ApiRequest, binary, json, RECORD_BATCH_TYPE } from '../http';
import { API_LIMITS } from '../limits';
import {
  checkBodySize,
  ENCODINGS,
  encodeBytes,
  invalid,
  jsonInt,
  oneOf,
  parseIntParam,
  partitionParam,
  queryParams,
  requireBinaryAccept,
  requireContentType,
  topicParam,
  validateTopicName,
} from '../validate';
import type { Operation } from './types';

interface FetchLimits {
  readonly maxBytes: number;
  readonly minBytes: number;
  readonly maxWaitMs: number;
}

const MAX_BYTES = { min: 1, max: API_LIMITS.maxFetchBytes };
const MIN_BYTES = { max: API_LIMITS.maxFetchBytes };
const MAX_WAIT_MS = { max: API_LIMITS.maxWaitMs };

function fetchQuery(req: ApiRequest, extra: readonly string[] = []) {
  const q = queryParams(req, ['offset', 'maxBytes', 'minBytes', 'maxWaitMs', ...extra]);
  if (q.offset === undefined) throw invalid('query parameter offset is required');
  const limits: FetchLimits = {
    maxBytes:
      q.maxBytes === undefined
        ? API_LIMITS.defaultFetchMaxBytes
        : parseIntParam('maxBytes', q.maxBytes, MAX_BYTES),
    minBytes: q.minBytes === undefined ? 1 : parseIntParam('minBytes', q.minBytes, MIN_BYTES),
    maxWaitMs: q.maxWaitMs === undefined ? 0 : parseIntParam('maxWaitMs', q.maxWaitMs, MAX_WAIT_MS),
  };
  return {
    offset: parseIntParam('offset', q.offset),
    limits,
    query: q as Record<string, string | undefined>,
  };
}

async function fetchOne(
  log: LogService,
  topic: string,
  partition: number,
  offset: number,
  limits: FetchLimits,
): Promise<FetchPartitionResult> {
  const [result] = await log.fetch({
    partitions: [{ topic, partition, offset, maxBytes: limits.maxBytes }],
    ...limits,
  });
  if (result === undefined) throw new Error('the log answered no result');
  if (result.error) throw result.error;
  return result;
}

/** Binary fetch: the stored batches as they are, base offsets stamped, cut to maxBytes at a batch boundary. */
export const fetchBatches: Operation = async (req, { log }) => {
  const topic = topicParam(req);
  const partition = partitionParam(req);
  const { offset, limits } = fetchQuery(req);
  // After validating the query (bad input is 400 whatever the Accept), before any work.
  requireBinaryAccept(
    req,
    RECORD_BATCH_TYPE,
    `GET /v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/records`,
  );
  const fetched = await fetchOne(log, topic, partition, offset, limits);
  const result = trimFetchResult(fetched, offset, limits.maxBytes, true);
  return binary(200, result.records, RECORD_BATCH_TYPE, {
    headers: {
      'x-high-watermark': String(result.highWatermark),
      'x-log-start-offset': String(result.logStartOffset),
      'x-next-offset': String(result.nextOffset),
    },
    stats: { records: countRecords(result.records), bytes: result.records.length },
  });
};

/**
 * JSON fetch: the same batches decoded. Records below the requested offset (a batch may start before
 * it) are skipped; the answer stops before it would pass maxBytes of JSON, and nextOffset says where to
 * continue.
 */
export const fetchRecords: Operation = async (req, { log }) => {
  const topic = topicParam(req);
  const partition = partitionParam(req);
  const { offset, limits, query } = fetchQuery(req, ['encoding']);
  const encoding = query.encoding === undefined ? 'utf8' : oneOf(query.encoding, 'encoding', ENCODINGS);
  const result = await fetchOne(log, topic, partition, offset, limits);

  const out: unknown[] = [];
  let size = 200;
  let next = result.nextOffset;
  const { batches } = decodeRecordBatches(result.records);
  outer: for (const batch of batches) {
    for (const r of batch.records) {
      if (r.offset < offset || r.offset >= result.highWatermark) continue;
      const field = `the record at offset ${r.offset}`;
      const headers: Record<string, string | null> = Object.create(null);
      for (const h of r.headers)
        headers[h.key] =
          h.value === null ? null : encodeBytes(h.value, encoding, `${field}: header ${h.key}`);
      const item = {
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key === null ? null : encodeBytes(r.key, encoding, `${field}: key`),
        value: r.value === null ? null : encodeBytes(r.value, encoding, `${field}: value`),
        headers,
      };
      const itemSize = JSON.stringify(item).length + 1;
      if (out.length > 0 && size + itemSize > limits.maxBytes) {
        next = r.offset;
        break outer;
      }
      size += itemSize;
      out.push(item);
    }
  }
  return json(
    200,
    {
      records: out,
      highWatermark: result.highWatermark,
      logStartOffset: result.logStartOffset,
      nextOffset: next,
    },
    { stats: { records: out.length, bytes: size } },
  );
};

function validateFetchRequest(req: FetchRequest): Required<Pick<FetchRequest, 'maxBytes'>> & FetchRequest {
  if (req.partitions.length > API_LIMITS.maxPartitionsPerRequest) {
    throw new SluiceError(
      'MESSAGE_TOO_LARGE',
      `a fetch request must name ≤ ${API_LIMITS.maxPartitionsPerRequest} partitions, but ${req.partitions.length} were provided`,
    );
  }
  if (req.maxWaitMs !== undefined) jsonInt('maxWaitMs', req.maxWaitMs, MAX_WAIT_MS);
  if (req.minBytes !== undefined) jsonInt('minBytes', req.minBytes, MIN_BYTES);
  const maxBytes =
    req.maxBytes === undefined ? API_LIMITS.maxFetchBytes : jsonInt('maxBytes', req.maxBytes, MAX_BYTES);
  const seen = new Set<string>();
  req.partitions.forEach((p, i) => {
    validateTopicName(p.topic, `partitions[${i}].topic`);
    jsonInt(`partitions[${i}].partition`, p.partition, { max: API_LIMITS.maxPartitionNumber });
    if (p.maxBytes !== undefined) jsonInt(`partitions[${i}].maxBytes`, p.maxBytes, MAX_BYTES);
    const id = partitionLabel(p.topic, p.partition);
    if (seen.has(id))
      throw invalid(`partitions[${i}] repeats ${id}; ask for each partition once per request`);
    seen.add(id);
  });
  return { ...req, maxBytes };
}

/**
 * Multi-partition long-poll fetch in the binary framing (framing.ts). The whole answer, framing
 * included, stays within maxBytes (at most LOG_LIMITS.maxFetchBytes) except that the first batch is
 * always sent whole, so a consumer always progresses.
 */
export const fetch: Operation = async (req, { log }) => {
  queryParams(req, []);
  requireContentType(req, [FRAME_CONTENT_TYPE]);
  checkBodySize(req);
  const request = validateFetchRequest(decodeFetchRequest(req.body));
  requireBinaryAccept(req, FRAME_CONTENT_TYPE);
  const trimmed = fitFetchResponse(request, await log.fetch(request));
  const body = encodeFetchResponse(trimmed);
  return binary(200, body, FRAME_CONTENT_TYPE, {
    stats: { records: trimmed.reduce((n, r) => n + countRecords(r.records), 0), bytes: body.length },
  });
};
