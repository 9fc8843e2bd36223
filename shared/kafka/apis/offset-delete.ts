/**
 * OffsetDelete (key 47), v0 (OffsetDeleteRequest.json, OffsetDeleteResponse.json). Never flexible.
 *
 *   OffsetDeleteRequest => GroupId STRING, Topics [Name STRING, Partitions [PartitionIndex int32]]
 *   OffsetDeleteResponse => ErrorCode int16, ThrottleTimeMs int32,
 *                           Topics [Name STRING, Partitions [PartitionIndex int32, ErrorCode int16]]
 *
 * Deletes committed offsets of topics the group's members do not consume (GROUP_SUBSCRIBED_TO_TOPIC
 * for those they do), as Kafka's kafka-consumer-groups.sh --delete-offsets.
 */
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { byTopic, code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface OffsetDeleteRequest {
  readonly groupId: string;
  readonly topics: { name: string; partitions: number[] }[];
}

export interface OffsetDeleteResponse {
  readonly errorCode: number;
  readonly topics: { name: string; partitions: { index: number; errorCode: number }[] }[];
}

export const offsetDelete: KafkaApi<OffsetDeleteRequest, OffsetDeleteResponse> = {
  key: 47,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  flexibleFrom: Number.POSITIVE_INFINITY,

  decode(r: KafkaReader): OffsetDeleteRequest {
    const groupId = r.string();
    const topics = r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));
    return { groupId, topics };
  },

  async handle(request, context) {
    try {
      const out = await context.listener.services.classicGroups.deleteOffsets(
        request.groupId,
        request.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))),
      );
      return {
        errorCode: code(out.error),
        topics: byTopic(out.partitions).map((t) => ({
          name: t.name,
          partitions: t.items.map((p) => ({ index: p.partition, errorCode: code(p.error) })),
        })),
      };
    } catch (err) {
      return { errorCode: groupErrorCode(err), topics: [] };
    }
  },

  encode(w: KafkaWriter, res: OffsetDeleteResponse): void {
    w.int16(res.errorCode).int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode);
      });
    });
  },

  errorResponse(_request, errorCode) {
    return { errorCode, topics: [] };
  },
};
