/** Checks of the options users pass to the client's constructors, with messages that state the limit and the value. */

/** An integer option within [min, max]; a RangeError that names it otherwise. */
export function intInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, but ${value} was provided`);
  }
  return value;
}
