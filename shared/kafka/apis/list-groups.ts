/**
 * ListGroups (key 16), v0–v5 (ListGroupsRequest.json, ListGroupsResponse.json). Flexible from v3.
 *
 *   ListGroupsRequest => StatesFilter [STRING] (v4+), TypesFilter [STRING] (v5+), TAG_BUFFER
 *   ListGroupsResponse => ThrottleTimeMs int32 (v1+), ErrorCode int16,
 *                         Groups [GroupId STRING, ProtocolType STRING, GroupState STRING (v4+),
 *                                 GroupType STRING (v5+), TAG_BUFFER], TAG_BUFFER
 *
 * Groups of Kafka clients are of type "classic"; Sluice SDK groups (server-assigned, like KIP-848's)
 * are listed as type "consumer" with protocol type "consumer". Filters match case-insensitively, as
 * Kafka's do.
 */
import type { ListedGroup } from '../../groups/classic/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { groupErrorCode } from './group-common';
import type { KafkaApi } from './types';

export interface ListGroupsRequest {
  readonly states: string[];
  readonly types: string[];
}

export interface ListGroupsResponse {
  readonly errorCode: number;
  readonly groups: ListedGroup[];
}

export const listGroups: KafkaApi<ListGroupsRequest, ListGroupsResponse> = {
  key: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  flexibleFrom: 3,

  decode(r: KafkaReader, version: number): ListGroupsRequest {
    const states = version >= 4 ? r.array((r) => r.string()) : [];
    const types = version >= 5 ? r.array((r) => r.string()) : [];
    r.taggedFields();
    return { states, types };
  },

  async handle(request, context) {
    try {
      const states = new Set(request.states.map((s) => s.toLowerCase()));
      const types = new Set(request.types.map((s) => s.toLowerCase()));
      const groups = (await context.listener.services.classicGroups.listGroups()).filter(
        (g) =>
          (states.size === 0 || states.has(g.state.toLowerCase())) && (types.size === 0 || types.has(g.type)),
      );
      return { errorCode: 0, groups };
    } catch (err) {
      return { errorCode: groupErrorCode(err), groups: [] };
    }
  },

  encode(w: KafkaWriter, res: ListGroupsResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.int16(res.errorCode);
    w.array(res.groups, (w, g) => {
      w.string(g.groupId).string(g.protocolType);
      if (version >= 4) w.string(g.state);
      if (version >= 5) w.string(g.type);
      w.taggedFields();
    });
    w.taggedFields();
  },

  errorResponse(_request, errorCode) {
    return { errorCode, groups: [] };
  },
};
