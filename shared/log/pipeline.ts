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
 *            at its base and succeeds the first time.
 *
 * Appends from other processes still contend, as the protocol expects; a Lambda serves one request at
 * a time, so there nothing changes.
 */

/** One append's place in its partition's pipeline. */
export interface AppendTurn {
  /** Lets the next append reserve: call once this one's offsets are reserved (and claimed). */
  reserved(): void;
  /** Resolves once every earlier append of this process to the partition has advanced or ended. */
  readonly earlierAdvanced: Promise<void>;
  /** A later append of this process to the partition is under way: it moves the mark over its own range. */
  readonly followed: boolean;
}

interface Tail {
  readonly reserved: Promise<void>;
  readonly advanced: Promise<void>;
  readonly turn: { followed: boolean };
}

const DONE = Promise.resolve();

export class AppendPipeline {
  /** Per partition, the last append this process started there. */
  private readonly tails = new Map<string, Tail>();

  /** Appends under way, counted over all partitions (for tests). */
  get size(): number {
    return this.tails.size;
  }

  /** Runs `append` in its turn; both gates open for the next one when it ends, however it ends. */
  run<T>(logId: string, append: (turn: AppendTurn) => Promise<T>): Promise<T> {
    const earlier = this.tails.get(logId);
    if (earlier) earlier.turn.followed = true;
    let openReserve!: () => void;
    let ended!: () => void;
    const reserved = new Promise<void>((resolve) => {
      openReserve = resolve;
    });
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const earlierAdvanced = earlier?.advanced ?? DONE;
    const turn = { followed: false, reserved: openReserve, earlierAdvanced };
    // This append counts as advanced only once every earlier one has too: the gate is a chain.
    const tail: Tail = { reserved, advanced: Promise.all([earlierAdvanced, end]).then(() => undefined), turn };
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
