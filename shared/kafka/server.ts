/**
 * The Kafka protocol server: cuts each connection's bytes into frames, dispatches every request to its
 * API (apis/index.ts), and writes the answers back in request order.
 *
 * Requests of one connection are handled concurrently (clients pipeline, and a Produce waits for its
 * gathered flush) but each starts in arrival order, synchronously up to its first await, so the order
 * in which one connection's Produce requests reach the gatherer is the order it sent them. Answers are
 * written in request order, as the protocol requires.
 *
 * What Kafka closes the connection for, this server closes it for: a frame that is malformed or over
 * the size limit, an unknown API key, an unsupported version of any API but ApiVersions, a body that
 * does not decode. Nothing else on the listener is affected, and a response is written whole or not at
 * all (it is encoded into one buffer first).
 */
import type net from 'node:net';
import { advertisedVersions, encodeApiVersionsResponse } from './apis/api-versions';
import type { KafkaApi, KafkaListenerEvent, ListenerContext, RequestContext } from './apis/types';
import { NO_RESPONSE } from './apis/types';
import { KAFKA_ERRORS, kafkaErrorCode } from './protocol/errors';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './protocol/frame';
import {
  API_VERSIONS_KEY,
  frameResponse,
  readRequestHeader,
  readRequestHeaderStart,
  responseHeaderVersion,
  responseWriter,
} from './protocol/headers';
import { KafkaProtocolError } from './protocol/reader';

export interface KafkaServerOptions {
  /** Largest request frame, in bytes. @default DEFAULT_MAX_FRAME_BYTES (8 MiB) */
  readonly maxFrameBytes?: number;
  /** Requests one connection may have in flight before the server stops reading from it. @default 64 */
  readonly maxInFlight?: number;
  /** A connection that stops halfway through a frame for this long is closed. @default 30000 */
  readonly stalledFrameMs?: number;
  /** A connection with nothing in flight and no traffic for this long is closed (Kafka's connections.max.idle.ms). @default 600000 */
  readonly idleMs?: number;
  /** Where the server reports what it closed and why. @default nothing */
  readonly log?: (event: KafkaServerEvent) => void;
}

export type KafkaServerEvent = KafkaListenerEvent;

/** A request the server cannot answer: close the connection. */
const CLOSE = Symbol('CLOSE');
type Outcome = Buffer | null | { [CLOSE]: string };

export class KafkaServer {
  private readonly apis = new Map<number, KafkaApi>();
  private readonly connections = new Set<KafkaConnection>();
  private nextId = 1;
  readonly options: Required<Omit<KafkaServerOptions, 'log'>> & Pick<KafkaServerOptions, 'log'>;

  constructor(
    readonly context: ListenerContext,
    options: KafkaServerOptions = {},
  ) {
    for (const api of context.apis) {
      if (this.apis.has(api.key)) throw new Error(`Two Kafka APIs with key ${api.key}`);
      this.apis.set(api.key, api);
    }
    this.options = {
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxInFlight: options.maxInFlight ?? 64,
      stalledFrameMs: options.stalledFrameMs ?? 30_000,
      idleMs: options.idleMs ?? 600_000,
      log: options.log,
    };
  }

  /** Serves one accepted socket until it closes. */
  accept(socket: net.Socket): void {
    const connection = new KafkaConnection(this.nextId++, socket, this);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every open connection. */
  closeAll(reason = 'listener closing'): void {
    for (const c of this.connections) c.close(reason);
  }

  /** One request frame (without its size prefix) to its answer. Never throws. */
  async dispatch(
    frame: Buffer,
    base: Omit<RequestContext, 'apiVersion' | 'correlationId' | 'clientId'>,
  ): Promise<Outcome> {
    let start: ReturnType<typeof readRequestHeaderStart>;
    try {
      start = readRequestHeaderStart(frame);
    } catch (err) {
      return { [CLOSE]: `malformed header: ${(err as Error).message}` };
    }
    const api = this.apis.get(start.apiKey);
    if (!api) return { [CLOSE]: `unknown API key ${start.apiKey}` };
    if (start.apiVersion < api.minVersion || start.apiVersion > api.maxVersion) {
      if (api.key === API_VERSIONS_KEY) return this.unsupportedApiVersions(start.correlationId);
      return {
        [CLOSE]: `${api.name} v${start.apiVersion} is not supported (v${api.minVersion}–v${api.maxVersion})`,
      };
    }
    const version = start.apiVersion;
    const flexible = version >= api.flexibleFrom;
    let request: unknown;
    let clientId: string | null;
    try {
      const { header, body } = readRequestHeader(frame, flexible);
      clientId = header.clientId;
      request = api.decode(body, version);
    } catch (err) {
      if (err instanceof KafkaProtocolError || err instanceof RangeError) {
        return { [CLOSE]: `malformed ${api.name} v${version}: ${err.message}` };
      }
      return { [CLOSE]: `${api.name} v${version} failed to decode: ${String(err)}` };
    }
    const context: RequestContext = {
      ...base,
      apiVersion: version,
      correlationId: start.correlationId,
      clientId,
    };
    let response: unknown;
    try {
      response = await api.handle(request, context);
    } catch (err) {
      this.options.log?.({
        type: 'handler-error',
        connection: base.connection.id,
        api: api.name,
        error: err,
      });
      if (!api.errorResponse) return { [CLOSE]: `${api.name} failed: ${String(err)}` };
      response = api.errorResponse(request, kafkaErrorCode(err), version);
    }
    if (response === NO_RESPONSE) return null;
    try {
      const w = responseWriter(start.correlationId, responseHeaderVersion(api.key, flexible), flexible);
      api.encode(w, response, version);
      return frameResponse(w);
    } catch (err) {
      this.options.log?.({
        type: 'handler-error',
        connection: base.connection.id,
        api: api.name,
        error: err,
      });
      return { [CLOSE]: `${api.name} v${version} response failed to encode: ${String(err)}` };
    }
  }

  /** KIP-511: an ApiVersions at a version we do not know is answered at v0 with the list we do. */
  private unsupportedApiVersions(correlationId: number): Buffer {
    const w = responseWriter(correlationId, 0, false);
    encodeApiVersionsResponse(
      w,
      {
        errorCode: KAFKA_ERRORS.UNSUPPORTED_VERSION,
        apiKeys: advertisedVersions(this.context.apis),
        throttleTimeMs: 0,
      },
      0,
    );
    return frameResponse(w);
  }
}

class KafkaConnection {
  private readonly decoder: FrameDecoder;
  private readonly abort = new AbortController();
  private readonly remoteHost: string;
  /** Answers in request order: each waits for the one before it. */
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private paused = false;
  private lastActivity = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly server: KafkaServer,
  ) {
    this.decoder = new FrameDecoder(server.options.maxFrameBytes);
    this.remoteHost = socket.remoteAddress ?? 'unknown';
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close('socket error'));
    socket.once('close', () => {
      this.abort.abort();
      if (this.timer) clearInterval(this.timer);
    });
    const tick = Math.max(10, Math.min(server.options.stalledFrameMs, server.options.idleMs) / 4);
    this.timer = setInterval(() => this.checkTimeouts(), tick);
    this.timer.unref();
  }

  close(reason: string): void {
    if (this.socket.destroyed) return;
    this.server.options.log?.({ type: 'closed', connection: this.id, reason });
    this.abort.abort();
    this.socket.destroy();
  }

  private checkTimeouts(): void {
    const quiet = Date.now() - this.lastActivity;
    if (this.decoder.midFrame && quiet >= this.server.options.stalledFrameMs) {
      this.close(`stalled mid-frame for ${quiet} ms`);
    } else if (!this.decoder.midFrame && this.inFlight === 0 && quiet >= this.server.options.idleMs) {
      this.close(`idle for ${quiet} ms`);
    }
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.close((err as Error).message);
      return;
    }
    for (const frame of frames) this.submit(frame);
  }

  private submit(frame: Buffer): void {
    if (this.socket.destroyed) return;
    this.inFlight++;
    if (this.inFlight >= this.server.options.maxInFlight && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    const outcome = this.server.dispatch(frame, {
      clientHost: this.remoteHost,
      connection: { id: this.id, closed: this.abort.signal },
      listener: this.server.context,
    });
    this.tail = this.tail.then(async () => {
      const result = await outcome;
      if (Buffer.isBuffer(result) && !this.socket.destroyed) {
        // A request counts as in flight until its answer has left: a client that stops reading its
        // answers is stopped from sending more (as Kafka mutes such a channel), so unread answers
        // cannot pile up in memory beyond maxInFlight.
        if (!this.socket.write(result)) await drainedOrClosed(this.socket);
      }
      this.inFlight--;
      this.lastActivity = Date.now();
      if (this.paused && this.inFlight < this.server.options.maxInFlight) {
        this.paused = false;
        this.socket.resume();
      }
      if (result !== null && !Buffer.isBuffer(result)) this.close(result[CLOSE]);
    });
  }
}

/** Resolves once the socket's write buffer has drained, or the socket has closed. */
function drainedOrClosed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}
