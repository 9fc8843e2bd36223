/**
 * Fetch (key 1), v4–v12 (FetchRequest.json, FetchResponse.json). Flexible from v12.
 *
 *   FetchRequest => ReplicaId int32, MaxWaitMs int32, MinBytes int32, MaxBytes int32,
 *                   IsolationLevel int8, SessionId int32 (v7+), SessionEpoch int32 (v7+),
 *                   Topics [Topic STRING,
 *                           Partitions [Partition int32, CurrentLeaderEpoch int32 (v9+), FetchOffset int64,
 *                                       LastFetchedEpoch int32 (v12+), LogStartOffset int64 (v5+),
 *                                       PartitionMaxBytes int32, TAG_BUFFER], TAG_BUFFER],
 *                   ForgottenTopicsData [Topic STRING, Partitions [int32], TAG_BUFFER] (v7+),
 *                   RackId STRING (v11+), TAG_BUFFER (v12+; tag 0 ClusterId)
 *   FetchResponse => ThrottleTimeMs int32, ErrorCode int16 (v7+), SessionId int32 (v7+),
 *                    Responses [Topic STRING,
 *                               Partitions [PartitionIndex int32, ErrorCode int16, HighWatermark int64,
 *                                           LastStableOffset int64, LogStartOffset int64 (v5+),
 *                                           AbortedTransactions [ProducerId int64, FirstOffset int64,
 *                                                                TAG_BUFFER] (nullable),
 *                                           PreferredReadReplica int32 (v11+), Records RECORDS, TAG_BUFFER],
 *                               TAG_BUFFER], TAG_BUFFER
 *
 * Fetch sessions (KIP-227) are not implemented: every request is answered in full with SessionId 0,
 * which tells the client there is no session, so it keeps sending full requests. A request that names
 * a session (SessionId ≠ 0, or SessionEpoch > 0) gets FETCH_SESSION_ID_NOT_FOUND.
 *
 * Waiting is LogService.fetch's long poll (maxWaitMs, minBytes, capped like the HTTP fetch): whatever
 * wakes the log's waiting fetches when this process commits also wakes Kafka consumers.
 * IsolationLevel is accepted; with no transactions, the last stable offset is the high-water mark.
 */
import { LOG_LIMITS } from '../../log/types';
import { encodeEmptyBatch, nextOffsetAfter } from '../batches';
import { KAFKA_ERRORS, kafkaErrorCode, reportUnexpected } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { KafkaApi } from './types';

export interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly isolationLevel: number;
  readonly sessionId: number;
  readonly sessionEpoch: number;
  readonly topics: readonly {
    readonly topic: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly fetchOffset: number;
      readonly partitionMaxBytes: number;
    }[];
  }[];
}

export interface FetchPartitionData {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly records: Buffer | null;
}

export interface FetchResponse {
  readonly errorCode: number;
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly FetchPartitionData[] }[];
}

const clamp = (v: number, min: number, max: number) => Math.min(Math.max(v, min), max);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export const fetch: KafkaApi<FetchRequest, FetchResponse> = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 12,
  flexibleFrom: 12,

  decode(r: KafkaReader, version: number): FetchRequest {
    r.int32(); // ReplicaId: consumers send −1; there are no followers
    const maxWaitMs = r.int32();
    const minBytes = r.int32();
    const maxBytes = r.int32();
    const isolationLevel = r.int8();
    const sessionId = version >= 7 ? r.int32() : 0;
    const sessionEpoch = version >= 7 ? r.int32() : -1;
    const topics = r.array((r) => {
      const topic = r.string();
      const partitions = r.array((r) => {
        const partition = r.int32();
        if (version >= 9) r.int32(); // CurrentLeaderEpoch: Metadata answers −1, so there is nothing to check
        const fetchOffset = r.int64Number();
        if (version >= 12) r.int32(); // LastFetchedEpoch
        if (version >= 5) r.int64(); // LogStartOffset: followers only
        const partitionMaxBytes = r.int32();
        r.taggedFields();
        return { partition, fetchOffset, partitionMaxBytes };
      });
      r.taggedFields();
      return { topic, partitions };
    });
    if (version >= 7) {
      r.array((r) => {
        r.string();
        r.array((r) => r.int32());
        r.taggedFields();
      });
    }
    if (version >= 11) r.string(); // RackId
    r.taggedFields();
    return { maxWaitMs, minBytes, maxBytes, isolationLevel, sessionId, sessionEpoch, topics };
  },

  async handle(request, context) {
    if (request.sessionId !== 0 || request.sessionEpoch > 0) {
      return { errorCode: KAFKA_ERRORS.FETCH_SESSION_ID_NOT_FOUND, topics: [] };
    }
    const maxWaitMs = Math.min(Math.max(0, request.maxWaitMs), LOG_LIMITS.maxWaitMsCap);
    const maxBytes = clamp(request.maxBytes, 1, LOG_LIMITS.maxFetchBytes);
    const parts = request.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.topic,
        partition: p.partition,
        offset: p.fetchOffset,
        maxBytes: clamp(p.partitionMaxBytes, 1, maxBytes),
      })),
    );
    if (parts.length === 0) {
      // Nothing to wait for but time: a client polling with an empty request would otherwise spin.
      await sleep(maxWaitMs, context.connection.closed);
      return { errorCode: KAFKA_ERRORS.NONE, topics: [] };
    }
    const results = await context.listener.services.log.fetch({
      partitions: parts,
      maxWaitMs,
      minBytes: Math.max(0, request.minBytes),
      maxBytes,
    });
    let i = 0;
    return {
      errorCode: KAFKA_ERRORS.NONE,
      topics: request.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p): FetchPartitionData => {
          const result = results[i++]!;
          if (result.error) {
            reportUnexpected(context, 'Fetch', t.topic, p.partition, result.error);
            return {
              partitionIndex: p.partition,
              errorCode: kafkaErrorCode(result.error),
              highWatermark: result.highWatermark,
              logStartOffset: result.logStartOffset,
              records: Buffer.alloc(0),
            };
          }
          let records = result.records;
          // Offsets that hold no records (an aborted range) before nextOffset: cover them (batches.ts).
          const covered = nextOffsetAfter(records) ?? p.fetchOffset;
          if (result.nextOffset > covered) {
            records = Buffer.concat([records, encodeEmptyBatch(covered, result.nextOffset - covered)]);
          }
          return {
            partitionIndex: p.partition,
            errorCode: KAFKA_ERRORS.NONE,
            highWatermark: result.highWatermark,
            logStartOffset: result.logStartOffset,
            records,
          };
        }),
      })),
    };
  },

  encode(w: KafkaWriter, res: FetchResponse, version: number): void {
    w.int32(0); // ThrottleTimeMs
    if (version >= 7) w.int16(res.errorCode).int32(0); // SessionId 0: no session
    w.array(res.topics, (w, t) => {
      w.string(t.topic);
      w.array(t.partitions, (w, p) => {
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.highWatermark);
        w.int64(p.highWatermark); // LastStableOffset: no transactions, everything below the mark is stable
        if (version >= 5) w.int64(p.logStartOffset);
        w.nullableArray(null, () => {}); // AbortedTransactions
        if (version >= 11) w.int32(-1); // PreferredReadReplica
        w.records(p.records);
        w.taggedFields();
      });
      w.taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode, topics: [] };
  },
};
