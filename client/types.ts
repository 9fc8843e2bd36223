/**
 * The shapes users write and read, as KafkaJS names them: messages with key, value, headers, partition
 * and timestamp; record metadata with topic, partition and offset. Offsets are numbers (Sluice's offsets
 * are safe integers), not KafkaJS's strings.
 */

import type { RecordHeader } from '../shared/codec/record-batch';
import { SluiceError } from '../shared/errors';

/** Header values: a string is sent as UTF-8; an array sends the header once per value. */
export type MessageHeaders = Record<
  string,
  Buffer | string | null | undefined | readonly (Buffer | string | null)[]
>;

/** A record to produce. */
export interface Message {
  /** Decides the partition (Kafka's murmur2) unless `partition` is given. @default null */
  readonly key?: Buffer | string | null;
  /** null is a tombstone. */
  readonly value: Buffer | string | null;
  readonly headers?: MessageHeaders;
  /** Send to this partition, bypassing the partitioner. */
  readonly partition?: number;
  /** Milliseconds since the epoch (a number, or a numeric string as KafkaJS takes). @default now */
  readonly timestamp?: number | string;
}

/** Where a produced record was stored. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /**
   * The record's offset. -1 only when a retry of an old batch was recognised as already stored but its
   * offsets were no longer at hand (Kafka's DUPLICATE_SEQUENCE_NUMBER); the record is stored once.
   */
  readonly offset: number;
}

/** Consumed headers: one value per name, or an array when a name repeats (as KafkaJS). */
export type ConsumedHeaders = Record<string, Buffer | null | (Buffer | null)[]>;

/** A consumed record. */
export interface KafkaMessage {
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: ConsumedHeaders;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

export function toBuffer(value: Buffer | string | null | undefined, field: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value);
  throw new SluiceError('INVALID_RECORD', `${field} must be a Buffer, a string or null`);
}

export function toRecordHeaders(headers: MessageHeaders | undefined, field: string): RecordHeader[] {
  if (headers === undefined || headers === null) return [];
  const out: RecordHeader[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const v of value) out.push({ key, value: toBuffer(v, `${field}.headers.${key}`) });
    } else out.push({ key, value: toBuffer(value as Buffer | string | null, `${field}.headers.${key}`) });
  }
  return out;
}

export function toConsumedHeaders(headers: readonly RecordHeader[]): ConsumedHeaders {
  const out: ConsumedHeaders = Object.create(null);
  for (const { key, value } of headers) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[key] = [prev, value];
  }
  return out;
}

export function toTimestamp(value: number | string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new SluiceError(
      'INVALID_RECORD',
      `${field}.timestamp must be milliseconds since the epoch, but ${JSON.stringify(value)} was provided`,
    );
  }
  return n;
}
