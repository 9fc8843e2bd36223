import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SluiceError } from '../errors';
import type {
  AssignorName,
  ClassicGroupState,
  ClassicMember,
  ClassicStateName,
  CommitWrite,
  GroupMeta,
  GroupStore,
  MemberRecord,
  OffsetRecord,
  ResetWrite,
  TopicPartition,
  TouchRequest,
} from '../groups/store';
import { RESET_OWNER } from '../groups/store';
import { partitionKey } from '../model/partitions';
import { isConditionalCheckFailed, translateAwsError } from './errors';

/**
 * The groups table in DynamoDB (partition key `group`, sort key `sk`, both strings):
 *
 * | sk | item |
 * | --- | --- |
 * | `meta` | version N, generation N, deleted BOOL, assignor S, metadataCheckedAt N, writeId S, state S (JSON: per member its topics, rebalance timeout, join time, assigned partitions with their grant generations, target, revoke deadline; the topics' partition counts), sessions M (member id → {dl: session deadline N, st: session timeout N, sk?: steady key S}); for a group of Kafka clients also classic S (JSON: the classic group's state, protocols, members with their metadata and assignment in base64), cstate S (its state name) and csessions M (member id → session deadline N) |
 * | `offset#<topic>#<partition>` | topic S, partition N, owner S, claimGen N (the fence), offset N, topicId S (of the topic the offset is for; absent on items written before ids were recorded), metadata S, committedAt N, commitId S |
 *
 * and a registry partition `#groups` (no group name has '#') with one item per group: sk = group name,
 * generation N. Sessions are a native map so the steady heartbeat can extend one with a single update.
 *
 * Each write is one conditional write. A failed condition is answered as a domain result; when the item
 * then shows this very write (its writeId / commitId), the first attempt did succeed and only its
 * response was lost, so it is a success. Throttling becomes THROTTLED, 5xx and network failures
 * STORAGE_UNAVAILABLE (both retriable; the SDK has already retried them); anything else is rethrown.
 */

const META = 'meta';
const OFFSET_PREFIX = 'offset#';
const REGISTRY = '#groups';
/** DynamoDB items hold 400 KB; leave room for the other attributes. */
const MAX_META_BYTES = 360_000;

interface StoredMember {
  id: string;
  topics: string[];
  rto: number;
  joinedAt: number;
  assigned: [string, number][];
  target: string[];
  revokeDeadline: number | null;
}

interface StoredState {
  members: StoredMember[];
  partitionCounts: [string, number][];
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

function num(item: Record<string, AttributeValue>, name: string): number | null {
  const v = item[name];
  return v?.N === undefined ? null : Number(v.N);
}

function str(item: Record<string, AttributeValue>, name: string): string | null {
  return item[name]?.S ?? null;
}

function offsetSk(tp: TopicPartition): string {
  return `${OFFSET_PREFIX}${partitionKey(tp.topic, tp.partition)}`;
}

export class DynamoGroupStore implements GroupStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(group: string, sk: string): Record<string, AttributeValue> {
    return { group: S(group), sk: S(sk) };
  }

  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      return translateAwsError(err, `DynamoDB ${operation}`);
    }
  }

  /** Runs a conditional write: true if it held, false if its condition failed. */
  private async conditional(operation: string, run: () => Promise<unknown>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      return translateAwsError(err, `DynamoDB ${operation}`);
    }
  }

  private async getItem(group: string, sk: string): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.send('GetItem', () =>
      this.dynamo.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key(group, sk), ConsistentRead: true }),
      ),
    );
    return out.Item;
  }

  async getMeta(group: string): Promise<GroupMeta | undefined> {
    const item = await this.getItem(group, META);
    return item === undefined ? undefined : decodeMeta(group, item);
  }

  async putMeta(meta: GroupMeta, expectedVersion: number): Promise<boolean> {
    const writeId = randomUUID();
    const item = encodeMeta(meta, expectedVersion + 1, writeId);
    const bytes =
      Buffer.byteLength(item.state?.S ?? '') +
      Buffer.byteLength(item.classic?.S ?? '') +
      64 * (meta.members.size + (meta.classic?.members.size ?? 0));
    if (bytes > MAX_META_BYTES) {
      throw new SluiceError(
        'INVALID_REQUEST',
        `a group's state must stay under ${MAX_META_BYTES} bytes (one DynamoDB item), but group ${meta.group} would need about ${bytes}: use fewer members or partitions`,
        { details: { field: 'group' } },
      );
    }
    const ok = await this.conditional('PutItem meta', () =>
      this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          // Optimistic concurrency: the item is still the version this write was computed from.
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#v)' : '#v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': N(expectedVersion) } }),
        }),
      ),
    );
    if (ok) return true;
    // The SDK may have retried a write that had succeeded: then the item carries our writeId.
    const current = await this.getItem(meta.group, META);
    return current?.writeId?.S === writeId;
  }

  async touchMember(group: string, memberId: string, request: TouchRequest): Promise<GroupMeta | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group, META),
          UpdateExpression: 'SET #s.#m.dl = :now + #s.#m.st, #v = #v + :one',
          // Holds only for a reconciled member listing exactly its partitions, at the current generation,
          // whose session has not ended; anything else takes the read-modify-write path.
          ConditionExpression: '#gen = :gen AND #s.#m.sk = :key AND #s.#m.dl >= :now',
          ExpressionAttributeNames: {
            '#s': 'sessions',
            '#m': memberId,
            '#v': 'version',
            '#gen': 'generation',
          },
          ExpressionAttributeValues: {
            ':now': N(request.now),
            ':one': N(1),
            ':gen': N(request.generation),
            ':key': S(request.steadyKey),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? undefined : decodeMeta(group, out.Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      return translateAwsError(err, 'DynamoDB UpdateItem meta (heartbeat)');
    }
  }

  async touchClassicMember(
    group: string,
    memberId: string,
    request: { generation: number; now: number },
  ): Promise<GroupMeta | undefined> {
    try {
      const out = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group, META),
          UpdateExpression: 'SET #cs.#m.dl = :now + #cs.#m.st, #v = #v + :one',
          // Holds only while nothing about the group needs deciding: the member's generation is the
          // group's, no rebalance is being prepared, and its session is still running.
          ConditionExpression: '#gen = :gen AND #cst IN (:stable, :completing) AND #cs.#m.dl >= :now',
          ExpressionAttributeNames: {
            '#cs': 'csessions',
            '#m': memberId,
            '#v': 'version',
            '#gen': 'generation',
            '#cst': 'cstate',
          },
          ExpressionAttributeValues: {
            ':now': N(request.now),
            ':one': N(1),
            ':gen': N(request.generation),
            ':stable': S('Stable'),
            ':completing': S('CompletingRebalance'),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes === undefined ? undefined : decodeMeta(group, out.Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      return translateAwsError(err, 'DynamoDB UpdateItem meta (classic heartbeat)');
    }
  }

  async getOffset(group: string, tp: TopicPartition): Promise<OffsetRecord | undefined> {
    const item = await this.getItem(group, offsetSk(tp));
    return item === undefined ? undefined : decodeOffset(item);
  }

  async listOffsets(group: string, topic?: string): Promise<OffsetRecord[]> {
    const prefix = topic === undefined ? OFFSET_PREFIX : `${OFFSET_PREFIX}${topic}#`;
    const items = await this.query(group, prefix);
    return items.map(decodeOffset);
  }

  private async query(group: string, prefix?: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.send('Query', () =>
        this.dynamo.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: prefix === undefined ? '#g = :g' : '#g = :g AND begins_with(sk, :prefix)',
            ExpressionAttributeNames: { '#g': 'group' },
            ExpressionAttributeValues: {
              ':g': S(group),
              ...(prefix === undefined ? {} : { ':prefix': S(prefix) }),
            },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async claimPartition(
    group: string,
    tp: TopicPartition,
    owner: string,
    generation: number,
  ): Promise<boolean> {
    return this.conditional('UpdateItem offset (claim)', () =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group, offsetSk(tp)),
          UpdateExpression: 'SET #owner = :owner, claimGen = :gen, #topic = :topic, #partition = :partition',
          // Claims only move forward in generation; repeating this very claim is harmless.
          ConditionExpression:
            'attribute_not_exists(claimGen) OR claimGen < :gen OR (claimGen = :gen AND #owner = :owner)',
          ExpressionAttributeNames: { '#owner': 'owner', '#topic': 'topic', '#partition': 'partition' },
          ExpressionAttributeValues: {
            ':owner': S(owner),
            ':gen': N(generation),
            ':topic': S(tp.topic),
            ':partition': N(tp.partition),
          },
        }),
      ),
    );
  }

  async commitOffset(group: string, tp: TopicPartition, write: CommitWrite): Promise<boolean> {
    const commitId = randomUUID();
    const ok = await this.conditional('UpdateItem offset (commit)', () =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group, offsetSk(tp)),
          UpdateExpression:
            write.metadata === null
              ? 'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid REMOVE #metadata'
              : 'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid, #metadata = :metadata',
          // The fence: the partition's last claim is the committer's own, at the generation it was granted.
          ConditionExpression: '#owner = :owner AND claimGen = :gen',
          ExpressionAttributeNames: { '#owner': 'owner', '#offset': 'offset', '#metadata': 'metadata' },
          ExpressionAttributeValues: {
            ':owner': S(write.owner),
            ':gen': N(write.claimGeneration),
            ':offset': N(write.offset),
            ':tid': S(write.topicId),
            ':at': N(write.committedAt),
            ':cid': S(commitId),
            ...(write.metadata === null ? {} : { ':metadata': S(write.metadata) }),
          },
        }),
      ),
    );
    if (ok) return true;
    const current = await this.getItem(group, offsetSk(tp));
    return current?.commitId?.S === commitId;
  }

  async resetOffset(group: string, tp: TopicPartition, write: ResetWrite): Promise<boolean> {
    const commitId = randomUUID();
    const metadata = write.metadata ?? null;
    const ok = await this.conditional('UpdateItem offset (reset)', () =>
      this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group, offsetSk(tp)),
          // Taking the claim too fences any zombie that still held it.
          UpdateExpression:
            'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid, #owner = :owner, claimGen = :gen, #topic = :topic, #partition = :partition' +
            (metadata === null ? ' REMOVE #metadata' : ', #metadata = :metadata'),
          ConditionExpression: 'attribute_not_exists(claimGen) OR claimGen <= :gen',
          ExpressionAttributeNames: {
            '#owner': 'owner',
            '#offset': 'offset',
            '#metadata': 'metadata',
            '#topic': 'topic',
            '#partition': 'partition',
          },
          ExpressionAttributeValues: {
            ':owner': S(RESET_OWNER),
            ':gen': N(write.generation),
            ':offset': N(write.offset),
            ':tid': S(write.topicId),
            ':at': N(write.committedAt),
            ':cid': S(commitId),
            ':topic': S(tp.topic),
            ':partition': N(tp.partition),
            ...(metadata === null ? {} : { ':metadata': S(metadata) }),
          },
        }),
      ),
    );
    if (ok) return true;
    const current = await this.getItem(group, offsetSk(tp));
    return current?.commitId?.S === commitId;
  }

  async deleteOffset(group: string, tp: TopicPartition, generation: number): Promise<boolean> {
    return this.conditional('DeleteItem offset', () =>
      this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(group, offsetSk(tp)),
          ConditionExpression: 'attribute_not_exists(claimGen) OR claimGen <= :gen',
          ExpressionAttributeValues: { ':gen': N(generation) },
        }),
      ),
    );
  }

  async registerGroup(group: string, generation: number): Promise<void> {
    await this.conditional('PutItem registry', () =>
      this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...this.key(REGISTRY, group), generation: N(generation) },
          ConditionExpression: 'attribute_not_exists(generation) OR generation <= :gen',
          ExpressionAttributeValues: { ':gen': N(generation) },
        }),
      ),
    );
  }

  async unregisterGroup(group: string, generation: number): Promise<void> {
    await this.conditional('DeleteItem registry', () =>
      this.dynamo.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(REGISTRY, group),
          ConditionExpression: 'generation <= :gen',
          ExpressionAttributeValues: { ':gen': N(generation) },
        }),
      ),
    );
  }

  async listRegisteredGroups(): Promise<string[]> {
    const items = await this.query(REGISTRY);
    return items.map((i) => i.sk?.S ?? '').filter((name) => name !== '');
  }
}

function encodeMeta(meta: GroupMeta, version: number, writeId: string): Record<string, AttributeValue> {
  const members = [...meta.members.values()];
  const state: StoredState = {
    members: members.map((m) => ({
      id: m.memberId,
      topics: m.topics,
      rto: m.rebalanceTimeoutMs,
      joinedAt: m.joinedAt,
      assigned: [...m.assigned.entries()],
      target: m.target,
      revokeDeadline: m.revokeDeadline,
    })),
    partitionCounts: [...meta.partitionCounts.entries()],
  };
  const sessions: Record<string, AttributeValue> = {};
  for (const m of members) {
    sessions[m.memberId] = {
      M: {
        dl: N(m.sessionDeadline),
        st: N(m.sessionTimeoutMs),
        ...(m.steadyKey === null ? {} : { sk: S(m.steadyKey) }),
      },
    };
  }
  return {
    group: S(meta.group),
    sk: S(META),
    version: N(version),
    generation: N(meta.generation),
    deleted: { BOOL: meta.deleted },
    assignor: S(meta.assignor),
    metadataCheckedAt: N(meta.metadataCheckedAt),
    writeId: S(writeId),
    state: S(JSON.stringify(state)),
    sessions: { M: sessions },
    ...(meta.classic === null ? {} : encodeClassic(meta.classic)),
  };
}

interface StoredClassicMember {
  id: string;
  gi: string | null;
  ci: string;
  ch: string;
  st: number;
  rto: number;
  protocols: [string, string][];
  j: boolean;
  s: boolean;
  a: string | null;
  at: number;
}

interface StoredClassic {
  pt: string | null;
  pn: string | null;
  st: ClassicStateName;
  leader: string | null;
  members: StoredClassicMember[];
  pending: [string, number][];
  rd: number | null;
  idu: number | null;
  sd: number | null;
}

function encodeClassic(c: ClassicGroupState): Record<string, AttributeValue> {
  const stored: StoredClassic = {
    pt: c.protocolType,
    pn: c.protocolName,
    st: c.state,
    leader: c.leader,
    members: [...c.members.values()].map((m) => ({
      id: m.memberId,
      gi: m.groupInstanceId,
      ci: m.clientId,
      ch: m.clientHost,
      st: m.sessionTimeoutMs,
      rto: m.rebalanceTimeoutMs,
      protocols: m.protocols.map((p) => [p.name, p.metadata.toString('base64')]),
      j: m.joined,
      s: m.synced,
      a: m.assignment === null ? null : m.assignment.toString('base64'),
      at: m.joinedAt,
    })),
    pending: [...c.pending.entries()],
    rd: c.rebalanceDeadline,
    idu: c.initialDelayUntil,
    sd: c.syncDeadline,
  };
  const sessions: Record<string, AttributeValue> = {};
  for (const m of c.members.values()) {
    sessions[m.memberId] = { M: { dl: N(m.sessionDeadline), st: N(m.sessionTimeoutMs) } };
  }
  return { classic: S(JSON.stringify(stored)), cstate: S(c.state), csessions: { M: sessions } };
}

function decodeClassic(item: Record<string, AttributeValue>): ClassicGroupState | null {
  const text = str(item, 'classic');
  if (text === null) return null;
  const stored = JSON.parse(text) as StoredClassic;
  const sessions = item.csessions?.M ?? {};
  const members = new Map<string, ClassicMember>();
  for (const m of stored.members) {
    const dl = Object.hasOwn(sessions, m.id) ? sessions[m.id]?.M?.dl?.N : undefined;
    members.set(m.id, {
      memberId: m.id,
      groupInstanceId: m.gi,
      clientId: m.ci,
      clientHost: m.ch,
      sessionTimeoutMs: m.st,
      rebalanceTimeoutMs: m.rto,
      protocols: m.protocols.map(([name, b64]) => ({ name, metadata: Buffer.from(b64, 'base64') })),
      joined: m.j,
      synced: m.s,
      assignment: m.a === null ? null : Buffer.from(m.a, 'base64'),
      sessionDeadline: dl === undefined ? 0 : Number(dl),
      joinedAt: m.at,
    });
  }
  return {
    protocolType: stored.pt,
    protocolName: stored.pn,
    state: stored.st,
    leader: stored.leader,
    members,
    pending: new Map(stored.pending),
    rebalanceDeadline: stored.rd,
    initialDelayUntil: stored.idu,
    syncDeadline: stored.sd,
  };
}

function decodeMeta(group: string, item: Record<string, AttributeValue>): GroupMeta {
  const state = JSON.parse(str(item, 'state') ?? '{"members":[],"partitionCounts":[]}') as StoredState;
  const sessions = item.sessions?.M ?? {};
  const members = new Map<string, MemberRecord>();
  for (const m of state.members) {
    const session = Object.hasOwn(sessions, m.id) ? (sessions[m.id]?.M ?? {}) : {};
    members.set(m.id, {
      memberId: m.id,
      topics: m.topics,
      sessionTimeoutMs: num(session, 'st') ?? 0,
      rebalanceTimeoutMs: m.rto,
      sessionDeadline: num(session, 'dl') ?? 0,
      joinedAt: m.joinedAt,
      assigned: new Map(m.assigned),
      target: m.target,
      revokeDeadline: m.revokeDeadline,
      steadyKey: str(session, 'sk'),
    });
  }
  return {
    group,
    version: num(item, 'version') ?? 0,
    generation: num(item, 'generation') ?? 0,
    deleted: item.deleted?.BOOL === true,
    assignor: (str(item, 'assignor') ?? 'sticky') as AssignorName,
    members,
    partitionCounts: new Map(state.partitionCounts),
    metadataCheckedAt: num(item, 'metadataCheckedAt') ?? 0,
    classic: decodeClassic(item),
  };
}

function decodeOffset(item: Record<string, AttributeValue>): OffsetRecord {
  const sk = str(item, 'sk') ?? '';
  const rest = sk.slice(OFFSET_PREFIX.length);
  const at = rest.lastIndexOf('#');
  return {
    topic: str(item, 'topic') ?? rest.slice(0, at),
    partition: num(item, 'partition') ?? Number(rest.slice(at + 1)),
    owner: str(item, 'owner'),
    claimGeneration: num(item, 'claimGen'),
    offset: num(item, 'offset'),
    topicId: str(item, 'topicId'),
    metadata: str(item, 'metadata'),
    committedAt: num(item, 'committedAt'),
  };
}
