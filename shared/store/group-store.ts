import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import { DynamoTable, type Expression, type Item } from './dynamo-table';

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
  private readonly table: DynamoTable;

  constructor(dynamo: DynamoDBClient, tableName: string) {
    this.table = new DynamoTable(dynamo, tableName);
  }

  private key(group: string, sk: string): Item {
    return { group: S(group), sk: S(sk) };
  }

  private getItem(group: string, sk: string): Promise<Item | undefined> {
    return this.table.get('GetItem', this.key(group, sk));
  }

  /**
   * Whether a write whose condition failed was our own after all: the SDK retried a write that had
   * succeeded (its response was lost), and the item carries the id this write gave it.
   */
  private async carriesWrite(group: string, sk: string, attribute: string, id: string): Promise<boolean> {
    const current = await this.getItem(group, sk);
    return current?.[attribute]?.S === id;
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
    const ok = await this.table.put('PutItem meta', item, {
      // Optimistic concurrency: the item is still the version this write was computed from.
      condition: expectedVersion === 0 ? 'attribute_not_exists(#v)' : '#v = :v',
      names: { '#v': 'version' },
      values: expectedVersion === 0 ? {} : { ':v': N(expectedVersion) },
    });
    return ok || this.carriesWrite(meta.group, META, 'writeId', writeId);
  }

  async touchMember(group: string, memberId: string, request: TouchRequest): Promise<GroupMeta | undefined> {
    return this.extendSession(group, 'UpdateItem meta (heartbeat)', 'sessions', memberId, {
      // Holds only for a reconciled member listing exactly its partitions, at the current generation,
      // whose session has not ended; anything else takes the read-modify-write path.
      condition: '#gen = :gen AND #s.#m.sk = :key AND #s.#m.dl >= :now',
      values: { ':now': N(request.now), ':gen': N(request.generation), ':key': S(request.steadyKey) },
    });
  }

  async touchClassicMember(
    group: string,
    memberId: string,
    request: { generation: number; now: number },
  ): Promise<GroupMeta | undefined> {
    return this.extendSession(group, 'UpdateItem meta (classic heartbeat)', 'csessions', memberId, {
      // Holds only while nothing about the group needs deciding: the member's generation is the
      // group's, no rebalance is being prepared, and its session is still running.
      condition: '#gen = :gen AND #cst IN (:stable, :completing) AND #s.#m.dl >= :now',
      names: { '#cst': 'cstate' },
      values: {
        ':now': N(request.now),
        ':gen': N(request.generation),
        ':stable': S('Stable'),
        ':completing': S('CompletingRebalance'),
      },
    });
  }

  /**
   * The steady heartbeat: one update that moves a member's session deadline (in the `sessions` map
   * given) and bumps the version, if `expression.condition` holds; the group after, else undefined.
   */
  private async extendSession(
    group: string,
    operation: string,
    sessions: 'sessions' | 'csessions',
    memberId: string,
    expression: Expression,
  ): Promise<GroupMeta | undefined> {
    const item = await this.table.update(
      operation,
      this.key(group, META),
      'SET #s.#m.dl = :now + #s.#m.st, #v = #v + :one',
      {
        condition: expression.condition,
        names: { '#s': sessions, '#m': memberId, '#v': 'version', '#gen': 'generation', ...expression.names },
        values: { ...expression.values, ':one': N(1) },
        returnValues: 'ALL_NEW',
      },
    );
    return item === undefined ? undefined : decodeMeta(group, item);
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

  private query(group: string, prefix?: string): Promise<Item[]> {
    return this.table.queryAll('Query', {
      KeyConditionExpression: prefix === undefined ? '#g = :g' : '#g = :g AND begins_with(sk, :prefix)',
      ExpressionAttributeNames: { '#g': 'group' },
      ExpressionAttributeValues: {
        ':g': S(group),
        ...(prefix === undefined ? {} : { ':prefix': S(prefix) }),
      },
    });
  }

  async claimPartition(
    group: string,
    tp: TopicPartition,
    owner: string,
    generation: number,
  ): Promise<boolean> {
    const claimed = await this.table.update(
      'UpdateItem offset (claim)',
      this.key(group, offsetSk(tp)),
      'SET #owner = :owner, claimGen = :gen, #topic = :topic, #partition = :partition',
      {
        // Claims only move forward in generation; repeating this very claim is harmless.
        condition:
          'attribute_not_exists(claimGen) OR claimGen < :gen OR (claimGen = :gen AND #owner = :owner)',
        names: { '#owner': 'owner', '#topic': 'topic', '#partition': 'partition' },
        values: {
          ':owner': S(owner),
          ':gen': N(generation),
          ':topic': S(tp.topic),
          ':partition': N(tp.partition),
        },
      },
    );
    return claimed !== undefined;
  }

  async commitOffset(group: string, tp: TopicPartition, write: CommitWrite): Promise<boolean> {
    const commitId = randomUUID();
    const committed = await this.table.update(
      'UpdateItem offset (commit)',
      this.key(group, offsetSk(tp)),
      write.metadata === null
        ? 'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid REMOVE #metadata'
        : 'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid, #metadata = :metadata',
      {
        // The fence: the partition's last claim is the committer's own, at the generation it was granted.
        condition: '#owner = :owner AND claimGen = :gen',
        names: { '#owner': 'owner', '#offset': 'offset', '#metadata': 'metadata' },
        values: {
          ':owner': S(write.owner),
          ':gen': N(write.claimGeneration),
          ':offset': N(write.offset),
          ':tid': S(write.topicId),
          ':at': N(write.committedAt),
          ':cid': S(commitId),
          ...(write.metadata === null ? {} : { ':metadata': S(write.metadata) }),
        },
      },
    );
    return committed !== undefined || this.carriesWrite(group, offsetSk(tp), 'commitId', commitId);
  }

  async resetOffset(group: string, tp: TopicPartition, write: ResetWrite): Promise<boolean> {
    const commitId = randomUUID();
    const metadata = write.metadata ?? null;
    const reset = await this.table.update(
      'UpdateItem offset (reset)',
      this.key(group, offsetSk(tp)),
      // Taking the claim too fences any zombie that still held it.
      'SET #offset = :offset, topicId = :tid, committedAt = :at, commitId = :cid, #owner = :owner, claimGen = :gen, #topic = :topic, #partition = :partition' +
        (metadata === null ? ' REMOVE #metadata' : ', #metadata = :metadata'),
      {
        condition: 'attribute_not_exists(claimGen) OR claimGen <= :gen',
        names: {
          '#owner': 'owner',
          '#offset': 'offset',
          '#metadata': 'metadata',
          '#topic': 'topic',
          '#partition': 'partition',
        },
        values: {
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
      },
    );
    return reset !== undefined || this.carriesWrite(group, offsetSk(tp), 'commitId', commitId);
  }

  deleteOffset(group: string, tp: TopicPartition, generation: number): Promise<boolean> {
    return this.table.delete('DeleteItem offset', this.key(group, offsetSk(tp)), {
      condition: 'attribute_not_exists(claimGen) OR claimGen <= :gen',
      values: { ':gen': N(generation) },
    });
  }

  /** The registry holds each group at its newest generation: older writes change nothing. */
  async registerGroup(group: string, generation: number): Promise<void> {
    await this.table.put(
      'PutItem registry',
      { ...this.key(REGISTRY, group), generation: N(generation) },
      {
        condition: 'attribute_not_exists(generation) OR generation <= :gen',
        values: { ':gen': N(generation) },
      },
    );
  }

  async unregisterGroup(group: string, generation: number): Promise<void> {
    await this.table.delete('DeleteItem registry', this.key(REGISTRY, group), {
      condition: 'generation <= :gen',
      values: { ':gen': N(generation) },
    });
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
