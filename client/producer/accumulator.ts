/**
 * The record accumulator, as Kafka's RecordAccumulator: per partition, a queue of record lists (each at
 * most maxBatchBytes) and the encoded batches sent but not yet acknowledged, in sequence order.
 *
 *   append → the partition's last open list (a new one once it would pass maxBatchBytes)
 *   ready  → a partition is ready when its oldest list is full, lingerMs passed, or on flush; a batch
 *            being retried is ready when its backoff ended
 *   drain  → once any partition is ready, ONE request takes a batch from EVERY partition that has records
 *            or a batch to resend (Kafka drains every partition of a ready node the same way), so the
 *            partitions of a producer share its requests instead of each filling requests of its own
 *
 * Order per partition: a partition's next batch is encoded with the sequence after the last one and never
 * overtakes it. While a batch of a partition is being retried, only that oldest batch goes, alone for its
 * partition; an in-flight batch encoded under an older identity holds its partition until its answer
 * comes, because that answer decides whether it must be encoded again.
 */

import {
  type ProducerRecord as CodecRecord,
  type Compression,
  encodeRecordBatch,
} from '../../shared/codec/record-batch';
import { partitionMemoryKey } from '../../shared/model/partitions';
import type { BufferPool, SendContext } from './buffer';
import { PartitionIdentity } from './identity';

/** A record waiting in an accumulator, and whose send it belongs to. */
export interface Pending {
  readonly record: CodecRecord;
  readonly bytes: number;
  readonly send: SendContext;
  readonly index: number;
}

interface RecordList {
  readonly records: Pending[];
  bytes: number;
  readonly createdAt: number;
  /** Full, or taken by a partition that moved on: nothing more is added. */
  closed: boolean;
}

/** One partition's encoded RecordBatch, sent (and retried) as a unit. */
export interface Part {
  readonly queue: PartitionQueue;
  readonly records: Pending[];
  readonly bytes: number;
  batch: Buffer;
  /** The identity version the batch was encoded under. */
  identityVersion: number;
  state: 'waiting' | 'inflight';
  failures: number;
  retryAt: number;
  firstSentAt: number;
}

export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly lists: RecordList[];
  /** Encoded batches not yet acknowledged, in sequence order. */
  readonly unacked: Part[];
  readonly identity: PartitionIdentity;
}

export interface AccumulatorSettings {
  readonly lingerMs: number;
  readonly maxBatchBytes: number;
  readonly compression: Compression;
  readonly idempotent: boolean;
  readonly maxInFlightRequests: number;
}

/** The RecordBatch header's fixed size, counted in a list's bytes from the start. */
const BATCH_HEADER_BYTES = 61;

export class RecordAccumulator {
  readonly queues = new Map<string, PartitionQueue>();

  constructor(
    private readonly settings: AccumulatorSettings,
    private readonly pool: BufferPool,
    /** Counts the record batches encoded (again after a reset too). */
    private readonly stats: { batches: number },
    /** Called when a list is closed: Kafka's sticky partitioner moves on once a batch is complete. */
    private readonly onListClosed: (topic: string, partition: number) => void,
  ) {}

  /** Adds a record; true when its partition has a full list (a request should go now). */
  append(topic: string, partition: number, pending: Pending, now: number): boolean {
    const q = this.queue(topic, partition);
    let list = q.lists.at(-1);
    if (list === undefined || list.closed || list.bytes + pending.bytes > this.settings.maxBatchBytes) {
      if (list && !list.closed) this.close(q, list);
      list = { records: [], bytes: BATCH_HEADER_BYTES, createdAt: now, closed: false };
      q.lists.push(list);
    }
    list.records.push(pending);
    list.bytes += pending.bytes;
    if (list.bytes >= this.settings.maxBatchBytes) this.close(q, list);
    return q.lists.length > 1 || list.closed;
  }

  /** Whether some partition that may send now holds a full list: its request need not wait for pacing. */
  hasFullBatch(now: number): boolean {
    for (const q of this.queues.values()) {
      const full = q.lists.length > 1 || q.lists[0]?.closed === true;
      if (full && this.partitionReadyAt(q, now, false) <= now) return true;
    }
    return false;
  }

  /**
   * When the next request may go: `now` or earlier if some partition is ready, else the earliest end of a
   * linger or a backoff, else +∞ (nothing to send, or everything waits for an answer).
   */
  readyAt(now: number, force: boolean): number {
    let at = Number.POSITIVE_INFINITY;
    for (const q of this.queues.values()) {
      at = Math.min(at, this.partitionReadyAt(q, now, force));
      if (at <= now) return at;
    }
    return at;
  }

  /**
   * One request's parts: a batch from every partition that may send one (ready or not: it rides along),
   * at most one per partition, within `maxBytes` of framed batches.
   */
  drain(now: number, maxBytes: number, maxParts: number, framing: (topic: string) => number): Part[] {
    const parts: Part[] = [];
    let bytes = 0;
    for (const q of this.queues.values()) {
      if (parts.length >= maxParts) break;
      const part = this.sendable(q, now);
      if (part === undefined) continue;
      const size = framing(q.topic) + part.batch.length;
      if (bytes + size > maxBytes && parts.length > 0) {
        // Next request: a part encoded now keeps its place at the head of its partition's order.
        continue;
      }
      bytes += size;
      part.state = 'inflight';
      parts.push(part);
    }
    return parts;
  }

  /** An acknowledged or failed part leaves its partition's queue and gives its memory back. */
  remove(part: Part): void {
    const q = part.queue;
    const i = q.unacked.indexOf(part);
    if (i >= 0) q.unacked.splice(i, 1);
    // The queue stays, with its producer id and sequence: a new id per burst would grow the
    // partition's producer state on the server.
    this.pool.release(part.bytes);
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const key = partitionMemoryKey(topic, partition);
    let q = this.queues.get(key);
    if (q === undefined) {
      q = {
        topic,
        partition,
        lists: [],
        unacked: [],
        identity: new PartitionIdentity(this.settings.idempotent),
      };
      this.queues.set(key, q);
    }
    return q;
  }

  private close(q: PartitionQueue, list: RecordList): void {
    if (list.closed) return;
    list.closed = true;
    this.onListClosed(q.topic, q.partition);
  }

  private inflight(q: PartitionQueue): Part[] {
    return q.unacked.filter((p) => p.state === 'inflight');
  }

  private recovering(q: PartitionQueue): boolean {
    return q.unacked.some((p) => p.failures > 0);
  }

  /** Parts of this partition that may be in flight at once. */
  private slots(q: PartitionQueue, now: number): number {
    const limit = q.identity.known(now) ? this.settings.maxInFlightRequests : 1;
    return limit - this.inflight(q).length;
  }

  private partitionReadyAt(q: PartitionQueue, now: number, force: boolean): number {
    const inflight = this.inflight(q);
    if (inflight.some((p) => p.identityVersion !== q.identity.version)) return Number.POSITIVE_INFINITY;
    if (this.recovering(q)) {
      const head = q.unacked[0]!;
      if (inflight.length > 0 || head.state !== 'waiting') return Number.POSITIVE_INFINITY;
      return head.retryAt;
    }
    if (this.slots(q, now) <= 0) return Number.POSITIVE_INFINITY;
    if (q.unacked.some((p) => p.state === 'waiting')) return now;
    const first = q.lists[0];
    if (first === undefined) return Number.POSITIVE_INFINITY;
    if (force || first.closed || q.lists.length > 1) return now;
    return first.createdAt + this.settings.lingerMs;
  }

  /** The part this partition would add to a request now, encoding its oldest list if need be. */
  private sendable(q: PartitionQueue, now: number): Part | undefined {
    const inflight = this.inflight(q);
    if (inflight.some((p) => p.identityVersion !== q.identity.version)) return undefined;
    if (this.recovering(q)) {
      // Recovering: only the oldest part, alone, so the log sees the partition's batches in order.
      const head = q.unacked[0]!;
      if (inflight.length > 0 || head.state !== 'waiting' || head.retryAt > now) return undefined;
      if (head.identityVersion !== q.identity.version) this.encode(q, head);
      return head;
    }
    if (this.slots(q, now) <= 0) return undefined;
    const waiting = q.unacked.find((p) => p.state === 'waiting');
    if (waiting) {
      if (waiting.identityVersion !== q.identity.version) this.encode(q, waiting);
      return waiting;
    }
    if (q.lists.length === 0) return undefined;
    return this.encodeOldestList(q);
  }

  /**
   * Takes the partition's oldest list and encodes it as one part: one RecordBatch. (A part could carry
   * several batches, but the log stores a part as one index entry, and fetch cannot start inside an entry
   * it had to cut: one batch per part keeps every fetch able to progress.)
   */
  private encodeOldestList(q: PartitionQueue): Part | undefined {
    const list = q.lists[0]!;
    if (q.identity.wouldWrap(list.records.length)) {
      // Start a new producer id, once every part under the old one is acknowledged.
      if (q.unacked.length > 0) return undefined;
      q.identity.reset();
    }
    q.lists.shift();
    this.close(q, list);
    const part: Part = {
      queue: q,
      records: list.records,
      bytes: list.records.reduce((n, r) => n + r.bytes, 0),
      batch: Buffer.alloc(0),
      identityVersion: q.identity.version,
      state: 'waiting',
      failures: 0,
      retryAt: 0,
      firstSentAt: 0,
    };
    this.encode(q, part);
    q.unacked.push(part);
    return part;
  }

  /** Encodes a part's records as one RecordBatch with the partition's next sequence (again after a reset). */
  private encode(q: PartitionQueue, part: Part): void {
    const fields = q.identity.take(part.records.length);
    part.batch = encodeRecordBatch(
      part.records.map((p) => p.record),
      { compression: this.settings.compression, ...(fields ?? {}) },
    );
    part.identityVersion = q.identity.version;
    this.stats.batches++;
  }
}
