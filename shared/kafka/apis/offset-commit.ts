/**
 * OffsetCommit (key 8), v0–v9 (OffsetCommitRequest.json, OffsetCommitResponse.json). Flexible from v8.
 *
 *   OffsetCommitRequest => GroupId STRING, GenerationIdOrMemberEpoch int32 (v1+), MemberId STRING (v1+),
 *                          GroupInstanceId NULLABLE_STRING (v7+), RetentionTimeMs int64 (v2–v4),
 *                          Topics [Name STRING,
 *                                  Partitions [PartitionIndex int32, CommittedOffset int64,
 *                                              CommittedLeaderEpoch int32 (v6+), CommitTimestamp int64 (v1),
 *                                              CommittedMetadata NULLABLE_STRING, TAG_BUFFER],
 *                                  TAG_BUFFER], TAG_BUFFER
 *   OffsetCommitResponse => ThrottleTimeMs int32 (v3+),
 *                           Topics [Name STRING, Partitions [PartitionIndex int32, ErrorCode int16,
 *                                   TAG_BUFFER], TAG_BUFFER], TAG_BUFFER
 *
 * The offsets are the Sluice group's offset items: the HTTP describe and `sluice groups describe` show
 * them. A member's commit is fenced per partition (ILLEGAL_GENERATION when the partition is not its own
 * at its generation); generation −1 commits for a group without members (manual assignment). Retention
 * time and leader epoch are accepted and not used.
 */
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { byTopic, code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface OffsetCommitRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: {
    name: string;
    partitions: { index: number; offset: number; metadata: string | null }[];
  }[];
}

export interface OffsetCommitResponse {
  readonly topics: { name: string; partitions: { index: number; errorCode: number }[] }[];
}

export const offsetCommit: KafkaApi<OffsetCommitRequest, OffsetCommitResponse> = {
  key: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  flexibleFrom: 8,

  decode(r: KafkaReader, version: number): OffsetCommitRequest {
    const groupId = r.string();
    const generationId = version >= 1 ? r.int32() : -1;
    const memberId = version >= 1 ? r.string() : '';
    const groupInstanceId = version >= 7 ? r.nullableString() : null;
    if (version >= 2 && version <= 4) r.int64(); // RetentionTimeMs
    const topics = r.array((r) => {
      const name = r.string();
      const partitions = r.array((r) => {
        const index = r.int32();
        const offset = Number(r.int64());
        if (version >= 6) r.int32(); // CommittedLeaderEpoch
        if (version === 1) r.int64(); // CommitTimestamp
        const metadata = r.nullableString();
        r.taggedFields();
        return { index, offset, metadata };
      });
      r.taggedFields();
      return { name, partitions };
    });
    r.taggedFields();
    return { groupId, generationId, memberId, groupInstanceId, topics };
  },

  async handle(request, context) {
    try {
      const results = await context.listener.services.classicGroups.commitOffsets({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId,
        partitions: request.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.index,
            offset: p.offset,
            metadata: p.metadata,
          })),
        ),
      });
      return {
        topics: byTopic(results).map((t) => ({
          name: t.name,
          partitions: t.items.map((p) => ({ index: p.partition, errorCode: code(p.error) })),
        })),
      };
    } catch (err) {
      return offsetCommit.errorResponse!(request, groupErrorCode(err), context.apiVersion);
    }
  },

  encode(w: KafkaWriter, res: OffsetCommitResponse, version: number): void {
    if (version >= 3) w.int32(0); // ThrottleTimeMs
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).taggedFields();
      });
      w.taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ index: p.index, errorCode })),
      })),
    };
  },
};
