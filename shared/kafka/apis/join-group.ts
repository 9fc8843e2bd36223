/**
 * JoinGroup (key 11), v0–v9 (JoinGroupRequest.json, JoinGroupResponse.json). Flexible from v6.
 *
 *   JoinGroupRequest => GroupId STRING, SessionTimeoutMs int32, RebalanceTimeoutMs int32 (v1+),
 *                       MemberId STRING, GroupInstanceId NULLABLE_STRING (v5+), ProtocolType STRING,
 *                       Protocols [Name STRING, Metadata BYTES, TAG_BUFFER],
 *                       Reason NULLABLE_STRING (v8+), TAG_BUFFER
 *   JoinGroupResponse => ThrottleTimeMs int32 (v2+), ErrorCode int16, GenerationId int32,
 *                        ProtocolType NULLABLE_STRING (v7+), ProtocolName STRING (NULLABLE v7+),
 *                        Leader STRING, SkipAssignment bool (v9+), MemberId STRING,
 *                        Members [MemberId STRING, GroupInstanceId NULLABLE_STRING (v5+), Metadata BYTES,
 *                                 TAG_BUFFER], TAG_BUFFER
 *
 * The answer waits for the rebalance (shared/groups/classic/coordinator.ts), bounded by the rebalance
 * timeout; from v4 a new member first gets MEMBER_ID_REQUIRED with its id (KIP-394).
 */
import type { JoinGroupResult } from '../../groups/classic/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface JoinGroupRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: { name: string; metadata: Buffer }[];
}

export interface JoinGroupResponse extends Omit<JoinGroupResult, 'error'> {
  readonly errorCode: number;
}

export const joinGroup: KafkaApi<JoinGroupRequest, JoinGroupResponse> = {
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  flexibleFrom: 6,

  decode(r: KafkaReader, version: number): JoinGroupRequest {
    const groupId = r.string();
    const sessionTimeoutMs = r.int32();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const memberId = r.string();
    const groupInstanceId = version >= 5 ? r.nullableString() : null;
    const protocolType = r.string();
    const protocols = r.array((r) => {
      const name = r.string();
      const metadata = Buffer.from(r.bytes());
      r.taggedFields();
      return { name, metadata };
    });
    if (version >= 8) r.nullableString(); // Reason: only logged by Kafka
    r.taggedFields();
    return {
      groupId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      memberId,
      groupInstanceId,
      protocolType,
      protocols,
    };
  },

  async handle(request, context) {
    try {
      const { error, ...rest } = await context.listener.services.classicGroups.joinGroup(
        {
          ...request,
          requireKnownMemberId: context.apiVersion >= 4,
          clientId: context.clientId ?? '',
          clientHost: context.clientHost,
        },
        context.connection.closed,
      );
      return { errorCode: code(error), ...rest };
    } catch (err) {
      return joinGroup.errorResponse!(request, groupErrorCode(err), context.apiVersion);
    }
  },

  encode(w: KafkaWriter, res: JoinGroupResponse, version: number): void {
    if (version >= 2) w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode).int32(res.generationId);
    if (version >= 7) w.nullableString(res.protocolType).nullableString(res.protocolName);
    else w.string(res.protocolName ?? '');
    w.string(res.leader);
    if (version >= 9) w.bool(false); // SkipAssignment
    w.string(res.memberId);
    w.array(res.members, (w, m) => {
      w.string(m.memberId);
      if (version >= 5) w.nullableString(m.groupInstanceId);
      w.bytes(m.metadata).taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      memberId: request.memberId,
      members: [],
    };
  },
};
