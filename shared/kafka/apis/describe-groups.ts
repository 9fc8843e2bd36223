/**
 * DescribeGroups (key 15), v0–v5 (DescribeGroupsRequest.json, DescribeGroupsResponse.json). Flexible
 * from v5.
 *
 *   DescribeGroupsRequest => Groups [STRING], IncludeAuthorizedOperations bool (v3+), TAG_BUFFER
 *   DescribeGroupsResponse => ThrottleTimeMs int32 (v1+),
 *                             Groups [ErrorCode int16, GroupId STRING, GroupState STRING,
 *                                     ProtocolType STRING, ProtocolData STRING,
 *                                     Members [MemberId STRING, GroupInstanceId NULLABLE_STRING (v4+),
 *                                              ClientId STRING, ClientHost STRING, MemberMetadata BYTES,
 *                                              MemberAssignment BYTES, TAG_BUFFER],
 *                                     AuthorizedOperations int32 (v3+), TAG_BUFFER], TAG_BUFFER
 *
 * An unknown group is "Dead" with no error, as in Kafka. A Sluice SDK group is shown in the consumer
 * protocol's terms (its members' subscriptions and assignments encoded as a Kafka consumer's would be).
 * Authorized operations are not computed (no ACLs yet): Kafka's "not requested" value.
 */
import type { DescribedGroup } from '../../groups/classic/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { OPERATIONS_NOT_REQUESTED } from './fields';
import { code, groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface DescribeGroupsRequest {
  readonly groups: string[];
}

export interface DescribeGroupsResponse {
  readonly groups: (Omit<DescribedGroup, 'error'> & { errorCode: number })[];
}

export const describeGroups: KafkaApi<DescribeGroupsRequest, DescribeGroupsResponse> = {
  key: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 5,

  decode(r: KafkaReader, version: number): DescribeGroupsRequest {
    const groups = r.array((r) => r.string());
    if (version >= 3) r.bool(); // IncludeAuthorizedOperations
    r.taggedFields();
    return { groups };
  },

  async handle(request, context) {
    try {
      const described = await context.listener.services.classicGroups.describeGroups(request.groups);
      return { groups: described.map(({ error, ...g }) => ({ ...g, errorCode: code(error) })) };
    } catch (err) {
      return describeGroups.errorResponse!(request, groupErrorCode(err), context.apiVersion);
    }
  },

  encode(w: KafkaWriter, res: DescribeGroupsResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.array(res.groups, (w, g) => {
      w.int16(g.errorCode).string(g.groupId).string(g.state).string(g.protocolType).string(g.protocolData);
      w.array(g.members, (w, m) => {
        w.string(m.memberId);
        if (version >= 4) w.nullableString(m.groupInstanceId);
        w.string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment).taggedFields();
      });
      if (version >= 3) w.int32(OPERATIONS_NOT_REQUESTED);
      w.taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return {
      groups: request.groups.map((groupId) => ({
        errorCode,
        groupId,
        state: '',
        protocolType: '',
        protocolData: '',
        members: [],
      })),
    };
  },
};
