/**
 * The shared model: limits, names, topics and the log's requests and results. It imports nothing but
 * shared/errors.ts, so every layer (codec, store, log, groups, api, kafka, client) may depend on it and
 * it depends on none of them.
 */
export { LOG_LIMITS } from './limits';
export * from './names';
export type * from './requests';
export type * from './topic';
