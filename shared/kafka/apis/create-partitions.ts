/**
 * CreatePartitions (key 37), v0–v3 (CreatePartitionsRequest.json, CreatePartitionsResponse.json).
 * Flexible from v2.
 *
 *   CreatePartitionsRequest => Topics [Name STRING, Count int32,
 *                                      Assignments [BrokerIds [int32], TAG_BUFFER] (nullable), TAG_BUFFER],
 *                              TimeoutMs int32, ValidateOnly bool, TAG_BUFFER (v2+)
 *   CreatePartitionsResponse => ThrottleTimeMs int32,
 *                               Results [Name STRING, ErrorCode int16, ErrorMessage NULLABLE_STRING,
 *                                        TAG_BUFFER], TAG_BUFFER (v2+)
 *
 * Count is the new total, as in Kafka: it may only grow (equal or fewer is INVALID_PARTITIONS, with
 * Kafka's messages), up to the limit. Assignments, when given, place each new partition, and must name
 * exactly this broker for each of them (INVALID_REPLICA_ASSIGNMENT otherwise). A topic named twice is
 * INVALID_REQUEST for each entry; ValidateOnly checks and changes nothing. Keys are partitioned by
 * count, so clients move keys to new partitions, as with Kafka.
 */
import { isSluiceError } from '../../errors';
import { LOG_LIMITS } from '../../model';
import { KAFKA_ERRORS, kafkaErrorCode } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import type { ErrorFields } from './fields';
import type { KafkaApi, RequestContext } from './types';

export interface CreatePartitionsTopic {
  readonly name: string;
  readonly count: number;
  readonly assignments: readonly (readonly number[])[] | null;
}

export interface CreatePartitionsRequest {
  readonly topics: readonly CreatePartitionsTopic[];
  readonly timeoutMs: number;
  readonly validateOnly: boolean;
}

export interface CreatePartitionsResult extends ErrorFields {
  readonly name: string;
}

export interface CreatePartitionsResponse {
  readonly results: readonly CreatePartitionsResult[];
}

async function grow(
  topic: CreatePartitionsTopic,
  request: CreatePartitionsRequest,
  context: RequestContext,
): Promise<CreatePartitionsResult> {
  const { name, count, assignments } = topic;
  const answer = (errorCode: number, errorMessage: string | null) => ({ name, errorCode, errorMessage });
  const { log } = context.listener.services;
  const { nodeId } = context.listener;
  try {
    const current = (await log.requireTopic(name, true)).partitionCount;
    if (count < current) {
      return answer(
        KAFKA_ERRORS.INVALID_PARTITIONS,
        `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
      );
    }
    if (count === current)
      return answer(KAFKA_ERRORS.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
    if (count > LOG_LIMITS.maxPartitions) {
      return answer(
        KAFKA_ERRORS.INVALID_PARTITIONS,
        `A topic may have at most ${LOG_LIMITS.maxPartitions} partitions, but ${count} were requested.`,
      );
    }
    if (assignments !== null) {
      if (assignments.length !== count - current) {
        return answer(
          KAFKA_ERRORS.INVALID_REPLICA_ASSIGNMENT,
          `Increasing the number of partitions by ${count - current} but ${assignments.length} assignments provided.`,
        );
      }
      const bad = assignments.find(
        (ids) => ids.length === 0 || ids.some((id) => id !== nodeId) || new Set(ids).size !== ids.length,
      );
      if (bad !== undefined) {
        return answer(
          KAFKA_ERRORS.INVALID_REPLICA_ASSIGNMENT,
          `A new partition is assigned to brokers [${bad.join(', ')}]; this cluster has only broker ${nodeId}.`,
        );
      }
    }
    if (!request.validateOnly) await log.createPartitions(name, count);
    return answer(KAFKA_ERRORS.NONE, null);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return answer(kafkaErrorCode(err), err.message);
  }
}

export const createPartitions: KafkaApi<CreatePartitionsRequest, CreatePartitionsResponse> = {
  key: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  flexibleFrom: 2,

  decode(r: KafkaReader): CreatePartitionsRequest {
    const topics = r.array((r): CreatePartitionsTopic => {
      const name = r.string();
      const count = r.int32();
      const assignments = r.nullableArray((r) => {
        const brokerIds = r.array((r) => r.int32());
        r.taggedFields();
        return brokerIds;
      });
      r.taggedFields();
      return { name, count, assignments };
    });
    const timeoutMs = r.int32();
    const validateOnly = r.bool();
    r.taggedFields();
    return { topics, timeoutMs, validateOnly };
  },

  async handle(request, context) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results = await Promise.all(
      request.topics.map((t) =>
        counts.get(t.name)! > 1
          ? {
              name: t.name,
              errorCode: KAFKA_ERRORS.INVALID_REQUEST,
              errorMessage: 'Duplicate topic in request.',
            }
          : grow(t, request, context),
      ),
    );
    return { results };
  },

  errorResponse(request, errorCode) {
    return { results: request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
  },

  encode(w: KafkaWriter, res: CreatePartitionsResponse): void {
    w.int32(0); // ThrottleTimeMs
    w.array(res.results, (w, t) => {
      w.string(t.name).int16(t.errorCode).nullableString(t.errorMessage).taggedFields();
    });
    w.taggedFields();
  },
};
