/**
 * The producer's options, its profiles and their validation.
 *
 * Every produce request on AWS costs the same whatever it carries: an API Gateway call, a Lambda run, an
 * S3 PUT and three DynamoDB writes per partition (bench/cost.ts prices them). So the producer's cost is
 * its request rate, and its latency is how long a record waits for its request. The profiles choose:
 *
 *   latency    lingerMs 0,    requestIntervalMs 0      a request whenever the last one was acknowledged
 *   balanced   lingerMs 5,    requestIntervalMs 1000   the default: a quiet producer's records leave after
 *                                                      5 ms; under sustained load requests are paced to
 *                                                      one a second, so they grow instead of multiplying
 *   cost       lingerMs 1000, requestIntervalMs 5000   for bulk pipelines: one request per 5 s under load
 *
 * The pacing is a token bucket of REQUEST_BURST requests refilled one per requestIntervalMs: a producer
 * that sends now and then always finds a token and sends after lingerMs; one that sends all the time
 * empties the bucket and sends one request per interval, carrying everything gathered meanwhile. A full
 * batch (maxBatchBytes), flush(), disconnect() and a full buffer do not wait for a token. At 1 MB/s from 4
 * producers, the cost model (bench/results.md, "Knobs that move the cost") puts `latency` at about 10×
 * Kinesis on-demand and `balanced` below it.
 */

import type { Compression } from '../../shared/codec/record-batch';
import { canCompressZstd } from '../../shared/codec/zstd';
import { LOG_LIMITS } from '../../shared/model';
import type { RetryOptions } from '../retry';
import type { Message } from '../types';

/** Chooses a partition for a message that names none. */
export type Partitioner = (args: {
  readonly topic: string;
  readonly partitionCount: number;
  readonly message: Message;
  /** The message key as bytes, null when it has none. */
  readonly key: Buffer | null;
}) => number;

export type ProducerProfile = 'latency' | 'balanced' | 'cost';

export interface ProducerOptions {
  /** Sets lingerMs and requestIntervalMs together (see PRODUCER_PROFILES); each may still be set alone. @default 'balanced' */
  readonly profile?: ProducerProfile;
  /** How long a record waits for others before its request leaves, when the producer has a request to spare, in ms. @default the profile's: 5 */
  readonly lingerMs?: number;
  /**
   * Under sustained load, at most one request per this many ms on average (after a burst of up to 4 when
   * the producer was quiet): records arriving meanwhile join the next request, so requests grow instead of
   * multiplying. 0: no pacing. @default the profile's: 1000
   */
  readonly requestIntervalMs?: number;
  /**
   * Largest record batch of one partition (before compression), in bytes. A partition whose records reach
   * it is sent at once. At most LOG_LIMITS.maxProduceBytes − 64 KiB, so one batch always fits one request.
   * @default 1048576 (1 MiB)
   */
  readonly maxBatchBytes?: number;
  /** Compression of each batch; done once here, stored and fetched as sent. @default 'lz4' */
  readonly compression?: Compression;
  /** Producer id and sequence numbers, so retries store each batch exactly once. @default true */
  readonly idempotent?: boolean;
  /**
   * Unacknowledged requests of the producer, as Kafka's max.in.flight.requests.per.connection. Each
   * request carries every partition that has records, so 1 keeps requests few and large; up to 5, as Kafka
   * allows with idempotence (order still holds: a batch behind a failed one is sent again after it).
   * @default 1
   */
  readonly maxInFlightRequests?: number;
  /** Bytes of records the producer may hold before `send` waits for room (back-pressure). @default 33554432 (32 MiB) */
  readonly bufferMemoryBytes?: number;
  /** Custom partitioner for messages without an explicit partition. @default Kafka's: murmur2 of the key, sticky for null keys */
  readonly partitioner?: Partitioner;
  /** Retries of a failed batch, with jittered backoff. @default { retries: 10, maxElapsedMs: 60000, … } */
  readonly retry?: RetryOptions;
  /** How long a topic's partition count is trusted before it is read again, in ms. @default 60000 */
  readonly metadataMaxAgeMs?: number;
}

export const PRODUCER_PROFILES: Readonly<
  Record<ProducerProfile, { readonly lingerMs: number; readonly requestIntervalMs: number }>
> = {
  latency: { lingerMs: 0, requestIntervalMs: 0 },
  balanced: { lingerMs: 5, requestIntervalMs: 1000 },
  cost: { lingerMs: 1000, requestIntervalMs: 5000 },
};

/** Requests a quiet producer may send at lingerMs before the pacing of requestIntervalMs applies. */
export const REQUEST_BURST = 4;

export const PRODUCER_DEFAULTS = {
  profile: 'balanced' as ProducerProfile,
  ...PRODUCER_PROFILES.balanced,
  maxBatchBytes: 1024 * 1024,
  compression: 'lz4' as Compression,
  idempotent: true,
  maxInFlightRequests: 1,
  bufferMemoryBytes: 32 * 1024 * 1024,
  metadataMaxAgeMs: 60_000,
} as const;

/** Room kept in a request for framing and compression overhead beyond the records' own bytes. */
export const REQUEST_SLACK_BYTES = 64 * 1024;
export const MAX_REQUEST_BYTES = LOG_LIMITS.maxProduceBytes;

export interface ResolvedProducerOptions {
  readonly lingerMs: number;
  readonly requestIntervalMs: number;
  readonly maxBatchBytes: number;
  readonly compression: Compression;
  readonly idempotent: boolean;
  readonly maxInFlightRequests: number;
  readonly bufferMemoryBytes: number;
  readonly partitioner: Partitioner | undefined;
  readonly retry: RetryOptions | undefined;
  readonly metadataMaxAgeMs: number;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, but ${value} was provided`);
  }
  return value;
}

export function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  const profileName = options.profile ?? PRODUCER_DEFAULTS.profile;
  const profile = PRODUCER_PROFILES[profileName];
  if (!Object.hasOwn(PRODUCER_PROFILES, profileName) || profile === undefined) {
    throw new RangeError(
      `profile must be latency, balanced or cost, but ${String(profileName)} was provided`,
    );
  }
  const maxBatchBytes = integer(
    'maxBatchBytes',
    options.maxBatchBytes ?? PRODUCER_DEFAULTS.maxBatchBytes,
    1024,
    MAX_REQUEST_BYTES - REQUEST_SLACK_BYTES,
  );
  const compression = options.compression ?? PRODUCER_DEFAULTS.compression;
  // zstd compression needs Node's zlib zstd (Node ≥ 22.15); every codec decodes everywhere.
  const writable = ['none', 'gzip', 'snappy', 'lz4', ...(canCompressZstd() ? ['zstd'] : [])];
  if (!writable.includes(compression)) {
    throw new RangeError(
      `compression must be ${writable.join(', ')} on this Node, but ${compression} was provided`,
    );
  }
  return {
    lingerMs: integer('lingerMs', options.lingerMs ?? profile.lingerMs, 0, 600_000),
    requestIntervalMs: integer(
      'requestIntervalMs',
      options.requestIntervalMs ?? profile.requestIntervalMs,
      0,
      600_000,
    ),
    maxBatchBytes,
    compression,
    idempotent: options.idempotent ?? PRODUCER_DEFAULTS.idempotent,
    maxInFlightRequests: integer(
      'maxInFlightRequests',
      options.maxInFlightRequests ?? PRODUCER_DEFAULTS.maxInFlightRequests,
      1,
      5,
    ),
    bufferMemoryBytes: integer(
      'bufferMemoryBytes',
      options.bufferMemoryBytes ?? PRODUCER_DEFAULTS.bufferMemoryBytes,
      maxBatchBytes,
      2 ** 40,
    ),
    partitioner: options.partitioner,
    retry: options.retry,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? PRODUCER_DEFAULTS.metadataMaxAgeMs,
  };
}
