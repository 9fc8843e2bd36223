/**
 * This process's appends to one partition, pipelined in arrival order.
 *
 * The protocol copes with appenders that contend (design §4), but between appends of one process
 * contention buys nothing: an appender whose advance finds an earlier range still open polls the head
 * until it closes (more DynamoDB calls, and latency in steps of its backoff). Running them wholly one
 * after another avoided that, but made each append wait for the earlier one's three round trips. So
 * an append here goes through two gates:
 *
 *   reserve  (and, for the idempotent producer, the claim) once the earlier append has reserved and
 *            claimed, so offsets and sequences follow arrival order;
 *   commit   at once, beside the earlier appends' commits;
 *   advance  once every earlier append has advanced the mark or ended, so the advance finds the mark
 *            at its base and succeeds the first time; and it carries the mark over the later appends
 *            that have committed by then, which then answer without an advance of their own (a group
 *            commit: one advance for several appends).
 *
 * Appends from other processes still contend, as the protocol expects; a Lambda serves one request at
 * a time, so there nothing changes.
 */

/** A committed range waiting for the mark: [base, end), with the open-range ids its reserve recorded. */
export interface CommittedRange {
  readonly base: number;
  readonly end: number;
  readonly ids: readonly string[];
}

/** One append's place in its partition's pipeline. */
export interface AppendTurn {
  /** Lets the next append reserve: call once this one's offsets are reserved (and claimed). */
  reserved(): void;
  /** This append committed its range: an earlier append's advance may carry the mark over it. */
  committed(range: CommittedRange): void;
  /** Resolves once every earlier append of this process to the partition has advanced or ended. */
  readonly earlierAdvanced: Promise<void>;
  /** A later append of this process to the partition is under way (it advances right after this one). */
  readonly followed: boolean;
  /**
   * The ranges of the later appends committed contiguously from `end`, for this append's advance to
   * carry the mark over too (their appenders are waiting for it); `carriedOver` once it did.
   */
  followers(end: number): CommittedRange[];
  carriedOver(ranges: readonly CommittedRange[]): void;
  /** An earlier append's advance carried the mark over this one's committed range: it need not advance. */
  readonly carried: boolean;
}

class Turn implements AppendTurn {
  next: Turn | undefined;
  carried = false;
  private range: CommittedRange | undefined;

  constructor(
    readonly reserved: () => void,
    readonly earlierAdvanced: Promise<void>,
  ) {}

  get followed(): boolean {
    return this.next !== undefined;
  }

  committed(range: CommittedRange): void {
    this.range = range;
  }

  followers(end: number): CommittedRange[] {
    const ranges: CommittedRange[] = [];
    for (let turn = this.next; turn?.range && turn.range.base === end; turn = turn.next) {
      ranges.push(turn.range);
      end = turn.range.end;
    }
    return ranges;
  }

  carriedOver(ranges: readonly CommittedRange[]): void {
    let turn = this.next;
    for (const range of ranges) {
      if (turn?.range !== range) return;
      turn.carried = true;
      turn = turn.next;
    }
  }
}

interface Tail {
  readonly reserved: Promise<void>;
  readonly advanced: Promise<void>;
  readonly turn: Turn;
}

const DONE = Promise.resolve();

export class AppendPipeline {
  /** Per partition, the last append this process started there. */
  private readonly tails = new Map<string, Tail>();

  /** Partitions with appends under way (for tests). */
  get size(): number {
    return this.tails.size;
  }

  /** Runs `append` in its turn; both gates open for the next one when it ends, however it ends. */
  run<T>(logId: string, append: (turn: AppendTurn) => Promise<T>): Promise<T> {
    const earlier = this.tails.get(logId);
    let openReserve!: () => void;
    let ended!: () => void;
    const reserved = new Promise<void>((resolve) => {
      openReserve = resolve;
    });
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const earlierAdvanced = earlier?.advanced ?? DONE;
    const turn = new Turn(openReserve, earlierAdvanced);
    if (earlier) earlier.turn.next = turn;
    // This append counts as advanced only once every earlier one has too: the gate is a chain.
    const tail: Tail = {
      reserved,
      advanced: Promise.all([earlierAdvanced, end]).then(() => undefined),
      turn,
    };
    this.tails.set(logId, tail);
    const run = (earlier?.reserved ?? DONE).then(() => append(turn));
    const settle = () => {
      openReserve();
      ended();
      if (this.tails.get(logId) === tail) this.tails.delete(logId);
    };
    run.then(settle, settle);
    return run;
  }
}
