import { type CrashPoint, type FaultHooks, SimulatedCrash } from '../../shared/log/faults';

/**
 * Crash hooks that kill one append at `point` while armed, and disarm: an appender dying there once.
 * Pass it as the log's `faults`; set `armed` when the append that dies is next.
 */
export class CrashOnce implements FaultHooks {
  constructor(
    private readonly point: CrashPoint,
    public armed = true,
  ) {}

  readonly crash = (point: CrashPoint): void => {
    if (this.armed && point === this.point) {
      this.armed = false;
      throw new SimulatedCrash(point);
    }
  };
}
