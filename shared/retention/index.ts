export { runCleanup } from './cleanup';
export { collectObjects, SEGMENT_PREFIX } from './collect';
export type { CleanupDeps, CleanupHooks, CleanupStep, CleanupSummary } from './context';
export type { CleanupOptions, MergeOptions } from './options';
export { resolveCleanupOptions } from './options';
