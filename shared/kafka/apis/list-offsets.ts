/**
 * ListOffsets (key 2), v1–v7 (ListOffsetsRequest.json, ListOffsetsResponse.json). Flexible from v6.
 *
 *   ListOffsetsRequest => ReplicaId int32, IsolationLevel int8 (v2+),
 *                         Topics [Name STRING,
 *                                 Partitions [PartitionIndex int32, CurrentLeaderEpoch int32 (v4+),
 *                                             Timestamp int64, TAG_BUFFER], TAG_BUFFER], TAG_BUFFER
 *   ListOffsetsResponse => ThrottleTimeMs int32 (v2+),
 *                          Topics [Name STRING,
 *                                  Partitions [PartitionIndex int32, ErrorCode int16, Timestamp int64,
 *                                              Offset int64, LeaderEpoch int32 (v4+), TAG_BUFFER],
 *                                  TAG_BUFFER], TAG_BUFFER
 *
 * Timestamp −2 is the earliest offset (log start), −1 the latest (the high-water mark; with no
 * transactions also the last stable offset, whatever the isolation level), −3 (v7, KIP-734) the record
 * with the largest timestamp; any other value ≥ 0 the first record at or after it, or offset and
 * timestamp −1 when there is none, as Kafka answers.
 */
import { KAFKA_ERRORS, kafkaErrorCode, reportUnexpected } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { KafkaApi, RequestContext } from './types';

export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;
export const MAX_TIMESTAMP = -3;

export interface ListOffsetsRequest {
  readonly isolationLevel: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly timestamp: number }[];
  }[];
}

export interface ListOffsetsPartitionResponse {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly timestamp: number;
  readonly offset: number;
}

export interface ListOffsetsResponse {
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly ListOffsetsPartitionResponse[];
  }[];
}

async function lookUp(
  context: RequestContext,
  topic: string,
  partitionIndex: number,
  timestamp: number,
): Promise<ListOffsetsPartitionResponse> {
  const { log } = context.listener.services;
  try {
    if (timestamp === EARLIEST_TIMESTAMP || timestamp === LATEST_TIMESTAMP) {
      const { offset } = await log.listOffset(
        topic,
        partitionIndex,
        timestamp === EARLIEST_TIMESTAMP ? 'earliest' : 'latest',
      );
      return { partitionIndex, errorCode: KAFKA_ERRORS.NONE, timestamp: -1, offset };
    }
    if (timestamp === MAX_TIMESTAMP && context.apiVersion >= 7) {
      const found = await log.maxTimestampOffset(topic, partitionIndex);
      return {
        partitionIndex,
        errorCode: KAFKA_ERRORS.NONE,
        timestamp: found?.timestamp ?? -1,
        offset: found?.offset ?? -1,
      };
    }
    if (timestamp < 0) {
      return { partitionIndex, errorCode: KAFKA_ERRORS.INVALID_REQUEST, timestamp: -1, offset: -1 };
    }
    const found = await log.listOffset(topic, partitionIndex, { timestamp });
    if (found.timestamp === null)
      return { partitionIndex, errorCode: KAFKA_ERRORS.NONE, timestamp: -1, offset: -1 };
    return { partitionIndex, errorCode: KAFKA_ERRORS.NONE, timestamp: found.timestamp, offset: found.offset };
  } catch (err) {
    reportUnexpected(context, 'ListOffsets', topic, partitionIndex, err);
    return { partitionIndex, errorCode: kafkaErrorCode(err), timestamp: -1, offset: -1 };
  }
}

export const listOffsets: KafkaApi<ListOffsetsRequest, ListOffsetsResponse> = {
  key: 2,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 7,
  flexibleFrom: 6,

  decode(r: KafkaReader, version: number): ListOffsetsRequest {
    r.int32(); // ReplicaId
    const isolationLevel = version >= 2 ? r.int8() : 0;
    const topics = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const partitionIndex = r.int32();
        if (version >= 4) r.int32(); // CurrentLeaderEpoch: Metadata answers −1
        const timestamp = r.int64Number();
        r.taggedFields();
        return { partitionIndex, timestamp };
      });
      r.taggedFields();
      return { name, partitions };
    });
    r.taggedFields();
    return { isolationLevel, topics };
  },

  async handle(request, context) {
    return {
      topics: await Promise.all(
        request.topics.map(async (t) => ({
          name: t.name,
          partitions: await Promise.all(
            t.partitions.map((p) => lookUp(context, t.name, p.partitionIndex, p.timestamp)),
          ),
        })),
      ),
    };
  },

  encode(w: KafkaWriter, res: ListOffsetsResponse, version: number): void {
    if (version >= 2) w.int32(0); // ThrottleTimeMs
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.partitionIndex).int16(p.errorCode).int64(p.timestamp).int64(p.offset);
        if (version >= 4) w.int32(-1); // LeaderEpoch
        w.taggedFields();
      });
      w.taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode,
          timestamp: -1,
          offset: -1,
        })),
      })),
    };
  },
};
