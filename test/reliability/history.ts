/**
 * The history of a reliability run, as Jepsen records one: every client operation is an `invoke`
 * event followed by its completion, `ok`, `fail` (a clear rejection: nothing was written) or `info`
 * (a timeout, a 5xx, a reset: the outcome is unknown). Each process runs one operation at a time, so a
 * completion pairs with the last invoke of its process. Events are numbered in the order they
 * happened; "A before B" means A's completion came before B's invoke.
 */

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/**
 * send: a producer's batch for one partition (a multi-partition request is recorded as one send per
 * partition, invoked and completed together); poll: a fetch of one partition; process: a group
 * consumer handed one record to its application; join/heartbeat/commit/leave: group membership.
 */
export type OpName = 'send' | 'poll' | 'process' | 'join' | 'heartbeat' | 'commit' | 'leave';

export interface ProducerFields {
  readonly id: number;
  readonly epoch: number;
  readonly seq: number;
}

export interface HistoryEvent {
  readonly index: number;
  /** ms since the recorder started (performance.now based). */
  readonly time: number;
  readonly process: string;
  readonly type: EventType;
  readonly op: OpName;
  readonly topic?: string;
  readonly partition?: number;
  /** send: the batch's values in order (each a unique id); process: the value processed. */
  readonly values?: readonly string[];
  /**
   * send ok: the base offset (-1: a duplicate of an older batch, answered without offsets);
   * poll invoke: the offset asked; commit: the offset committed; process: the record's offset.
   */
  readonly offset?: number;
  /** poll ok: the records returned at or after the offset asked, as [offset, value]. */
  readonly records?: readonly (readonly [number, string])[];
  /** poll ok: the high-water mark, log start offset and next offset the answer carried. */
  readonly hwm?: number;
  readonly logStartOffset?: number;
  readonly nextOffset?: number;
  readonly maxWaitMs?: number;
  readonly producer?: ProducerFields;
  readonly group?: string;
  readonly member?: string;
  readonly generation?: number;
  /** join/heartbeat ok: the partitions assigned; heartbeat invoke: the partitions owned. */
  readonly partitions?: readonly number[];
  /** fail/info: the error code (or the network error) seen. */
  readonly error?: string;
  /** poll ok: the batches returned did not decode (a partial or corrupt batch returned as success). */
  readonly corrupt?: string;
}

export type EventFields = Omit<HistoryEvent, 'index' | 'time' | 'process' | 'type' | 'op'>;

/** An invoke paired with its completion; an operation still open at the end counts as `info`. */
export interface Op {
  readonly process: string;
  readonly op: OpName;
  readonly type: Exclude<EventType, 'invoke'>;
  readonly invoke: HistoryEvent;
  readonly completion: HistoryEvent | undefined;
}

/** Records a history. One instance per run; processes are plain names. */
export class Recorder {
  readonly events: HistoryEvent[] = [];
  private readonly open = new Map<string, HistoryEvent>();
  private readonly started = performance.now();
  private invoked = 0;

  private push(process: string, type: EventType, op: OpName, fields: EventFields): HistoryEvent {
    const event: HistoryEvent = {
      ...fields,
      index: this.events.length,
      time: Math.round((performance.now() - this.started) * 10) / 10,
      process,
      type,
      op,
    };
    this.events.push(event);
    return event;
  }

  invoke(process: string, op: OpName, fields: EventFields = {}): HistoryEvent {
    if (this.open.has(process)) throw new Error(`process ${process} already has an operation open`);
    const event = this.push(process, 'invoke', op, fields);
    this.invoked++;
    this.open.set(process, event);
    return event;
  }

  complete(process: string, type: Exclude<EventType, 'invoke'>, fields: EventFields = {}): HistoryEvent {
    const invoked = this.open.get(process);
    if (!invoked) throw new Error(`process ${process} has no operation open`);
    this.open.delete(process);
    return this.push(process, type, invoked.op, fields);
  }

  /** Operations invoked so far. */
  get operations(): number {
    return this.invoked;
  }
}

/** Pairs invokes with completions, per process, in history order. */
export function pairOps(events: readonly HistoryEvent[]): Op[] {
  const open = new Map<string, HistoryEvent>();
  const ops: Op[] = [];
  const order = new Map<HistoryEvent, number>();
  for (const event of events) {
    if (event.type === 'invoke') {
      const previous = open.get(event.process);
      if (previous) {
        // A process that invoked again without completing: its earlier operation's outcome is unknown.
        ops[order.get(previous)!] = {
          process: previous.process,
          op: previous.op,
          type: 'info',
          invoke: previous,
          completion: undefined,
        };
      }
      open.set(event.process, event);
      order.set(event, ops.length);
      ops.push(undefined as unknown as Op);
      continue;
    }
    const invoke = open.get(event.process);
    if (!invoke) continue; // a completion without an invoke is ignored
    open.delete(event.process);
    ops[order.get(invoke)!] = {
      process: event.process,
      op: invoke.op,
      type: event.type,
      invoke,
      completion: event,
    };
  }
  for (const invoke of open.values()) {
    ops[order.get(invoke)!] = {
      process: invoke.process,
      op: invoke.op,
      type: 'info',
      invoke,
      completion: undefined,
    };
  }
  return ops;
}

/** Where an op ended: its completion index, or +∞ when it never completed. */
export const endOf = (op: Op): number => op.completion?.index ?? Number.POSITIVE_INFINITY;
/** The field as the completion has it, else as the invoke had it. */
export function field<K extends keyof HistoryEvent>(op: Op, key: K): HistoryEvent[K] {
  return op.completion?.[key] ?? op.invoke[key];
}
