/**
 * LeaveGroup (key 13), v0–v5 (LeaveGroupRequest.json, LeaveGroupResponse.json). Flexible from v4.
 *
 *   LeaveGroupRequest => GroupId STRING, MemberId STRING (v0–v2),
 *                        Members [MemberId STRING, GroupInstanceId NULLABLE_STRING,
 *                                 Reason NULLABLE_STRING (v5+), TAG_BUFFER] (v3+), TAG_BUFFER
 *   LeaveGroupResponse => ThrottleTimeMs int32 (v1+), ErrorCode int16,
 *                         Members [MemberId STRING, GroupInstanceId NULLABLE_STRING, ErrorCode int16,
 *                                  TAG_BUFFER] (v3+), TAG_BUFFER
 *
 * v3+ removes a batch of members (by member id or group instance id, KIP-345) with an error each.
 */
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface LeaveGroupRequest {
  readonly groupId: string;
  readonly members: { memberId: string; groupInstanceId: string | null }[];
}

export interface LeaveGroupResponse {
  readonly errorCode: number;
  readonly members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export const leaveGroup: KafkaApi<LeaveGroupRequest, LeaveGroupResponse> = {
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 4,

  decode(r: KafkaReader, version: number): LeaveGroupRequest {
    const groupId = r.string();
    let members: LeaveGroupRequest['members'];
    if (version <= 2) members = [{ memberId: r.string(), groupInstanceId: null }];
    else {
      members = r.array((r) => {
        const memberId = r.string();
        const groupInstanceId = r.nullableString();
        if (version >= 5) r.nullableString(); // Reason
        r.taggedFields();
        return { memberId, groupInstanceId };
      });
    }
    r.taggedFields();
    return { groupId, members };
  },

  async handle(request, context) {
    try {
      const out = await context.listener.services.classicGroups.leaveGroup(request.groupId, request.members);
      const members = out.members.map((m) => ({ ...m, errorCode: code(m.error) }));
      // Before v3 the one member's error is the answer's.
      const errorCode =
        context.apiVersion <= 2 && out.error === 'NONE' ? (members[0]?.errorCode ?? 0) : code(out.error);
      return { errorCode, members };
    } catch (err) {
      return { errorCode: groupErrorCode(err), members: [] };
    }
  },

  encode(w: KafkaWriter, res: LeaveGroupResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode);
    if (version >= 3) {
      w.array(res.members, (w, m) => {
        w.string(m.memberId).nullableString(m.groupInstanceId).int16(m.errorCode).taggedFields();
      });
    }
    w.taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode, members: [] };
  },
};
