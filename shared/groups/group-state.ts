import { createHash } from 'node:crypto';
import { assign } from './assignors';
import type { PartitionKey } from './partitions';
import { sortPartitionKeys } from './partitions';
import type { GroupMeta, MemberRecord } from './store';
import type { AssignorName, GroupStateName } from './types';

/**
 * The group's state machine, pure: every function takes the meta item as read, changes it in place, and
 * the service writes it back with one conditional write. The invariant all of it keeps:
 *
 *   the members' `assigned` sets are disjoint, always.
 *
 * A partition enters a member's `assigned` only when no other member has it (grant), and leaves only when
 * its holder heartbeats at the current generation without listing it (acknowledged revocation), leaves,
 * or is expelled. The target (where partitions should be) changes only at a generation bump.
 */

export function emptyMeta(group: string, assignor: AssignorName = 'sticky'): GroupMeta {
  return {
    group,
    version: 0,
    generation: 0,
    deleted: false,
    assignor,
    members: new Map(),
    partitionCounts: new Map(),
    metadataCheckedAt: 0,
    classic: null,
  };
}

/** Digest of a sorted partition list; equal lists, equal keys. */
export function steadyKeyOf(keys: Iterable<PartitionKey>): string {
  return createHash('sha256').update(sortPartitionKeys(keys).join(',')).digest('base64url').slice(0, 22);
}

/** Partitions the member may consume: granted and still in its target (the rest it is giving up). */
export function visibleAssignment(member: MemberRecord): PartitionKey[] {
  const target = new Set(member.target);
  return sortPartitionKeys([...member.assigned.keys()].filter((k) => target.has(k)));
}

export function isReconciled(member: MemberRecord): boolean {
  return member.assigned.size === member.target.length && member.target.every((k) => member.assigned.has(k));
}

export function stateName(meta: GroupMeta): GroupStateName {
  if (meta.members.size === 0) return 'Empty';
  return [...meta.members.values()].every(isReconciled) ? 'Stable' : 'Reconciling';
}

/**
 * Expels members whose session ended, or who held revoked partitions past their rebalance timeout.
 * Their partitions are free at once: a zombie's offset commits are fenced by the new owner's claim, and
 * before that by the membership check. Answers the expelled ids.
 */
export function expireMembers(meta: GroupMeta, now: number): string[] {
  const expelled: string[] = [];
  for (const [id, m] of meta.members) {
    if (m.sessionDeadline < now || (m.revokeDeadline !== null && m.revokeDeadline < now)) {
      meta.members.delete(id);
      expelled.push(id);
    }
  }
  return expelled;
}

/** A new generation: recompute every member's target, starting its rebalance timer if it must revoke. */
export function bumpGeneration(meta: GroupMeta, now: number): void {
  meta.generation += 1;
  const members = [...meta.members.values()];
  const targets = assign(meta.assignor, {
    members: members.map((m) => ({
      memberId: m.memberId,
      topics: m.topics,
      current: [...m.assigned.keys()],
    })),
    partitionCounts: meta.partitionCounts,
  });
  for (const m of members) {
    m.target = targets.get(m.memberId) ?? [];
    const target = new Set(m.target);
    const revoking = [...m.assigned.keys()].some((k) => !target.has(k));
    m.revokeDeadline = revoking ? now + m.rebalanceTimeoutMs : null;
  }
  // Keep counts only for topics someone subscribes to.
  const subscribed = new Set(members.flatMap((m) => m.topics));
  for (const topic of meta.partitionCounts.keys())
    if (!subscribed.has(topic)) meta.partitionCounts.delete(topic);
}

/**
 * Applies a heartbeat's `owned` list: a partition the member holds but no longer targets, and did not
 * list, is given up. Only a heartbeat at the current generation counts: an older one (a delayed duplicate,
 * say) was sent before the member knew of the revocation, so its silence proves nothing.
 */
export function acknowledgeRevocations(member: MemberRecord, owned: ReadonlySet<PartitionKey>): void {
  const target = new Set(member.target);
  for (const key of [...member.assigned.keys()]) {
    if (!target.has(key) && !owned.has(key)) member.assigned.delete(key);
  }
  if ([...member.assigned.keys()].every((k) => target.has(k))) member.revokeDeadline = null;
}

/**
 * Grants the member every partition of its target that no other member holds, at the current
 * generation. Answers the granted keys (each then needs its claim in the offset item).
 */
export function grantFree(meta: GroupMeta, member: MemberRecord): PartitionKey[] {
  const held = new Set<PartitionKey>();
  for (const m of meta.members.values()) if (m !== member) for (const k of m.assigned.keys()) held.add(k);
  const granted: PartitionKey[] = [];
  for (const key of member.target) {
    if (!member.assigned.has(key) && !held.has(key)) {
      member.assigned.set(key, meta.generation);
      granted.push(key);
    }
  }
  return granted;
}

/** Recomputes every member's steady key; call before writing the meta item. */
export function refreshSteadyKeys(meta: GroupMeta): void {
  for (const m of meta.members.values()) m.steadyKey = isReconciled(m) ? steadyKeyOf(m.target) : null;
}
