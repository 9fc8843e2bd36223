import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { createServices } from '../shared/app';
import { storageConfigFromEnv } from '../shared/config';
import { type CleanupDeps, type CleanupSummary, runCleanup } from '../shared/retention';
import { createAwsClients } from '../shared/store/aws-clients';

const logger = new Logger({ serviceName: 'sluice' });
let deps: CleanupDeps | undefined;

/** Share of the remaining run time a pass may plan for: it stops between steps, and a step may run on. */
const TIME_SHARE = 0.7;

/**
 * The scheduled cleanup (design §7): one bounded pass of retention, merging and object collection per
 * invocation, resuming where the last one stopped. A pass cut short by the timeout loses nothing: every
 * step is conditional and idempotent, and the next scheduled run is the retry.
 */
export const handler = async (_event?: ScheduledEvent, context?: Context): Promise<CleanupSummary> => {
  if (!deps) {
    const config = storageConfigFromEnv();
    deps = createServices(config, createAwsClients(config)).cleanup;
  }
  const remaining = context?.getRemainingTimeInMillis() ?? 60_000;
  const summary = await runCleanup(deps, {
    maxDurationMs: Math.max(1000, Math.floor(remaining * TIME_SHARE)),
  });
  logger.info('cleanup pass', { ...summary });
  return summary;
};
