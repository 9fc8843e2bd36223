export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** Real time plus an adjustable skew: tests jump ahead by hours without waiting. */
export class TestClock {
  skew = 0;
  readonly now = () => Date.now() + this.skew;
  advance(ms: number) {
    this.skew += ms;
  }
}
