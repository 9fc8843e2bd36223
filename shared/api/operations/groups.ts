import type {
  CommitOffsetsRequest,
  HeartbeatRequest,
  JoinGroupRequest,
  ResetOffsetsRequest,
} from '../../groups/types';
import { json, noContent } from '../http';
import { jsonArray, jsonBody, jsonObject, pathParam, queryParams, validateTopicName } from '../validate';
import type { Operation } from './types';

/**
 * Consumer-group routes. Here: the JSON shape (unknown fields are rejected, at every level); the group
 * service checks every value (names, ranges, limits) before it reads or writes anything.
 */

const MAX_ENTRIES = 10_000;

function partitionsOf(value: unknown, field: string, allowed: readonly string[]): unknown[] {
  if (!Array.isArray(value)) return value as unknown[]; // the service names the field in its error
  return jsonArray(value, field, MAX_ENTRIES).map((entry, i) => jsonObject(entry, `${field}[${i}]`, allowed));
}

export const listGroups: Operation = async (req, { groups }) => {
  queryParams(req, []);
  return json(200, await groups.listGroups());
};

export const describeGroup: Operation = async (req, { groups }) => {
  queryParams(req, []);
  return json(200, await groups.describeGroup(pathParam(req, 'group')));
};

export const deleteGroup: Operation = async (req, { groups }) => {
  queryParams(req, []);
  await groups.deleteGroup(pathParam(req, 'group'));
  return noContent();
};

export const joinGroup: Operation = async (req, { groups }) => {
  queryParams(req, []);
  const group = pathParam(req, 'group');
  const body = jsonObject(jsonBody(req), 'the body', [
    'topics',
    'sessionTimeoutMs',
    'rebalanceTimeoutMs',
    'assignor',
    'memberId',
  ]);
  return json(200, await groups.join(group, body as unknown as JoinGroupRequest));
};

export const heartbeat: Operation = async (req, { groups }) => {
  queryParams(req, []);
  const group = pathParam(req, 'group');
  const memberId = pathParam(req, 'memberId');
  const body = jsonObject(jsonBody(req), 'the body', ['generation', 'owned']);
  const owned = partitionsOf(body.owned, 'owned', ['topic', 'partition']);
  return json(
    200,
    await groups.heartbeat(group, memberId, { ...body, owned } as unknown as HeartbeatRequest),
  );
};

export const leaveGroup: Operation = async (req, { groups }) => {
  queryParams(req, []);
  await groups.leave(pathParam(req, 'group'), pathParam(req, 'memberId'));
  return noContent();
};

export const commitOffsets: Operation = async (req, { groups }) => {
  queryParams(req, []);
  const group = pathParam(req, 'group');
  const body = jsonObject(jsonBody(req), 'the body', ['memberId', 'generation', 'offsets']);
  const offsets = partitionsOf(body.offsets, 'offsets', ['topic', 'partition', 'offset', 'metadata']);
  return json(
    200,
    await groups.commitOffsets(group, { ...body, offsets } as unknown as CommitOffsetsRequest),
  );
};

export const fetchOffsets: Operation = async (req, { groups }) => {
  const { topic } = queryParams(req, ['topic']);
  if (topic !== undefined) validateTopicName(topic);
  return json(200, await groups.fetchOffsets(pathParam(req, 'group'), topic));
};

export const resetOffsets: Operation = async (req, { groups }) => {
  queryParams(req, []);
  const group = pathParam(req, 'group');
  const body = jsonObject(jsonBody(req), 'the body', ['topic', 'to']);
  return json(200, await groups.resetOffsets(group, body as unknown as ResetOffsetsRequest));
};
