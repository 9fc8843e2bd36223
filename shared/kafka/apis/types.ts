import type { Services } from '../../api/services';
import type { PartitionError, ProducePartitionRequest, ProducePartitionResult } from '../../log/types';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';

/**
 * One Kafka API: its key, the versions it implements, and the three steps the server runs for each
 * request (decode the body, handle it, encode the answer). ApiVersions advertises exactly
 * [minVersion, maxVersion] of every entry of KAFKA_APIS.
 */
// biome-ignore lint/suspicious/noExplicitAny: the list of every API holds APIs of different request types
export interface KafkaApi<Req = any, Res = any> {
  /** Kafka ApiKey, e.g. 11 for JoinGroup. */
  readonly key: number;
  /** Kafka's name, e.g. 'JoinGroup'. */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version (compact encodings, tagged fields); Infinity if none. */
  readonly flexibleFrom: number;
  /** Body only; the header is already read. Throw KafkaProtocolError for malformed input. */
  decode(reader: KafkaReader, version: number): Req;
  /** Return NO_RESPONSE to answer nothing (Produce with acks=0). */
  handle(request: Req, context: RequestContext): Promise<Res | typeof NO_RESPONSE>;
  /** Body only. */
  encode(writer: KafkaWriter, response: Res, version: number): void;
  /**
   * The answer when handle throws: the API's generic top-level error. Without it the server closes the
   * connection, as Kafka does for a request it cannot answer.
   */
  errorResponse?(request: Req, errorCode: number, version: number): Res;
}

/** A handler returns this to send no response at all (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('NO_RESPONSE');

export interface RequestContext {
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** The connection's remote address, for DescribeGroups. */
  readonly clientHost: string;
  readonly connection: { readonly id: number; readonly closed: AbortSignal };
  readonly listener: ListenerContext;
}

/** Appends produce parts, possibly gathered with other requests' into one object (gatherer.ts). */
export interface ProduceSink {
  produce(parts: readonly ProducePartitionRequest[]): Promise<(ProducePartitionResult | PartitionError)[]>;
}

/** What the listener reports for operators: connections it closed, and failures clients only see as codes. */
export type KafkaListenerEvent =
  | { readonly type: 'closed'; readonly connection: number; readonly reason: string }
  | {
      readonly type: 'handler-error';
      readonly connection: number;
      readonly api: string;
      readonly error: unknown;
    }
  | {
      readonly type: 'partition-error';
      readonly api: string;
      readonly topic: string;
      readonly partition: number;
      readonly error: unknown;
    };

export interface ListenerContext {
  /** shared/api/services.ts: the one composition root. */
  readonly services: Services;
  readonly nodeId: number;
  readonly advertised: { readonly host: string; readonly port: number };
  readonly clusterId: string;
  readonly now: () => number;
  /** What the server dispatches on and ApiVersions advertises: KAFKA_APIS unless a test narrows it. */
  readonly apis: readonly KafkaApi[];
  /** Where Produce sends its batches: the listener's gatherer. */
  readonly produce: ProduceSink;
  /** @default nothing is reported */
  readonly log?: (event: KafkaListenerEvent) => void;
}
