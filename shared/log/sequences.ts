import { SluiceError } from '../errors';
import type { ProducerState } from './ports';

/**
 * The idempotent producer's sequence rules (Kafka's ProducerAppendInfo.checkSequence), as pure
 * functions of the batch and the state stored for its producer on the partition.
 *
 * Sequences are Kafka's int32 and never wrap here. Kafka's producer wraps them to 0 after 2^31 − 1;
 * Sluice's codec refuses a batch whose sequences would (validateBatches), and the SDK producer starts a
 * new epoch first. So sequences compare as plain numbers, and the one check that an append's range of
 * sequences stays within int32 is checkSequenceRange.
 */

export const MAX_SEQUENCE = 2 ** 31 - 1;

/** The idempotent producer's fields of the batches of one append. */
export interface ProducerBatch {
  readonly producerId: number;
  readonly epoch: number;
  readonly baseSequence: number;
}

/** The sequence that follows `count` records from `sequence`. */
export const nextSequence = (sequence: number, count: number) => sequence + count;

/** Refuses an append whose sequences pass 2^31 − 1: they would have to wrap. */
export function checkSequenceRange(batch: ProducerBatch, count: number): void {
  const last = batch.baseSequence + count - 1;
  if (last > MAX_SEQUENCE) {
    throw new SluiceError(
      'INVALID_RECORD',
      `Producer ${batch.producerId} sent sequences ${batch.baseSequence} … ${last}, past 2^31 − 1; sequences do not wrap: start a new producer epoch instead`,
    );
  }
}

/** Whether `batch` is the producer's next as `state` records it (undefined: no state), as the claim's condition tests. */
export function isNext(state: ProducerState | undefined, batch: ProducerBatch): boolean {
  if (!state) return batch.baseSequence === 0;
  if (batch.epoch > state.epoch) return batch.baseSequence === 0;
  return batch.epoch === state.epoch && batch.baseSequence === state.nextSequence;
}

/** What to do with a batch, judged against the producer's state as stored. */
export type SequenceVerdict =
  /** The producer's next batch (or the first of a new producer or epoch): claim it. */
  | { readonly kind: 'next' }
  /** A retry of the producer's last batch (same first sequence and count). */
  | { readonly kind: 'duplicate-of-last'; readonly state: ProducerState }
  /** A retry of a batch before the last one. */
  | { readonly kind: 'older-duplicate'; readonly state: ProducerState }
  /** Fenced, unknown or out of order. */
  | { readonly kind: 'refused'; readonly error: SluiceError };

export function judgeSequence(
  state: ProducerState | undefined,
  batch: ProducerBatch,
  count: number,
): SequenceVerdict {
  const next = { kind: 'next' } as const;
  const refused = (error: SluiceError) => ({ kind: 'refused', error }) as const;
  const outOfOrder = (expected: number) =>
    refused(
      new SluiceError(
        'OUT_OF_ORDER_SEQUENCE',
        `Producer ${batch.producerId} sent sequence ${batch.baseSequence}, expected ${expected}`,
        { details: { expectedSequence: expected, receivedSequence: batch.baseSequence } },
      ),
    );
  if (!state) {
    if (batch.baseSequence === 0) return next; // a new producer, or its state was just expired
    return refused(
      new SluiceError(
        'UNKNOWN_PRODUCER_ID',
        `Partition has no state for producer ${batch.producerId}; its first batch must have sequence 0, but ${batch.baseSequence} was sent`,
        { details: { expectedSequence: 0, receivedSequence: batch.baseSequence } },
      ),
    );
  }
  if (batch.epoch < state.epoch) {
    return refused(
      new SluiceError(
        'INVALID_PRODUCER_EPOCH',
        `Producer ${batch.producerId} epoch ${batch.epoch} is fenced by epoch ${state.epoch}`,
        { details: { currentEpoch: state.epoch } },
      ),
    );
  }
  if (batch.epoch > state.epoch) return batch.baseSequence === 0 ? next : outOfOrder(0);
  if (batch.baseSequence === state.nextSequence) return next;
  if (batch.baseSequence === state.lastFirstSequence && count === state.lastCount) {
    return { kind: 'duplicate-of-last', state };
  }
  if (batch.baseSequence < state.lastFirstSequence) return { kind: 'older-duplicate', state };
  return outOfOrder(state.nextSequence);
}
