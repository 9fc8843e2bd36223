/**
 * Produce (key 0), v0–v9 (ProduceRequest.json, ProduceResponse.json). Flexible from v9.
 *
 *   ProduceRequest => TransactionalId NULLABLE_STRING (v3+), Acks int16, TimeoutMs int32,
 *                     TopicData [Name STRING, PartitionData [Index int32, Records RECORDS, TAG_BUFFER],
 *                                TAG_BUFFER], TAG_BUFFER
 *   ProduceResponse => Responses [Name STRING,
 *                                 PartitionResponses [Index int32, ErrorCode int16, BaseOffset int64,
 *                                                     LogAppendTimeMs int64 (v2+), LogStartOffset int64 (v5+),
 *                                                     RecordErrors [BatchIndex int32,
 *                                                                   BatchIndexErrorMessage NULLABLE_STRING,
 *                                                                   TAG_BUFFER] (v8+),
 *                                                     ErrorMessage NULLABLE_STRING (v8+), TAG_BUFFER],
 *                                 TAG_BUFFER],
 *                      ThrottleTimeMs int32 (v1+), TAG_BUFFER
 *
 * v0–v2 carry message formats 0 and 1, which Sluice does not store: their batches are refused with
 * UNSUPPORTED_FOR_MESSAGE_FORMAT (as Kafka 4 refuses them), and a v2 batch in them with INVALID_RECORD
 * (as Kafka refuses magic 2 below Produce v3); nothing is written. They are implemented and advertised
 * anyway because librdkafka (kcat, confluent-kafka) enables gzip, snappy and lz4 only when the
 * broker's Produce range includes v0 (rdkafka_msgset_writer.c); without it, it sends those batches
 * uncompressed.
 *
 * Every partition's records go to the listener's gatherer synchronously, in the order the request
 * lists them, before the handler first awaits: one connection's requests reach the log in the order
 * it sent them. The batches are stored exactly as sent (the log stamps only baseOffset), producer id,
 * epoch and sequence included, so idempotent batches reach the log's idempotence unchanged.
 *
 * acks 1 and −1 are answered once the data is committed (there is one copy, in S3, before any answer);
 * acks 0 still appends and answers nothing. Other acks values get INVALID_REQUIRED_ACKS and write
 * nothing. TimeoutMs is not used: an append is bounded by the log's own limits.
 */
import type { PartitionError, ProducePartitionResult } from '../../log/types';
import { KAFKA_ERRORS, kafkaErrorCode, reportUnexpected } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { type KafkaApi, NO_RESPONSE } from './types';

export interface ProduceRequest {
  readonly transactionalId: string | null;
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly index: number; readonly records: Buffer | null }[];
  }[];
}

export interface ProducePartitionResponse {
  readonly index: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  readonly logStartOffset: number;
  readonly errorMessage: string | null;
}

export interface ProduceResponse {
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly ProducePartitionResponse[];
  }[];
}

function answer(index: number, result: ProducePartitionResult | PartitionError): ProducePartitionResponse {
  if (result.error) {
    return {
      index,
      errorCode: kafkaErrorCode(result.error),
      baseOffset: -1,
      logStartOffset: -1,
      errorMessage: result.error.message,
    };
  }
  if (result.duplicate && result.baseOffset < 0) {
    // A retry of a batch stored long ago whose offsets are no longer at hand: Kafka's producers take
    // DUPLICATE_SEQUENCE_NUMBER as success.
    return {
      index,
      errorCode: KAFKA_ERRORS.DUPLICATE_SEQUENCE_NUMBER,
      baseOffset: -1,
      logStartOffset: -1,
      errorMessage: null,
    };
  }
  return {
    index,
    errorCode: KAFKA_ERRORS.NONE,
    baseOffset: result.baseOffset,
    logStartOffset: -1,
    errorMessage: null,
  };
}

export const produce: KafkaApi<ProduceRequest, ProduceResponse> = {
  key: 0,
  name: 'Produce',
  minVersion: 0,
  maxVersion: 9,
  flexibleFrom: 9,

  decode(r: KafkaReader, version: number): ProduceRequest {
    const transactionalId = version >= 3 ? r.nullableString() : null;
    const acks = r.int16();
    const timeoutMs = r.int32();
    const topics = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const index = r.int32();
        const records = r.records();
        r.taggedFields();
        return { index, records };
      });
      r.taggedFields();
      return { name, partitions };
    });
    r.taggedFields();
    return { transactionalId, acks, timeoutMs, topics };
  },

  handle(request, context) {
    const fail = (errorCode: number, errorMessage: string): Promise<ProduceResponse> =>
      Promise.resolve({
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            index: p.index,
            errorCode,
            baseOffset: -1,
            logStartOffset: -1,
            errorMessage,
          })),
        })),
      });
    if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
      return fail(
        KAFKA_ERRORS.INVALID_REQUIRED_ACKS,
        `acks must be 0, 1 or -1, but ${request.acks} was sent`,
      );
    }
    if (context.apiVersion < 3) {
      // Kafka's ProduceRequest.validateRecords: below v3, only magic 0 and 1, which Sluice does not keep.
      return Promise.resolve({
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            const magic2 = p.records !== null && p.records.length > 16 && p.records[16] === 2;
            return {
              index: p.index,
              errorCode: magic2 ? KAFKA_ERRORS.INVALID_RECORD : KAFKA_ERRORS.UNSUPPORTED_FOR_MESSAGE_FORMAT,
              baseOffset: -1,
              logStartOffset: -1,
              errorMessage: magic2
                ? `Produce v${context.apiVersion} may only carry message formats 0 and 1`
                : 'Sluice stores message format 2 only (Produce v3 and later)',
            };
          }),
        })),
      });
    }
    const parts = request.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.index, batches: p.records ?? Buffer.alloc(0) })),
    );
    // Synchronously, before any await: keeps this connection's order (see the file's comment).
    const gathered = context.listener.produce.produce(parts);
    if (request.acks === 0) {
      // Nobody waits: failures have no one to go to (Kafka drops them too; the client sees nothing).
      gathered.catch(() => {});
      return Promise.resolve(NO_RESPONSE);
    }
    return gathered.then((results) => {
      let i = 0;
      return {
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            const result = results[i++]!;
            if (result.error) reportUnexpected(context, 'Produce', t.name, p.index, result.error);
            return answer(p.index, result);
          }),
        })),
      };
    });
  },

  encode(w: KafkaWriter, res: ProduceResponse, version: number): void {
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).int64(p.baseOffset);
        if (version >= 2) w.int64(-1); // LogAppendTimeMs: CreateTime topics
        if (version >= 5) w.int64(p.logStartOffset);
        if (version >= 8) {
          w.array([], () => {});
          w.nullableString(p.errorMessage);
        }
        w.taggedFields();
      });
      w.taggedFields();
    });
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          index: p.index,
          errorCode,
          baseOffset: -1,
          logStartOffset: -1,
          errorMessage: null,
        })),
      })),
    };
  },
};
