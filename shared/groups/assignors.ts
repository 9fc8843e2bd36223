import { type PartitionKey, partitionKey, sortPartitionKeys } from './partitions';
import type { AssignorName } from './types';

/**
 * Server-side assignors: they compute a group's target assignment from its members' subscriptions and,
 * for 'sticky', from who holds what now. The group reaches the target cooperatively (a partition moves
 * only after its holder gave it up), so every assignor only decides *where* partitions should be; the
 * reconciliation in group-state.ts decides *when* they move.
 */

export interface AssignorMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Partitions the member holds now (used by 'sticky' to keep them where they are). */
  readonly current: readonly PartitionKey[];
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  /** Partitions per topic; a topic missing here (or with 0) has none to assign. */
  readonly partitionCounts: ReadonlyMap<string, number>;
}

/** Target per member id, each sorted; every member of the input has an entry. */
export type TargetAssignment = Map<string, PartitionKey[]>;

export function assign(assignor: AssignorName, input: AssignorInput): TargetAssignment {
  switch (assignor) {
    case 'range':
      return rangeAssign(input);
    case 'roundrobin':
      return roundRobinAssign(input);
    case 'sticky':
      return stickyAssign(input);
  }
}

function byId(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

function subscribedTopics(members: readonly AssignorMember[]): string[] {
  return [...new Set(members.flatMap((m) => m.topics))].sort();
}

function countOf(input: AssignorInput, topic: string): number {
  return input.partitionCounts.get(topic) ?? 0;
}

function finish(members: readonly AssignorMember[], owners: Map<PartitionKey, string>): TargetAssignment {
  const result: TargetAssignment = new Map(members.map((m) => [m.memberId, [] as PartitionKey[]]));
  for (const [key, owner] of owners) result.get(owner)?.push(key);
  for (const [id, keys] of result) result.set(id, sortPartitionKeys(keys));
  return result;
}

/**
 * Kafka's RangeAssignor: per topic, its subscribers in member-id order each take a contiguous range;
 * the first `partitions % members` take one more. Partition i of co-subscribed topics lands on one member.
 */
export function rangeAssign(input: AssignorInput): TargetAssignment {
  const members = byId(input.members);
  const owners = new Map<PartitionKey, string>();
  for (const topic of subscribedTopics(members)) {
    const subscribers = members.filter((m) => m.topics.includes(topic));
    const count = countOf(input, topic);
    const base = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((member, i) => {
      const start = i * base + Math.min(i, extra);
      const length = base + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) owners.set(partitionKey(topic, p), member.memberId);
    });
  }
  return finish(members, owners);
}

/**
 * Kafka's RoundRobinAssignor: all partitions in (topic, partition) order dealt to the members in
 * member-id order, skipping members not subscribed to the partition's topic.
 */
export function roundRobinAssign(input: AssignorInput): TargetAssignment {
  const members = byId(input.members);
  const owners = new Map<PartitionKey, string>();
  let next = 0;
  for (const topic of subscribedTopics(members)) {
    for (let p = 0; p < countOf(input, topic); p++) {
      for (let tries = 0; tries < members.length; tries++) {
        const member = members[next % members.length]!;
        next++;
        if (member.topics.includes(topic)) {
          owners.set(partitionKey(topic, p), member.memberId);
          break;
        }
      }
    }
  }
  return finish(members, owners);
}

/**
 * Balanced and sticky (as Kafka's CooperativeStickyAssignor and KIP-848's uniform assignor aim for):
 * 1. every member keeps the partitions it holds, if it still subscribes to their topic;
 * 2. unheld partitions go, in order, to the least-loaded eligible member;
 * 3. while some member holds at least two more than an eligible other, one partition moves from it.
 * Step 3 strictly lowers the sum of squared loads, so it ends; with equal subscriptions the loads end
 * within one of each other, and only the partitions that balance requires have moved.
 */
export function stickyAssign(input: AssignorInput): TargetAssignment {
  const members = byId(input.members);
  const topics = subscribedTopics(members);
  const eligible = new Map<string, AssignorMember[]>(
    topics.map((t) => [t, members.filter((m) => m.topics.includes(t))]),
  );
  const owners = new Map<PartitionKey, string>();
  const held = new Map<string, PartitionKey[]>(members.map((m) => [m.memberId, []]));
  const exists = (key: PartitionKey): boolean => {
    const at = key.lastIndexOf('#');
    const partition = Number(key.slice(at + 1));
    return partition < countOf(input, key.slice(0, at));
  };

  for (const member of members) {
    for (const key of member.current) {
      const topic = key.slice(0, key.lastIndexOf('#'));
      if (owners.has(key) || !member.topics.includes(topic) || !exists(key)) continue;
      owners.set(key, member.memberId);
      held.get(member.memberId)!.push(key);
    }
  }

  const load = (id: string): number => held.get(id)!.length;
  const leastLoaded = (candidates: readonly AssignorMember[]): AssignorMember | undefined => {
    let best: AssignorMember | undefined;
    for (const c of candidates) if (best === undefined || load(c.memberId) < load(best.memberId)) best = c;
    return best;
  };

  for (const topic of topics) {
    for (let p = 0; p < countOf(input, topic); p++) {
      const key = partitionKey(topic, p);
      if (owners.has(key)) continue;
      const to = leastLoaded(eligible.get(topic)!);
      if (to === undefined) continue;
      owners.set(key, to.memberId);
      held.get(to.memberId)!.push(key);
    }
  }

  for (;;) {
    let moved = false;
    const donors = [...members].sort((a, b) => load(b.memberId) - load(a.memberId));
    search: for (const donor of donors) {
      // Give away the most recently added partitions first: the ones held before stay put.
      const keys = held.get(donor.memberId)!;
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const topic = key.slice(0, key.lastIndexOf('#'));
        const to = leastLoaded(eligible.get(topic)!);
        if (to === undefined || load(donor.memberId) - load(to.memberId) < 2) continue;
        keys.splice(i, 1);
        held.get(to.memberId)!.push(key);
        owners.set(key, to.memberId);
        moved = true;
        break search;
      }
    }
    if (!moved) break;
  }
  return finish(members, owners);
}
