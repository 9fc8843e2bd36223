/**
 * Named crash points in the append path. Tests install a hook that throws at one of them to play an
 * appender that dies there (a Lambda timing out or killed mid-request); production installs none.
 */
export type CrashPoint =
  | 'after-object-put'
  | 'after-reserve'
  | 'after-claim'
  | 'after-abort'
  | 'after-commit'
  | 'after-advance';

export interface FaultHooks {
  /** Called as the append passes each point; throwing simulates the process dying there. */
  readonly crash?: (point: CrashPoint, logId: string) => void;
}

/** What a crash hook throws: never caught or translated by the log. */
export class SimulatedCrash extends Error {
  constructor(readonly point: CrashPoint) {
    super(`simulated crash ${point}`);
    this.name = 'SimulatedCrash';
  }
}
