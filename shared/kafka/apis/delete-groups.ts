/**
 * DeleteGroups (key 42), v0–v2 (DeleteGroupsRequest.json, DeleteGroupsResponse.json). Flexible from v2.
 *
 *   DeleteGroupsRequest => GroupsNames [STRING], TAG_BUFFER
 *   DeleteGroupsResponse => ThrottleTimeMs int32, Results [GroupId STRING, ErrorCode int16, TAG_BUFFER],
 *                           TAG_BUFFER
 *
 * The Sluice group service's delete (the same as `sluice groups delete`): a group with members, of
 * either kind, is NON_EMPTY_GROUP; one that does not exist GROUP_ID_NOT_FOUND.
 */
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface DeleteGroupsRequest {
  readonly groups: string[];
}

export interface DeleteGroupsResponse {
  readonly results: { groupId: string; errorCode: number }[];
}

export const deleteGroups: KafkaApi<DeleteGroupsRequest, DeleteGroupsResponse> = {
  key: 42,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  flexibleFrom: 2,

  decode(r: KafkaReader): DeleteGroupsRequest {
    const groups = r.array((r) => r.string());
    r.taggedFields();
    return { groups };
  },

  async handle(request, context) {
    const { groups } = context.listener.services;
    return {
      results: await Promise.all(
        request.groups.map(async (groupId) => {
          try {
            await groups.deleteGroup(groupId);
            return { groupId, errorCode: 0 };
          } catch (err) {
            return { groupId, errorCode: groupErrorCode(err) };
          }
        }),
      ),
    };
  },

  encode(w: KafkaWriter, res: DeleteGroupsResponse): void {
    w.int32(0); // ThrottleTimeMs
    w.array(res.results, (w, r) => {
      w.string(r.groupId).int16(r.errorCode).taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(request, errorCode) {
    return { results: request.groups.map((groupId) => ({ groupId, errorCode })) };
  },
};
