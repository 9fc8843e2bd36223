/**
 * OffsetFetch (key 9), v0–v9 (OffsetFetchRequest.json, OffsetFetchResponse.json). Flexible from v6.
 *
 *   OffsetFetchRequest v0–v7 => GroupId STRING,
 *                               Topics [Name STRING, PartitionIndexes [int32], TAG_BUFFER] (null: all, v2+),
 *                               RequireStable bool (v7+), TAG_BUFFER
 *   OffsetFetchRequest v8+ => Groups [GroupId STRING, MemberId NULLABLE_STRING (v9+), MemberEpoch int32 (v9+),
 *                                     Topics [Name STRING, PartitionIndexes [int32], TAG_BUFFER] (nullable),
 *                                     TAG_BUFFER], RequireStable bool, TAG_BUFFER
 *   OffsetFetchResponse v0–v7 => ThrottleTimeMs int32 (v3+),
 *                                Topics [Name STRING,
 *                                        Partitions [PartitionIndex int32, CommittedOffset int64,
 *                                                    CommittedLeaderEpoch int32 (v5+), Metadata NULLABLE_STRING,
 *                                                    ErrorCode int16, TAG_BUFFER], TAG_BUFFER],
 *                                ErrorCode int16 (v2+), TAG_BUFFER
 *   OffsetFetchResponse v8+ => ThrottleTimeMs int32,
 *                              Groups [GroupId STRING,
 *                                      Topics [Name STRING,
 *                                              Partitions [PartitionIndex int32, CommittedOffset int64,
 *                                                          CommittedLeaderEpoch int32, Metadata NULLABLE_STRING,
 *                                                          ErrorCode int16, TAG_BUFFER], TAG_BUFFER],
 *                                      ErrorCode int16, TAG_BUFFER], TAG_BUFFER
 *
 * Offsets committed through either door (Kafka or the Sluice SDK); −1 where none. With no
 * transactions no offset is ever pending, so RequireStable changes nothing.
 */
import { validGroupId } from '../../groups/classic/coordinator';
import type { TopicPartition } from '../../groups/types';
import { KAFKA_ERRORS } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { byTopic, code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

interface TopicRequest {
  readonly name: string;
  readonly partitions: number[];
}

export interface OffsetFetchRequest {
  readonly groups: { groupId: string; topics: TopicRequest[] | null }[];
}

interface PartitionAnswer {
  readonly index: number;
  readonly offset: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface OffsetFetchResponse {
  readonly groups: {
    groupId: string;
    errorCode: number;
    topics: { name: string; partitions: PartitionAnswer[] }[];
  }[];
}

function readTopics(r: KafkaReader, nullable: boolean): TopicRequest[] | null {
  const item = (r: KafkaReader) => {
    const name = r.string();
    const partitions = r.array((r) => r.int32());
    r.taggedFields();
    return { name, partitions };
  };
  return nullable ? r.nullableArray(item) : r.array(item);
}

export const offsetFetch: KafkaApi<OffsetFetchRequest, OffsetFetchResponse> = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 9,
  flexibleFrom: 6,

  decode(r: KafkaReader, version: number): OffsetFetchRequest {
    let groups: OffsetFetchRequest['groups'];
    if (version <= 7) {
      const groupId = r.string();
      groups = [{ groupId, topics: readTopics(r, version >= 2) }];
    } else {
      groups = r.array((r) => {
        const groupId = r.string();
        if (version >= 9) {
          r.nullableString(); // MemberId: the new consumer protocol (KIP-848) only
          r.int32(); // MemberEpoch
        }
        const topics = readTopics(r, true);
        r.taggedFields();
        return { groupId, topics };
      });
    }
    if (version >= 7) r.bool(); // RequireStable
    r.taggedFields();
    return { groups };
  },

  async handle(request, context) {
    const coordinator = context.listener.services.classicGroups;
    return {
      groups: await Promise.all(
        request.groups.map(async (g) => {
          const asked: TopicPartition[] | null =
            g.topics === null
              ? null
              : g.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
          try {
            const offsets = await coordinator.fetchOffsets(g.groupId, asked);
            return {
              groupId: g.groupId,
              errorCode: validGroupId(g.groupId) ? KAFKA_ERRORS.NONE : KAFKA_ERRORS.INVALID_GROUP_ID,
              topics: byTopic(offsets).map((t) => ({
                name: t.name,
                partitions: t.items.map((o) => ({
                  index: o.partition,
                  offset: o.offset,
                  metadata: o.metadata,
                  errorCode: code(o.error),
                })),
              })),
            };
          } catch (err) {
            const errorCode = groupErrorCode(err);
            return {
              groupId: g.groupId,
              errorCode,
              topics: (g.topics ?? []).map((t) => ({
                name: t.name,
                partitions: t.partitions.map((index) => ({ index, offset: -1, metadata: null, errorCode })),
              })),
            };
          }
        }),
      ),
    };
  },

  encode(w: KafkaWriter, res: OffsetFetchResponse, version: number): void {
    if (version >= 3) w.int32(0); // ThrottleTimeMs
    const topics = (w: KafkaWriter, list: OffsetFetchResponse['groups'][number]['topics']) =>
      w.array(list, (w, t) => {
        w.string(t.name);
        w.array(t.partitions, (w, p) => {
          w.int32(p.index).int64(p.offset);
          if (version >= 5) w.int32(-1); // CommittedLeaderEpoch
          w.nullableString(p.metadata).int16(p.errorCode).taggedFields();
        });
        w.taggedFields();
      });
    if (version <= 7) {
      const g = res.groups[0]!;
      topics(w, g.topics);
      if (version >= 2) w.int16(g.errorCode);
    } else {
      w.array(res.groups, (w, g) => {
        w.string(g.groupId);
        topics(w, g.topics);
        w.int16(g.errorCode).taggedFields();
      });
    }
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      groups: request.groups.map((g) => ({
        groupId: g.groupId,
        errorCode,
        topics: (g.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitions.map((index) => ({ index, offset: -1, metadata: null, errorCode })),
        })),
      })),
    };
  },
};
