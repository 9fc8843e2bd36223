/**
 * Short versions of the consumer-group scenarios (F9–F12): members crash before committing, pause past
 * their session and commit as zombies, and are served by group services whose clocks disagree. The
 * checker holds the group to G1–G4: fenced zombies, commits that never go back, at-least-once
 * delivery from the last commit, one owner per partition at a time.
 */

import { describe } from 'vitest';
import { itRunsClean } from './support';

describe('Reliability: consumer groups', () => {
  itRunsClean(
    'F9–F11: crashes, pauses past the session and auto-commit keep delivery at-least-once and fencing intact',
    'F9',
    41,
  );
  itRunsClean('F12: with skewed clocks, fencing holds', 'F12', 42);
});
