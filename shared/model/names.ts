/**
 * The one rule for names, Kafka's (org.apache.kafka.common.internals.Topic.validate): 1 to N characters
 * of `[a-zA-Z0-9._-]`, not `.` or `..`. Sluice applies it to group names and member ids too, because
 * they travel in URL paths and IAM resource paths, where `/`, `*` or `..` would change what is named.
 *
 * Each door (HTTP operations, the group service, the Kafka listener, the CDK grants) asks these
 * predicates and words its refusal in its own protocol's terms (error code, field name).
 */
import { SluiceError } from '../errors';
import { LOG_LIMITS } from './limits';

/** The legal characters, as they appear in messages. */
export const NAME_CHARACTERS = '[a-zA-Z0-9._-]';

const LEGAL = /^[a-zA-Z0-9._-]+$/;

export function isLegalName(value: unknown, maxLength: number): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= maxLength &&
    LEGAL.test(value) &&
    value !== '.' &&
    value !== '..'
  );
}

export function isTopicName(value: unknown): value is string {
  return isLegalName(value, LOG_LIMITS.maxTopicNameLength);
}

export function isGroupName(value: unknown): value is string {
  return isLegalName(value, LOG_LIMITS.maxGroupNameLength);
}

export function isMemberId(value: unknown): value is string {
  return isLegalName(value, LOG_LIMITS.maxMemberIdLength);
}

/** The rule in words, for messages: `1 to 249 characters of [a-zA-Z0-9._-] and not "." or ".."`. */
export function nameRule(maxLength: number): string {
  return `1 to ${maxLength} characters of ${NAME_CHARACTERS} and not "." or ".."`;
}

/** Why `name` is not a legal topic name, in one sentence; undefined when it is one. */
export function topicNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'Topic name must be a non-empty string';
  if (name.length > LOG_LIMITS.maxTopicNameLength) {
    return `Topic name must be at most ${LOG_LIMITS.maxTopicNameLength} characters, but ${name.length} were given`;
  }
  if (name === '.' || name === '..') return `Topic name cannot be '${name}'`;
  if (!LEGAL.test(name)) return `Topic name ${JSON.stringify(name)} may only contain ${NAME_CHARACTERS}`;
  return undefined;
}

/** A partition number as Kafka's wire carries it: an int32 ≥ 0 (existence is checked against the topic). */
export function isPartitionNumber(value: unknown): value is number {
  return (
    Number.isSafeInteger(value) &&
    (value as number) >= 0 &&
    (value as number) <= LOG_LIMITS.maxPartitionNumber
  );
}

/** Kafka's check, as the log service and the Kafka listener apply it: INVALID_TOPIC with the reason. */
export function validateTopicName(name: unknown): asserts name is string {
  const problem = topicNameProblem(name);
  if (problem !== undefined) throw new SluiceError('INVALID_TOPIC', problem);
}
