/**
 * The "consumer" embedded protocol of Kafka's classic groups: what a consumer puts in JoinGroup's
 * protocol metadata and what the leader puts in SyncGroup's assignments. The coordinator only relays
 * these bytes; it decodes them to know which member owns which partition (fencing, describe, lag).
 * From Kafka's ConsumerProtocolSubscription.json and ConsumerProtocolAssignment.json (classic, never
 * flexible encoding; a version it does not know is read with the newest grammar it knows, as Kafka does):
 *
 *   ConsumerProtocolSubscription => Version Topics UserData [OwnedPartitions] [GenerationId] [RackId]
 *     Version => INT16
 *     Topics => [STRING]
 *     UserData => NULLABLE_BYTES
 *     OwnedPartitions (v1+) => [Topic [Partitions]]   Topic => STRING  Partitions => INT32
 *     GenerationId (v2+) => INT32
 *     RackId (v3+) => NULLABLE_STRING
 *
 *   ConsumerProtocolAssignment => Version AssignedPartitions UserData
 *     Version => INT16
 *     AssignedPartitions => [Topic [Partitions]]   Topic => STRING  Partitions => INT32
 *     UserData => NULLABLE_BYTES
 */

import type { TopicPartition } from '../types';

export interface ConsumerSubscription {
  readonly version: number;
  readonly topics: string[];
  readonly ownedPartitions: TopicPartition[];
}

export interface ConsumerAssignment {
  readonly version: number;
  readonly partitions: TopicPartition[];
  readonly userData: Buffer | null;
}

/** Thrown for bytes that are not a valid consumer-protocol message. */
export class ConsumerProtocolError extends Error {}

class Cursor {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (n < 0 || this.at + n > this.buf.length)
      throw new ConsumerProtocolError('truncated consumer protocol');
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ConsumerProtocolError('null string in consumer protocol');
    return s;
  }
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    if (n < 0) throw new ConsumerProtocolError('null array in consumer protocol');
    // Every item takes at least one byte: a count beyond the bytes left is corrupt, not a big allocation.
    if (n > this.buf.length - this.at) throw new ConsumerProtocolError('array count beyond the bytes left');
    return Array.from({ length: n }, item);
  }
  get remaining(): number {
    return this.buf.length - this.at;
  }
}

function topicPartitions(c: Cursor): TopicPartition[] {
  return c
    .array(() => {
      const topic = c.string();
      return c.array(() => c.int32()).map((partition) => ({ topic, partition }));
    })
    .flat();
}

export function decodeSubscription(bytes: Buffer): ConsumerSubscription {
  const c = new Cursor(bytes);
  const version = c.int16();
  if (version < 0) throw new ConsumerProtocolError(`consumer subscription version ${version}`);
  const topics = c.array(() => c.string());
  c.nullableBytes();
  const ownedPartitions = version >= 1 && c.remaining > 0 ? topicPartitions(c) : [];
  return { version, topics, ownedPartitions };
}

export function decodeAssignment(bytes: Buffer): ConsumerAssignment {
  // An empty assignment (a member the leader gave nothing, or an error) is sent as zero bytes.
  if (bytes.length === 0) return { version: 0, partitions: [], userData: null };
  const c = new Cursor(bytes);
  const version = c.int16();
  if (version < 0) throw new ConsumerProtocolError(`consumer assignment version ${version}`);
  const partitions = topicPartitions(c);
  const userData = c.remaining > 0 ? c.nullableBytes() : null;
  return { version, partitions, userData };
}

function writeTopicPartitions(parts: Buffer[], partitions: readonly TopicPartition[]): void {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  parts.push(int32(byTopic.size));
  for (const [topic, list] of [...byTopic].sort(([a], [b]) => (a < b ? -1 : 1))) {
    parts.push(string(topic), int32(list.length));
    for (const p of list.sort((a, b) => a - b)) parts.push(int32(p));
  }
}

/** Version 0 assignment bytes: how DescribeGroups shows the members of an SDK group to Kafka tools. */
export function encodeAssignment(partitions: readonly TopicPartition[]): Buffer {
  const parts: Buffer[] = [int16(0)];
  writeTopicPartitions(parts, partitions);
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

/** Version 0 subscription bytes (topics, no user data). */
export function encodeSubscription(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length)];
  for (const t of topics) parts.push(string(t));
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}
function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
function string(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  return Buffer.concat([int16(body.length), body]);
}
