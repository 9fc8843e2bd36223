/**
 * Heartbeat (key 12), v0–v4 (HeartbeatRequest.json, HeartbeatResponse.json). Flexible from v4.
 *
 *   HeartbeatRequest => GroupId STRING, GenerationId int32, MemberId STRING,
 *                       GroupInstanceId NULLABLE_STRING (v3+), TAG_BUFFER
 *   HeartbeatResponse => ThrottleTimeMs int32 (v1+), ErrorCode int16, TAG_BUFFER
 *
 * REBALANCE_IN_PROGRESS tells a member to rejoin; in a steady group a heartbeat is one conditional
 * DynamoDB update.
 */
import type { MemberRef } from '../../groups/classic/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface HeartbeatResponse {
  readonly errorCode: number;
}

export const heartbeat: KafkaApi<MemberRef, HeartbeatResponse> = {
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  flexibleFrom: 4,

  decode(r: KafkaReader, version: number): MemberRef {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() : null;
    r.taggedFields();
    return { groupId, generationId, memberId, groupInstanceId };
  },

  async handle(request, context) {
    try {
      return { errorCode: code(await context.listener.services.classicGroups.heartbeat(request)) };
    } catch (err) {
      return { errorCode: groupErrorCode(err) };
    }
  },

  encode(w: KafkaWriter, res: HeartbeatResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode).taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode };
  },
};
