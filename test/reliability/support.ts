import { expect, it } from 'vitest';
import { formatViolations } from './checker';
import { type ScenarioResult, scenarioNamed } from './scenarios';

/** The seed of a short run: RELIABILITY_SEED replays another one. */
export const seedFor = (fallback: number) => Number(process.env.RELIABILITY_SEED ?? fallback);

/** Runs a scenario's short version and expects a clean history. */
export async function expectCleanRun(prefix: string, seed: number): Promise<ScenarioResult> {
  const result = await scenarioNamed(prefix).run({ seed, scale: 'short' });
  expect(formatViolations(result.violations), `${result.scenario}, seed ${seed}`).toBe('');
  expect(result.operations).toBeGreaterThan(0);
  return result;
}

/** Generous: the machine running the suite may be loaded. */
export const SCENARIO_TIMEOUT_MS = 180_000;

/**
 * A test that runs a scenario's short version with the seed `fallback` (or RELIABILITY_SEED) and expects a
 * clean history; with `faulted`, also that faults were injected (a run without any proves little).
 */
export function itRunsClean(
  title: string,
  prefix: string,
  fallback: number,
  options: { readonly faulted?: boolean } = {},
): void {
  it(
    title,
    async () => {
      const result = await expectCleanRun(prefix, seedFor(fallback));
      if (options.faulted) expect(result.faults).toBeGreaterThan(0);
    },
    SCENARIO_TIMEOUT_MS,
  );
}
