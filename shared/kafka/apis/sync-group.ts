/**
 * SyncGroup (key 14), v0–v5 (SyncGroupRequest.json, SyncGroupResponse.json). Flexible from v4.
 *
 *   SyncGroupRequest => GroupId STRING, GenerationId int32, MemberId STRING,
 *                       GroupInstanceId NULLABLE_STRING (v3+), ProtocolType NULLABLE_STRING (v5+),
 *                       ProtocolName NULLABLE_STRING (v5+),
 *                       Assignments [MemberId STRING, Assignment BYTES, TAG_BUFFER], TAG_BUFFER
 *   SyncGroupResponse => ThrottleTimeMs int32 (v1+), ErrorCode int16, ProtocolType NULLABLE_STRING (v5+),
 *                        ProtocolName NULLABLE_STRING (v5+), Assignment BYTES, TAG_BUFFER
 *
 * The leader sends every member's assignment; each member gets its own (a follower waits for the
 * leader's). Each member's partitions are fenced for it before it is answered.
 */

import type { SyncGroupRequest } from '../../groups/classic/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export type { SyncGroupRequest };

export interface SyncGroupResponse {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export const syncGroup: KafkaApi<SyncGroupRequest, SyncGroupResponse> = {
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 4,

  decode(r: KafkaReader, version: number): SyncGroupRequest {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null;
    const protocolType = version >= 5 ? r.nullableString() : null;
    const protocolName = version >= 5 ? r.nullableString() : null;
    const assignments = r.array((r) => {
      const memberId = r.string();
      const assignment = Buffer.from(r.bytes());
      r.taggedFields();
      return { memberId, assignment };
    });
    r.taggedFields();
    return { groupId, generationId, memberId, groupInstanceId, protocolType, protocolName, assignments };
  },

  async handle(request, context) {
    try {
      const { error, ...rest } = await context.listener.services.classicGroups.syncGroup(
        request,
        context.connection.closed,
      );
      return { errorCode: code(error), ...rest };
    } catch (err) {
      return syncGroup.errorResponse!(request, groupErrorCode(err), context.apiVersion);
    }
  },

  encode(w: KafkaWriter, res: SyncGroupResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode);
    if (version >= 5) w.nullableString(res.protocolType).nullableString(res.protocolName);
    w.bytes(res.assignment).taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  },
};
