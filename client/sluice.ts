import { Admin } from './admin';
import { Consumer } from './consumer/consumer';
import type { ConsumerOptions } from './consumer/types';
import { Producer, type ProducerOptions } from './producer';
import type { RetryOptions } from './retry';
import {
  type AwsCredentials,
  type AwsCredentialsProvider,
  type FunctionUrls,
  Transport,
  type TransportOptions,
} from './transport';

export interface SluiceConfig {
  /**
   * The API's base URL: `http://127.0.0.1:8092` for `npm start`, or the deployed API with its stage,
   * e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod/`.
   * @default process.env.SLUICE_ENDPOINT (required when that is unset)
   */
  readonly endpoint?: string;
  /** Region for SigV4. @default parsed from an execute-api host, else AWS_REGION / AWS_DEFAULT_REGION */
  readonly region?: string;
  /** Credentials for SigV4. @default the AWS SDK's default provider chain */
  readonly credentials?: AwsCredentials | AwsCredentialsProvider;
  /** Sign requests with SigV4 (service execute-api). @default true unless the endpoint is on loopback or a token is set */
  readonly sign?: boolean;
  /** Bearer token of a local stack started with SLUICE_TOKEN. @default process.env.SLUICE_TOKEN */
  readonly token?: string;
  /**
   * Produce and fetch on the per-partition routes (`/v1/topics/{topic}/partitions/{p}/batches`), which
   * IAM can limit to one topic, instead of the multi-partition `/v1/produce` and `/v1/fetch`.
   * @default false
   */
  readonly perTopicAuth?: boolean;
  /** Deadline of one HTTP attempt, in ms (fetches add their long-poll wait). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** Retries of retriable errors: exponential backoff with full jitter, bounded by count and time. */
  readonly retry?: RetryOptions;
  /** Connection pool settings (keep-alive is always on), or your own http(s).Agent. */
  readonly agent?: TransportOptions['agent'];
  /** Send requests with this fetch implementation instead of node:http. @default node:http */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * The Lambda function URLs of a deployment with `dataPath: 'functionUrls'` (its `ProduceUrl` and
   * `FetchUrl` outputs): produce and fetch go there, signed for service `lambda`, without API Gateway's
   * per-request fee; admin and group requests still go to `endpoint`.
   * @default none: everything through `endpoint`
   */
  readonly functionUrls?: FunctionUrls;
  /**
   * Called before each retry of a request, with the error and the backoff: to say that the server is
   * unavailable while the client rides it out (`sluice consume --follow` does). @default none
   */
  readonly onRetry?: TransportOptions['onRetry'];
}

/**
 * A Sluice client: make producers, consumers and an admin from it. Each gets its own keep-alive
 * connection pool, closed by its `disconnect()`.
 *
 * @example
 * ```ts
 * import { Sluice } from 'sluice/client';
 *
 * const sluice = new Sluice({ endpoint: 'http://127.0.0.1:8092' });
 * const producer = sluice.producer();
 * await producer.send({ topic: 'orders', messages: [{ key: 'user-1', value: 'hello' }] });
 * await producer.disconnect();
 * ```
 */
export class Sluice {
  readonly endpoint: string;
  private readonly options: TransportOptions;
  private readonly perTopicAuth: boolean;

  constructor(config: SluiceConfig = {}, env: NodeJS.ProcessEnv = process.env) {
    const endpoint = config.endpoint ?? env.SLUICE_ENDPOINT;
    if (!endpoint) {
      throw new RangeError('endpoint is required: pass { endpoint } or set SLUICE_ENDPOINT');
    }
    const token = config.token ?? (env.SLUICE_TOKEN || undefined);
    this.options = {
      endpoint,
      ...(config.region ? { region: config.region } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      ...(config.sign !== undefined ? { sign: config.sign } : {}),
      ...(token ? { token } : {}),
      ...(config.requestTimeoutMs ? { requestTimeoutMs: config.requestTimeoutMs } : {}),
      ...(config.retry ? { retry: config.retry } : {}),
      ...(config.agent ? { agent: config.agent } : {}),
      ...(config.fetch ? { fetch: config.fetch } : {}),
      ...(config.functionUrls ? { functionUrls: config.functionUrls } : {}),
      ...(config.onRetry ? { onRetry: config.onRetry } : {}),
    };
    this.perTopicAuth = config.perTopicAuth ?? false;
    // Validates the endpoint, region and auth settings now rather than at the first request.
    const probe = new Transport(this.options);
    this.endpoint = probe.endpoint;
    probe.close();
  }

  /**
   * A producer: batching, compression and idempotent retries.
   *
   * @example
   * ```ts
   * const producer = sluice.producer({ lingerMs: 20, compression: 'gzip' });
   * ```
   */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(new Transport(this.options), options, this.perTopicAuth);
  }

  /**
   * A consumer: with a `groupId`, one member of a consumer group; without, it reads the partitions you
   * assign (or all partitions of the topics it subscribes to).
   *
   * @example
   * ```ts
   * const consumer = sluice.consumer({ groupId: 'billing', sessionTimeoutMs: 15_000 });
   * ```
   */
  consumer(options: ConsumerOptions = {}): Consumer {
    return new Consumer(new Transport(this.options), options, this.perTopicAuth);
  }

  /**
   * The admin client: topics, offsets and groups.
   *
   * @example
   * ```ts
   * const admin = sluice.admin();
   * await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 6 }] });
   * ```
   */
  admin(): Admin {
    return new Admin(new Transport(this.options));
  }
}
