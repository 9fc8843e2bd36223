/**
 * A Kafka-protocol listener over Sluice's services: a transport, the protocol server, and the produce
 * gatherer shared by all of its connections. It keeps nothing another listener needs: any number may
 * run side by side against one stack, each advertising itself as the only broker.
 */
import { createHash } from 'node:crypto';
import type { Services } from '../api/services';
import type { StorageConfig } from '../config';
import { KAFKA_APIS } from './apis/index';
import type { KafkaApi, ListenerContext } from './apis/types';
import { DEFAULT_GATHER_OPTIONS, type GatherOptions, ProduceGatherer } from './gatherer';
import { KafkaServer, type KafkaServerOptions } from './server';
import { type KafkaTransport, TcpTransport } from './transport';

export const DEFAULT_KAFKA_HOST = '127.0.0.1';
export const DEFAULT_KAFKA_PORT = 9092;

export interface KafkaListenerOptions extends KafkaServerOptions, Partial<GatherOptions> {
  readonly services: Services;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 9092 */
  readonly port?: number;
  /** The address Metadata gives clients. @default the bound host and port */
  readonly advertise?: { readonly host: string; readonly port: number };
  /** Stable broker id of this listener in Metadata. @default 0 */
  readonly nodeId?: number;
  /** @default derived from nothing: 'sluice-local-cluster' hashed; pass clusterIdFor(config) */
  readonly clusterId?: string;
  /** @default KAFKA_APIS */
  readonly apis?: readonly KafkaApi[];
  /** @default plain TCP */
  readonly transport?: KafkaTransport;
  readonly now?: () => number;
}

/**
 * Kafka's cluster id is 16 bytes in URL-safe base64 (22 characters). Sluice derives it from the bucket
 * and tables, so every listener against one stack reports the same cluster.
 */
export function clusterIdFor(config: Pick<StorageConfig, 'bucket' | 'logTable' | 'topicsTable'>): string {
  const digest = createHash('sha256').update(
    `${config.bucket}\u0000${config.topicsTable}\u0000${config.logTable}`,
  );
  return digest.digest().subarray(0, 16).toString('base64url');
}

export class KafkaListener {
  readonly server: KafkaServer;
  readonly gatherer: ProduceGatherer;
  private readonly transport: KafkaTransport;
  private bound: { host: string; port: number } | undefined;
  private advertised: { host: string; port: number };

  constructor(private readonly options: KafkaListenerOptions) {
    this.transport = options.transport ?? new TcpTransport();
    this.gatherer = new ProduceGatherer(options.services.log, {
      lingerMs: options.lingerMs ?? DEFAULT_GATHER_OPTIONS.lingerMs,
      maxFlushBytes: options.maxFlushBytes ?? DEFAULT_GATHER_OPTIONS.maxFlushBytes,
    });
    this.advertised = options.advertise
      ? { ...options.advertise }
      : { host: options.host ?? DEFAULT_KAFKA_HOST, port: options.port ?? DEFAULT_KAFKA_PORT };
    const listener = this;
    const context: ListenerContext = {
      services: options.services,
      nodeId: options.nodeId ?? 0,
      get advertised() {
        return listener.advertised;
      },
      clusterId:
        options.clusterId ?? clusterIdFor({ bucket: 'sluice', topicsTable: 'topics', logTable: 'log' }),
      now: options.now ?? Date.now,
      apis: options.apis ?? KAFKA_APIS,
      produce: this.gatherer,
      ...(options.log ? { log: options.log } : {}),
    };
    this.server = new KafkaServer(context, options);
  }

  /** Binds and starts accepting; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const bound = await this.transport.listen(
      this.options.host ?? DEFAULT_KAFKA_HOST,
      this.options.port ?? DEFAULT_KAFKA_PORT,
      (socket) => this.server.accept(socket),
    );
    this.bound = bound;
    // With an ephemeral port and no explicit advertisement, clients must be sent to the port we got.
    if (!this.options.advertise)
      this.advertised = { host: this.options.host ?? DEFAULT_KAFKA_HOST, port: bound.port };
    return bound;
  }

  get address(): { host: string; port: number } {
    if (!this.bound) throw new Error('The listener is not started');
    return this.bound;
  }

  /** Stops accepting, answers what is gathered, then closes every connection. */
  async close(): Promise<void> {
    await this.transport.close();
    await this.gatherer.close();
    this.server.closeAll();
  }
}
