/**
 * Short versions of the consumer-group scenarios (F9–F12): members crash before committing, pause past
 * their session and commit as zombies, and are served by group services whose clocks disagree. The
 * checker holds the group to G1–G4: fenced zombies, commits that never go back, at-least-once
 * delivery from the last commit, one owner per partition at a time.
 */

import { describe, it } from 'vitest';
import { expectCleanRun, SCENARIO_TIMEOUT_MS, seedFor } from './support';

describe('Reliability: consumer groups', () => {
  it(
    'F9–F11: crashes, pauses past the session and auto-commit keep delivery at-least-once and fencing intact',
    async () => {
      await expectCleanRun('F9', seedFor(41));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'F12: with skewed clocks, fencing holds',
    async () => {
      await expectCleanRun('F12', seedFor(42));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
