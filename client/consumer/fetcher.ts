/**
 * The consumer's fetches: one long poll of every partition to read in one request (POST /v1/fetch, the
 * framed answer of shared/api/framing.ts), or with perTopicAuth one long poll per partition on its own
 * route. Records are decoded here, and those before the asked offset dropped: a stored batch may start
 * earlier than the position.
 */

import { decodeFetchResponse, encodeFetchRequest, FRAME_CONTENT_TYPE } from '../../shared/api/framing';
import { decodeRecordBatches } from '../../shared/codec/record-batch';
import { isSluiceError } from '../../shared/errors';
import type { FetchPartitionResult } from '../../shared/model';
import { isRetriable } from '../retry';
import { seg, type Transport } from '../transport';
import { type KafkaMessage, type TopicPartition, toConsumedHeaders } from '../types';

export interface FetcherOptions {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  /** Fetch each partition on its own route (IAM policies per topic). */
  readonly perTopicAuth: boolean;
}

/** A partition to fetch, from an offset. */
export interface FetchTarget extends TopicPartition {
  readonly offset: number;
}

export class Fetcher {
  constructor(
    private readonly transport: Transport,
    private readonly options: FetcherOptions,
  ) {}

  /**
   * One long poll of these partitions (a short fetch with maxWaitMs 0, as the idle consumer sends);
   * answers each with its records or its error.
   */
  fetch(
    requested: readonly FetchTarget[],
    signal: AbortSignal,
    maxWaitMs = this.options.maxWaitMs,
  ): Promise<FetchPartitionResult[]> {
    return this.options.perTopicAuth
      ? this.fetchPerPartition(requested, signal, maxWaitMs)
      : this.fetchAll(requested, signal, maxWaitMs);
  }

  private async fetchAll(requested: readonly FetchTarget[], signal: AbortSignal, maxWaitMs: number) {
    const { minBytes, maxBytes, maxBytesPerPartition } = this.options;
    const body = encodeFetchRequest({
      partitions: requested.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        maxBytes: maxBytesPerPartition,
      })),
      maxWaitMs,
      minBytes,
      maxBytes,
    });
    const res = await this.transport.request({
      method: 'POST',
      path: '/v1/fetch',
      body,
      contentType: FRAME_CONTENT_TYPE,
      accept: FRAME_CONTENT_TYPE,
      idempotent: true,
      timeoutMs: 30_000 + maxWaitMs,
      signal,
      retry: { retries: 2 },
    });
    return decodeFetchResponse(res.body);
  }

  /**
   * perTopicAuth: one long poll per partition on its own route. Once one answers with records, the
   * others are cut short (a fetch changes nothing, so cutting it loses nothing).
   */
  private async fetchPerPartition(
    requested: readonly FetchTarget[],
    signal: AbortSignal,
    maxWaitMs: number,
  ): Promise<FetchPartitionResult[]> {
    const { minBytes, maxBytesPerPartition } = this.options;
    const local = new AbortController();
    const onAbort = () => local.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const settled = await Promise.all(
        requested.map(async ({ topic, partition, offset }): Promise<FetchPartitionResult | undefined> => {
          const base = { topic, partition };
          try {
            const res = await this.transport.request({
              method: 'GET',
              path: `/v1/topics/${seg(topic)}/partitions/${partition}/batches`,
              query: { offset, maxBytes: maxBytesPerPartition, maxWaitMs, minBytes },
              accept: 'application/vnd.kafka.record-batch',
              timeoutMs: 30_000 + maxWaitMs,
              signal: local.signal,
              retry: { retries: 2 },
            });
            if (res.body.length > 0) local.abort();
            return {
              ...base,
              highWatermark: Number(res.headers['x-high-watermark'] ?? -1),
              logStartOffset: Number(res.headers['x-log-start-offset'] ?? -1),
              nextOffset: Number(res.headers['x-next-offset'] ?? offset),
              records: res.body,
            };
          } catch (err) {
            if (local.signal.aborted && !signal.aborted) return undefined;
            if (isSluiceError(err) && !isRetriable(err)) {
              const d = err.details as { highWatermark?: number; logStartOffset?: number };
              return {
                ...base,
                highWatermark: d.highWatermark ?? -1,
                logStartOffset: d.logStartOffset ?? -1,
                nextOffset: offset,
                records: Buffer.alloc(0),
                error: err,
              };
            }
            throw err;
          }
        }),
      );
      return settled.filter((r): r is FetchPartitionResult => r !== undefined);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/**
 * A partition's records from `offset` up to the high-water mark: the first stored batch may start before
 * the position, and records at or past the high-water mark are not yet to be read.
 */
export function decodeMessages(result: FetchPartitionResult, offset: number): KafkaMessage[] {
  const messages: KafkaMessage[] = [];
  if (result.records.length === 0) return messages;
  const { batches } = decodeRecordBatches(result.records);
  for (const b of batches) {
    for (const rec of b.records) {
      if (rec.offset < offset || rec.offset >= result.highWatermark) continue;
      messages.push({
        offset: rec.offset,
        timestamp: rec.timestamp,
        key: rec.key,
        value: rec.value,
        headers: toConsumedHeaders(rec.headers),
      });
    }
  }
  return messages;
}
