import { type LocalStack, type LocalStackOptions, startLocalStack } from './stack';

/**
 * The local stack as tests and benchmarks start it beside their own code: a free port, nothing kept,
 * no request log, no environment read, and no cleanup pass on a timer (they run cleanup when they
 * mean to). `options` override any of these.
 */
export function startEphemeralStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({ port: 0, inMemory: true, quiet: true, env: {}, cleanupIntervalMs: 0, ...options });
}
