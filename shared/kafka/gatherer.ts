/**
 * Gathers the produce parts of every connection of one listener for a short window (lingerMs, or until
 * maxFlushBytes are waiting) and writes them as ONE S3 object with one append per partition run
 * (LogService.produceGathered); every waiting Produce is then answered with its own base offsets.
 * S3 PUTs therefore follow the flush rate, not the request rate.
 *
 * Flushes run one at a time, in order: a connection's second Produce to a partition can never be
 * appended before its first (Kafka answers one request per connection at a time; we keep the order it
 * would give). Requests arriving while a flush runs wait for the next one, which gathers them all: a
 * window whose linger ends during a flush stays open until that flush is done (only maxFlushBytes
 * closes it sooner), so a slow flush makes the next one bigger, never a queue of small ones.
 */
import type { PartitionError, ProducePartitionRequest, ProducePartitionResult } from '../log/types';
import type { ProduceSink } from './apis/types';

export interface GatherOptions {
  /** How long the first part of a window waits for others. 0: only what arrives in the same tick. @default 10 */
  readonly lingerMs: number;
  /** A window is flushed as soon as this many bytes of batches wait. @default 4 MiB */
  readonly maxFlushBytes: number;
}

export const DEFAULT_GATHER_OPTIONS: GatherOptions = { lingerMs: 10, maxFlushBytes: 4 * 1024 * 1024 };

/** What the gatherer needs of the log. */
export interface GatheringLog {
  produceGathered(
    parts: readonly ProducePartitionRequest[],
  ): Promise<(ProducePartitionResult | PartitionError)[]>;
}

type Result = ProducePartitionResult | PartitionError;

interface Waiting {
  readonly parts: readonly ProducePartitionRequest[];
  readonly resolve: (results: Result[]) => void;
  readonly reject: (err: unknown) => void;
}

interface Window {
  readonly waiting: Waiting[];
  bytes: number;
}

export interface GatherStats {
  /** Flushes run (each one S3 object). */
  readonly flushes: number;
  /** Produce calls answered. */
  readonly requests: number;
  readonly parts: number;
  readonly bytes: number;
}

export class ProduceGatherer implements ProduceSink {
  private open: Window = { waiting: [], bytes: 0 };
  /** Windows closed and waiting their turn. */
  private readonly queue: Window[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The open window's linger ended while a flush ran: flush it as soon as that one is done. */
  private due = false;
  private stats = { flushes: 0, requests: 0, parts: 0, bytes: 0 };

  constructor(
    private readonly log: GatheringLog,
    private readonly options: GatherOptions = DEFAULT_GATHER_OPTIONS,
  ) {}

  get counters(): GatherStats {
    return { ...this.stats };
  }

  /** Resolves with one result per part, in order, once the window holding them is written. */
  produce(parts: readonly ProducePartitionRequest[]): Promise<Result[]> {
    if (parts.length === 0) return Promise.resolve([]);
    const bytes = parts.reduce((sum, p) => sum + p.batches.length, 0);
    if (this.open.waiting.length > 0 && this.open.bytes + bytes > this.options.maxFlushBytes) this.seal();
    return new Promise<Result[]>((resolve, reject) => {
      this.open.waiting.push({ parts, resolve, reject });
      this.open.bytes += bytes;
      if (this.open.bytes >= this.options.maxFlushBytes) this.seal();
      else if (!this.timer) {
        this.timer =
          this.options.lingerMs > 0
            ? setTimeout(() => this.lingered(), this.options.lingerMs)
            : (setImmediate(() => this.lingered()) as unknown as NodeJS.Timeout);
      }
    });
  }

  /** Answers everything gathered so far. */
  async close(): Promise<void> {
    this.seal();
    while (this.running) await this.running;
  }

  private lingered(): void {
    this.timer = undefined;
    if (this.running) this.due = true;
    else this.seal();
  }

  /** Closes the open window and queues it for writing. */
  private seal(): void {
    this.due = false;
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.open.waiting.length === 0) return;
    this.queue.push(this.open);
    this.open = { waiting: [], bytes: 0 };
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.queue.length === 0 && this.due) this.seal();
        const window = this.queue.shift();
        if (!window) break;
        await this.flush(window);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async flush(window: Window): Promise<void> {
    const all = window.waiting.flatMap((w) => w.parts);
    this.stats.flushes++;
    this.stats.requests += window.waiting.length;
    this.stats.parts += all.length;
    this.stats.bytes += window.bytes;
    let results: Result[];
    try {
      results = await this.log.produceGathered(all);
    } catch (err) {
      for (const w of window.waiting) w.reject(err);
      return;
    }
    let at = 0;
    for (const w of window.waiting) {
      w.resolve(results.slice(at, at + w.parts.length));
      at += w.parts.length;
    }
  }
}
