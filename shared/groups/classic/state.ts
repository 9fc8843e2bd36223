import { keyOf, type PartitionKey } from '../partitions';
import type { GroupMeta } from '../store';
import { ConsumerProtocolError, decodeAssignment, decodeSubscription } from './consumer-protocol';
import type { ClassicGroupState, ClassicMember, ClassicProtocol } from './types';

/**
 * The classic group's state machine, pure: Kafka's GroupCoordinator (Empty → PreparingRebalance →
 * CompletingRebalance → Stable) over the meta item as read; the coordinator writes the result back with
 * one conditional write. The generation is the meta item's, shared with Sluice groups, so every claim a
 * member ever wrote stays older than the next generation's, whichever door the group was used from.
 *
 * Where Kafka uses timers, this uses deadlines in the item: whoever reads the group after one has passed
 * (a waiting JoinGroup, a heartbeat, a commit) applies it.
 */

export function emptyClassic(): ClassicGroupState {
  return {
    protocolType: null,
    protocolName: null,
    state: 'Empty',
    leader: null,
    members: new Map(),
    pending: new Map(),
    rebalanceDeadline: null,
    initialDelayUntil: null,
    syncDeadline: null,
  };
}

/** Members that still count: a session running, or a join being waited for. */
export function liveClassicMembers(c: ClassicGroupState | null, now: number): ClassicMember[] {
  if (c === null) return [];
  return [...c.members.values()].filter(
    (m) => m.sessionDeadline >= now || (c.state === 'PreparingRebalance' && m.joined),
  );
}

export function sameProtocols(a: readonly ClassicProtocol[], b: readonly ClassicProtocol[]): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}

/** Protocols every member (but `except`) supports, in no particular order. */
function commonProtocols(c: ClassicGroupState, except?: string): Set<string> | null {
  let common: Set<string> | null = null;
  for (const m of c.members.values()) {
    if (m.memberId === except) continue;
    const names = new Set<string>(m.protocols.map((p) => p.name));
    const previous: Set<string> | null = common;
    common = previous === null ? names : new Set<string>([...previous].filter((n: string) => names.has(n)));
  }
  return common;
}

/** Kafka's supportsProtocols: same protocol type, and at least one protocol every other member has too. */
export function supportsProtocols(
  c: ClassicGroupState,
  protocolType: string,
  protocols: readonly ClassicProtocol[],
  memberId?: string,
): boolean {
  const others = [...c.members.keys()].filter((id) => id !== memberId);
  if (others.length === 0) return true;
  if (c.protocolType !== protocolType) return false;
  const common = commonProtocols(c, memberId) ?? new Set<string>();
  return protocols.some((p) => common.has(p.name));
}

/** Kafka's selectProtocol: among protocols all members support, the one most members prefer. */
export function selectProtocol(c: ClassicGroupState): string | null {
  const common = commonProtocols(c);
  if (common === null || common.size === 0) return null;
  const votes = new Map<string, number>();
  const members = [...c.members.values()].sort((a, b) => a.joinedAt - b.joinedAt);
  for (const m of members) {
    const choice = m.protocols.find((p) => common.has(p.name));
    if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
  }
  let best: string | null = null;
  let most = -1;
  // Ties go to the first member's preference, so the choice does not depend on map order.
  for (const p of members[0]!.protocols) {
    const n = votes.get(p.name) ?? 0;
    if (common.has(p.name) && n > most) {
      best = p.name;
      most = n;
    }
  }
  return best;
}

export interface RebalanceOptions {
  /** Kafka's group.initial.rebalance.delay.ms: the first rebalance of an empty group waits this long. */
  readonly initialRebalanceDelayMs: number;
}

/** Starts a rebalance (Kafka's prepareRebalance): every member must rejoin within the rebalance timeout. */
export function prepareRebalance(c: ClassicGroupState, now: number, options: RebalanceOptions): void {
  const wasEmpty = c.state === 'Empty';
  if (c.state !== 'PreparingRebalance') {
    c.state = 'PreparingRebalance';
    for (const m of c.members.values()) {
      m.joined = false;
      m.synced = false;
    }
    const timeout = Math.max(0, ...[...c.members.values()].map((m) => m.rebalanceTimeoutMs));
    c.rebalanceDeadline = now + timeout;
    c.syncDeadline = null;
    c.initialDelayUntil =
      wasEmpty && options.initialRebalanceDelayMs > 0
        ? Math.min(now + options.initialRebalanceDelayMs, c.rebalanceDeadline)
        : null;
  } else if (c.initialDelayUntil !== null && options.initialRebalanceDelayMs > 0) {
    // Kafka's InitialDelayedJoin: each new member extends the wait, within the rebalance timeout.
    c.initialDelayUntil = Math.min(now + options.initialRebalanceDelayMs, c.rebalanceDeadline ?? now);
  }
}

export function canCompleteJoin(c: ClassicGroupState, now: number): boolean {
  if (c.state !== 'PreparingRebalance') return false;
  if (c.rebalanceDeadline !== null && now >= c.rebalanceDeadline) return true;
  if (c.initialDelayUntil !== null && now < c.initialDelayUntil) return false;
  return [...c.members.values()].every((m) => m.joined);
}

/**
 * Ends the join phase (Kafka's initNextGeneration): members that did not rejoin are removed, the
 * generation is bumped, a protocol and a leader chosen; with no members left the group is Empty.
 */
export function completeJoin(meta: GroupMeta, now: number): void {
  const c = meta.classic!;
  for (const [id, m] of c.members) if (!m.joined) c.members.delete(id);
  meta.generation += 1;
  c.rebalanceDeadline = null;
  c.initialDelayUntil = null;
  if (c.members.size === 0) {
    c.state = 'Empty';
    c.protocolName = null;
    c.leader = null;
    c.syncDeadline = null;
    return;
  }
  c.protocolName = selectProtocol(c);
  if (c.leader === null || !c.members.has(c.leader)) {
    c.leader = [...c.members.values()].sort((a, b) => a.joinedAt - b.joinedAt)[0]!.memberId;
  }
  c.state = 'CompletingRebalance';
  let syncTimeout = 0;
  for (const m of c.members.values()) {
    m.joined = false;
    m.synced = false;
    m.assignment = null;
    m.sessionDeadline = now + m.sessionTimeoutMs;
    syncTimeout = Math.max(syncTimeout, m.rebalanceTimeoutMs);
  }
  c.syncDeadline = now + syncTimeout;
}

/** Removes members (LeaveGroup, expiry) and starts the rebalance their departure calls for. */
export function removeMembers(
  meta: GroupMeta,
  ids: readonly string[],
  now: number,
  options: RebalanceOptions,
): void {
  const c = meta.classic!;
  let removed = false;
  for (const id of ids) {
    c.pending.delete(id);
    if (c.members.delete(id)) removed = true;
  }
  if (!removed) return;
  if (c.state === 'Stable' || c.state === 'CompletingRebalance') prepareRebalance(c, now, options);
  if (canCompleteJoin(c, now)) completeJoin(meta, now);
}

/**
 * Applies every deadline that has passed: lapsed pending ids, ended sessions (a member whose join is
 * being waited for is kept), members that did not sync in time, and a join phase that is due. True if
 * anything changed.
 */
export function expireClassic(meta: GroupMeta, now: number, options: RebalanceOptions): boolean {
  const c = meta.classic;
  if (c === null || meta.deleted) return false;
  let changed = false;
  for (const [id, deadline] of c.pending) {
    if (deadline < now) {
      c.pending.delete(id);
      changed = true;
    }
  }
  const expired: string[] = [];
  for (const m of c.members.values()) {
    const awaitingJoin = c.state === 'PreparingRebalance' && m.joined;
    const missedSync =
      c.state === 'CompletingRebalance' && !m.synced && c.syncDeadline !== null && c.syncDeadline < now;
    if ((!awaitingJoin && m.sessionDeadline < now) || missedSync) expired.push(m.memberId);
  }
  if (expired.length > 0) {
    removeMembers(meta, expired, now, options);
    changed = true;
  }
  if (canCompleteJoin(c, now)) {
    completeJoin(meta, now);
    changed = true;
  }
  return changed;
}

/** True if a read-modify-write has deadlines to apply (the fast heartbeat path then takes the slow one). */
export function classicNeedsMaintenance(meta: GroupMeta, now: number): boolean {
  const c = meta.classic;
  if (c === null) return false;
  if ([...c.pending.values()].some((d) => d < now)) return true;
  if (c.state === 'CompletingRebalance' && c.syncDeadline !== null && c.syncDeadline < now) return true;
  return [...c.members.values()].some((m) => m.sessionDeadline < now);
}

/**
 * Who owns which partition at the current generation, from the leader's assignments of the "consumer"
 * protocol. null when the group's protocol is another one, or an assignment does not decode: then
 * commits are fenced by generation and by the first claim of the generation alone.
 */
export function partitionOwners(c: ClassicGroupState): Map<PartitionKey, string> | null {
  if (c.protocolType !== 'consumer') return null;
  const owners = new Map<PartitionKey, string>();
  try {
    for (const m of c.members.values()) {
      if (m.assignment === null) continue;
      for (const tp of decodeAssignment(m.assignment).partitions) owners.set(keyOf(tp), m.memberId);
    }
  } catch (err) {
    if (err instanceof ConsumerProtocolError) return null;
    throw err;
  }
  return owners;
}

/** The topics a member subscribes to, from its metadata for the group's protocol (consumer protocol only). */
export function subscribedTopics(c: ClassicGroupState, m: ClassicMember): string[] {
  if (c.protocolType !== 'consumer') return [];
  const p = m.protocols.find((x) => x.name === c.protocolName) ?? m.protocols[0];
  if (p === undefined) return [];
  try {
    return decodeSubscription(p.metadata).topics;
  } catch {
    return [];
  }
}

export function assignedPartitions(m: ClassicMember): { topic: string; partition: number }[] {
  if (m.assignment === null) return [];
  try {
    return decodeAssignment(m.assignment).partitions;
  } catch {
    return [];
  }
}

/** Sluice's state names for a classic group (describe through the HTTP API and the CLI). */
export function sluiceStateName(c: ClassicGroupState): 'Empty' | 'Reconciling' | 'Stable' {
  if (c.state === 'Empty' || c.members.size === 0) return 'Empty';
  return c.state === 'Stable' ? 'Stable' : 'Reconciling';
}
