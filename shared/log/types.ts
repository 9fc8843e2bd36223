/**
 * The log's model now lives in shared/model/ (dependency-free); this file re-exports it for the
 * importers not yet moved.
 */
export { LOG_LIMITS } from '../model/limits';
export type * from '../model/requests';
export type * from '../model/topic';
