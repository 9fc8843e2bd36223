/**
 * The sender, as Kafka's Sender thread: it decides when a request leaves, sends it, and applies the
 * answers.
 *
 *   when   some partition is ready (accumulator), fewer than maxInFlightRequests requests are out, and
 *          the pacing allows: a token of a bucket of REQUEST_BURST refilled one per requestIntervalMs
 *          (no token needed for a full batch, on flush or disconnect, or while sends wait for buffer room)
 *   what   one request with a batch of every partition that has records (accumulator.drain), split only
 *          where it would pass LOG_LIMITS.maxProduceBytes
 *   answer per partition: acknowledged (resolve the records' sends), retriable (back off; the batch is
 *          resent with the same bytes and sequences, so the log stores it once), or failed for good
 *          (reject the sends; the partition starts over under a new producer id, so the gap its sequences
 *          leave cannot block the records after it)
 */

import { decodeProduceResponse, encodeProduceRequest, FRAME_CONTENT_TYPE } from '../../shared/api/framing';
import { isSluiceError, SluiceError } from '../../shared/errors';
import { partitionMemoryKey } from '../../shared/model/partitions';
import { backoffMs, type ResolvedRetry } from '../retry';
import { seg, type TransportRequest, type TransportResponse } from '../transport';
import type { Part, RecordAccumulator } from './accumulator';
import type { BufferPool } from './buffer';
import type { Clock } from './clock';
import { MAX_REQUEST_BYTES, REQUEST_BURST } from './options';

/** What the producer needs of a transport: a port, so tests and the cost model can count requests. */
export interface ProducerTransport {
  request(req: TransportRequest): Promise<TransportResponse>;
  json<T>(method: 'GET', path: string): Promise<T>;
  close(): void;
}

/** Counters for tests and tools. */
export interface ProducerStats {
  /** Produce requests sent (one per drain, more only past the request size limit or with perTopicAuth). */
  requests: number;
  /** Partitions carried, summed over requests: partitions / requests is the partitions per request. */
  partitions: number;
  /** Request bodies, in bytes, as sent on the wire. */
  requestBytes: number;
  /** Record batches encoded. */
  batches: number;
  /** Records acknowledged. */
  records: number;
  /** Batches sent again after a failure. */
  retries: number;
}

export interface SenderSettings {
  readonly requestIntervalMs: number;
  readonly maxInFlightRequests: number;
  readonly idempotent: boolean;
  readonly retry: ResolvedRetry;
  /** One request per partition on its own route (which IAM can limit to one topic). */
  readonly perTopicAuth: boolean;
}

type Answer = SluiceError | { baseOffset: number; lastOffset: number };

const MAX_PARTITIONS_PER_REQUEST = 1_000;
/** Framing of one partition in a produce request: topic string, partition, batches length. */
const partFraming = (topic: string) => 2 + Buffer.byteLength(topic) + 4 + 4;
/** The request frame's own header. */
const REQUEST_HEADER_BYTES = 6;

export class Sender {
  private inflightRequests = 0;
  private tokens: number = REQUEST_BURST;
  private refilledAt: number;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private drainScheduled = false;

  constructor(
    private readonly settings: SenderSettings,
    private readonly accumulator: RecordAccumulator,
    private readonly pool: BufferPool,
    private readonly transport: ProducerTransport,
    private readonly clock: Clock,
    readonly stats: ProducerStats,
    /** flush(), disconnect(): send everything now. */
    private readonly forced: () => boolean,
  ) {
    this.refilledAt = clock.now();
  }

  /** Looks for a request to send after the current work (so records of one tick go together). */
  schedule(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.clock.setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Looks again at `at` (a linger's end). */
  wakeAt(at: number): void {
    if (at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.drain();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Sends requests while one is allowed and something is ready. */
  drain(): void {
    while (this.inflightRequests < this.settings.maxInFlightRequests) {
      const now = this.clock.now();
      const force = this.forced() || this.pool.waiting;
      const readyAt = this.accumulator.readyAt(now, force);
      if (readyAt > now) {
        if (readyAt < Number.POSITIVE_INFINITY) this.wakeAt(readyAt);
        return;
      }
      const paced = !force && !this.accumulator.hasFullBatch(now);
      if (paced && !this.takeToken(now)) return;
      const parts = this.accumulator.drain(
        now,
        MAX_REQUEST_BYTES - REQUEST_HEADER_BYTES,
        MAX_PARTITIONS_PER_REQUEST,
        partFraming,
      );
      if (parts.length === 0) return;
      if (!paced) this.takeToken(now, true);
      void this.dispatch(parts, now);
    }
  }

  /** Takes a token of the pacing bucket; when there is none, looks again once one is due. */
  private takeToken(now: number, always = false): boolean {
    const interval = this.settings.requestIntervalMs;
    if (interval === 0) return true;
    this.tokens = Math.min(REQUEST_BURST, this.tokens + (now - this.refilledAt) / interval);
    this.refilledAt = now;
    if (this.tokens >= 1 || always) {
      // A request that does not wait (full batch, flush) still spends a token, down to one request's debt.
      this.tokens = Math.max(this.tokens - 1, -1);
      return true;
    }
    this.wakeAt(now + Math.ceil((1 - this.tokens) * interval));
    return false;
  }

  private async dispatch(parts: Part[], now: number): Promise<void> {
    this.inflightRequests++;
    for (const p of parts) {
      if (p.firstSentAt === 0) p.firstSentAt = now;
      if (p.failures > 0) this.stats.retries++;
    }
    let results: Answer[];
    try {
      results = this.settings.perTopicAuth
        ? await this.sendPerPartition(parts)
        : await this.sendFramed(parts);
    } catch (err) {
      const error = isSluiceError(err)
        ? err
        : new SluiceError('UNKNOWN_SERVER_ERROR', `produce failed: ${(err as Error).message}`, {
            cause: err,
          });
      results = parts.map(() => error);
    } finally {
      this.inflightRequests--;
    }
    // One backoff for the whole request, so the partitions it carried are retried together again
    // (a jitter per partition would spread them over requests of their own).
    const backoff = backoffMs(this.settings.retry, Math.max(...parts.map((p) => p.failures)));
    for (let i = 0; i < parts.length; i++) this.complete(parts[i]!, results[i]!, backoff);
    this.drain();
  }

  private async sendFramed(parts: Part[]): Promise<Answer[]> {
    const body = encodeProduceRequest(
      parts.map((p) => ({ topic: p.queue.topic, partition: p.queue.partition, batches: p.batch })),
    );
    this.stats.requests++;
    this.stats.partitions += parts.length;
    this.stats.requestBytes += body.length;
    const res = await this.transport.request({
      method: 'POST',
      path: '/v1/produce',
      body,
      contentType: FRAME_CONTENT_TYPE,
      accept: FRAME_CONTENT_TYPE,
      idempotent: this.settings.idempotent,
      retry: false,
    });
    const answers = decodeProduceResponse(res.body);
    const byKey = new Map(answers.map((a) => [partitionMemoryKey(a.topic, a.partition), a]));
    return parts.map((p) => {
      const a = byKey.get(partitionMemoryKey(p.queue.topic, p.queue.partition));
      if (a === undefined) {
        return new SluiceError(
          'UNKNOWN_SERVER_ERROR',
          `the answer left out ${p.queue.topic}/${p.queue.partition}`,
        );
      }
      return a.error ?? a;
    });
  }

  /** perTopicAuth: one request per partition on its own route, which IAM can limit to one topic. */
  private sendPerPartition(parts: Part[]): Promise<Answer[]> {
    return Promise.all(
      parts.map(async (p) => {
        this.stats.requests++;
        this.stats.partitions++;
        this.stats.requestBytes += p.batch.length;
        try {
          const res = await this.transport.request({
            method: 'POST',
            path: `/v1/topics/${seg(p.queue.topic)}/partitions/${p.queue.partition}/batches`,
            body: p.batch,
            contentType: 'application/vnd.kafka.record-batch',
            idempotent: this.settings.idempotent,
            retry: false,
          });
          return JSON.parse(res.body.toString('utf8')) as { baseOffset: number; lastOffset: number };
        } catch (err) {
          if (isSluiceError(err)) return err;
          throw err;
        }
      }),
    );
  }

  /** The retry's delay, or undefined when the part's retries (count or time) are spent. */
  private retryDelay(part: Part, backoff: number, now: number): number | undefined {
    const retry = this.settings.retry;
    if (part.failures - 1 >= retry.retries) return undefined;
    if (now + backoff - part.firstSentAt > retry.maxElapsedMs) return undefined;
    return backoff;
  }

  private complete(part: Part, result: Answer, backoff: number): void {
    const q = part.queue;
    const now = this.clock.now();
    if (!(result instanceof SluiceError)) {
      q.identity.acknowledged(part.identityVersion, now);
      this.accumulator.remove(part);
      const { topic, partition } = q;
      part.records.forEach((r, i) => {
        r.send.done(r.index, {
          topic,
          partition,
          offset: result.baseOffset < 0 ? -1 : result.baseOffset + i,
        });
      });
      this.stats.records += part.records.length;
      return;
    }
    part.state = 'waiting';
    part.failures++;
    if (isSluiceError(result, 'OUT_OF_ORDER_SEQUENCE') && this.settings.idempotent) {
      const earlier = q.unacked.indexOf(part) > 0;
      if (part.identityVersion !== q.identity.version || earlier) {
        // An earlier part is not stored yet (it failed or is still in flight), or the partition started
        // over: send this one again once the earlier ones are settled. Bounded by the retry limits.
        if (this.retryDelay(part, 0, now) !== undefined) {
          part.retryAt = now;
          return;
        }
      }
      this.fail(part, result);
      return;
    }
    if (result.retriable) {
      const delay = this.retryDelay(part, backoff, now);
      if (delay !== undefined) {
        part.retryAt = now + delay;
        return;
      }
    }
    this.fail(part, result);
  }

  private fail(part: Part, error: SluiceError): void {
    this.accumulator.remove(part);
    for (const r of part.records) r.send.fail(error);
    // The log did not store this part, so its sequences are a gap: later parts start a new identity.
    part.queue.identity.reset();
  }
}
