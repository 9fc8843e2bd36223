/**
 * Test support for the Kafka listener: the local stack in-process (in memory, ephemeral ports) with a
 * Kafka listener on its services, and a raw wire client that sends hand-built frames.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { type KafkaMessage, Sluice } from '../../client';
import { KafkaListener, type KafkaListenerOptions } from '../../shared/kafka/listener';
import { KafkaReader } from '../../shared/kafka/protocol/reader';
import { KafkaWriter } from '../../shared/kafka/protocol/writer';
import { startEphemeralStack } from '../../shared/local/ephemeral';
import type { LocalStack } from '../../shared/local/stack';
import { startedForAll } from '../support/lifecycle';

export interface KafkaTestStack {
  readonly stack: LocalStack;
  readonly listener: KafkaListener;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly bootstrap: string;
  /** S3 PUTs of segment objects since start (the log's SegmentStore, counted). */
  readonly segmentPuts: () => number;
  stop(): Promise<void>;
}

export async function startKafkaTestStack(
  options: Partial<Omit<KafkaListenerOptions, 'services'>> = {},
): Promise<KafkaTestStack> {
  const stack = await startEphemeralStack();
  let puts = 0;
  const segments = stack.services.log.segments;
  const put = segments.put.bind(segments);
  segments.put = (...args: Parameters<typeof put>) => {
    puts++;
    return put(...args);
  };
  const listener = new KafkaListener({ services: stack.services, host: '127.0.0.1', port: 0, ...options });
  const { port } = await listener.start();
  return {
    stack,
    listener,
    port,
    bootstrap: `127.0.0.1:${port}`,
    segmentPuts: () => puts,
    async stop() {
      await listener.close();
      await stack.stop();
    },
  };
}

/** The Kafka test stack for the enclosing describe or file: started before its tests, stopped after them. */
export function kafkaTestStackForAll(
  options: Partial<Omit<KafkaListenerOptions, 'services'>> = {},
): KafkaTestStack {
  return startedForAll(
    () => startKafkaTestStack(options),
    (kafka) => kafka.stop(),
  );
}

export const uniqueTopic = (prefix = 't') => `${prefix}-${randomBytes(4).toString('hex')}`;

/** One request as bytes: header v1 (classic) or v2 (flexible), then the body. */
export function requestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: (w: KafkaWriter) => void,
  options: { flexible?: boolean; clientId?: string | null } = {},
): Buffer {
  const header = new KafkaWriter();
  header
    .int32(0)
    .int16(apiKey)
    .int16(apiVersion)
    .int32(correlationId)
    .nullableString(options.clientId ?? 'test');
  if (options.flexible) header.uvarint(0);
  const w = new KafkaWriter({ flexible: options.flexible ?? false });
  body(w);
  const frame = Buffer.concat([header.toBuffer(), w.toBuffer()]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/**
 * A raw connection: write any bytes, read whole response frames. `closed` resolves when the server
 * closes the connection.
 */
export class RawKafkaConnection {
  private buffered = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private frames: Buffer[] = [];
  readonly closed: Promise<void>;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number): Promise<RawKafkaConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawKafkaConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame (without its size), or rejects when the connection closes first or after timeoutMs. */
  next(timeoutMs = 5000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response in time')), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error('connection closed'));
      });
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  /** Sends a request and reads its answer: a reader past the response header. */
  async request(
    apiKey: number,
    apiVersion: number,
    body: (w: KafkaWriter) => void,
    options: { flexible?: boolean; responseHeaderV1?: boolean } = {},
  ): Promise<{ correlationId: number; body: KafkaReader }> {
    const correlationId = Math.floor(Math.random() * 1_000_000);
    this.write(requestFrame(apiKey, apiVersion, correlationId, body, options));
    const frame = await this.next();
    const r = new KafkaReader(frame, { flexible: options.flexible ?? false });
    const got = r.int32();
    if (options.responseHeaderV1 ?? options.flexible) r.taggedFields();
    return { correlationId: got === correlationId ? got : -1, body: r };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a real client (kcat, python3) without blocking the event loop (the listener runs in this
 * process), killed after timeoutMs.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** kcat against the listener; `-X` settings that keep runs short and Java-compatible partitioning. */
export function kcat(
  bootstrap: string,
  args: readonly string[],
  input?: string | Buffer,
  timeoutMs = 20_000,
) {
  return run(
    'kcat',
    [
      '-b',
      bootstrap,
      '-X',
      'partitioner=murmur2_random',
      '-X',
      'topic.metadata.refresh.interval.ms=60000',
      ...args,
    ],
    { ...(input === undefined ? {} : { input }), timeoutMs },
  );
}

/** Reads `count` records with the Sluice SDK (HTTP door) from the partitions given, by assign. */
export async function readWithSdk(
  url: string,
  topic: string,
  partitions: readonly number[],
  count: number,
  timeoutMs = 15_000,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const sluice = new Sluice({ endpoint: url }, {});
  const consumer = sluice.consumer({ maxWaitMs: 200 });
  consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));
  const got: { partition: number; message: KafkaMessage }[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const timer = setTimeout(done, timeoutMs);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, message });
      if (got.length >= count) done();
    },
  });
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return got;
}
