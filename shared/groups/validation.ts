import { SluiceError, show } from '../errors';
import { LOG_LIMITS } from '../model/limits';
import { isGroupName, isMemberId, isTopicName, nameRule } from '../model/names';
import { keyOf, type PartitionKey } from './partitions';
import {
  ASSIGNORS,
  type AssignorName,
  GROUP_LIMITS,
  type OffsetCommit,
  type ResetTarget,
  type TopicPartition,
} from './types';

/**
 * Validation of everything a group request carries, in one place, before anything is read or written.
 * Messages name the field, the limit and the value received.
 */

function invalid(message: string, field: string): SluiceError {
  return new SluiceError('INVALID_REQUEST', message, { details: { field } });
}

/** Group names follow topic names: `[a-zA-Z0-9._-]{1,249}`, not `.` or `..`. */
export function validateGroupName(group: unknown): string {
  if (!isGroupName(group)) {
    throw new SluiceError(
      'INVALID_GROUP_ID',
      `group must be ${nameRule(LOG_LIMITS.maxGroupNameLength)}, but ${show(group)} was provided`,
      { details: { field: 'group' } },
    );
  }
  return group;
}

export function validateTopicName(topic: unknown, field: string): string {
  if (!isTopicName(topic)) {
    throw invalid(
      `${field} must be a topic name of ${nameRule(LOG_LIMITS.maxTopicNameLength)}, but ${show(topic)} was provided`,
      field,
    );
  }
  return topic;
}

export function validateMemberId(field: string, memberId: unknown): string {
  if (!isMemberId(memberId)) {
    throw invalid(
      `${field} must be 1 to ${LOG_LIMITS.maxMemberIdLength} characters of [a-zA-Z0-9._-], but ${show(memberId)} was provided`,
      field,
    );
  }
  return memberId;
}

export function validateInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(
      `${field} must be an integer from ${min} to ${max}, but ${show(value)} was provided`,
      field,
    );
  }
  return value;
}

export function validateObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${field} must be an object, but ${show(value)} was provided`, field);
  }
  return value as Record<string, unknown>;
}

function validateArray(field: string, value: unknown, min: number, max: number): unknown[] {
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    throw invalid(
      `${field} must be an array of ${min} to ${max} entries, but ${Array.isArray(value) ? `${value.length} entries were` : `${show(value)} was`} provided`,
      field,
    );
  }
  return value;
}

export function validateTopics(field: string, value: unknown): string[] {
  const topics = validateArray(field, value, 1, GROUP_LIMITS.maxTopicsPerMember);
  return [...new Set(topics.map((t, i) => validateTopicName(t, `${field}[${i}]`)))].sort();
}

export function validateTopicPartition(field: string, value: unknown): TopicPartition {
  const o = validateObject(field, value);
  return {
    topic: validateTopicName(o.topic, `${field}.topic`),
    partition: validateInteger(`${field}.partition`, o.partition, 0, LOG_LIMITS.maxPartitionNumber),
  };
}

export function validateOwned(field: string, value: unknown): Set<PartitionKey> {
  const list = validateArray(field, value, 0, GROUP_LIMITS.maxPartitionsPerRequest);
  return new Set(list.map((tp, i) => keyOf(validateTopicPartition(`${field}[${i}]`, tp))));
}

export function validateAssignor(field: string, value: unknown): AssignorName | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(ASSIGNORS as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${ASSIGNORS.join(', ')}, but ${show(value)} was provided`, field);
  }
  return value as AssignorName;
}

export function validateCommits(field: string, value: unknown): OffsetCommit[] {
  const list = validateArray(field, value, 1, GROUP_LIMITS.maxPartitionsPerRequest);
  const seen = new Set<PartitionKey>();
  return list.map((entry, i) => {
    const f = `${field}[${i}]`;
    const tp = validateTopicPartition(f, entry);
    const o = entry as Record<string, unknown>;
    const offset = validateInteger(`${f}.offset`, o.offset, 0, Number.MAX_SAFE_INTEGER);
    if (o.metadata !== undefined && o.metadata !== null) {
      if (typeof o.metadata !== 'string' || o.metadata.length > GROUP_LIMITS.maxMetadataLength) {
        throw invalid(
          `${f}.metadata must be a string of at most ${GROUP_LIMITS.maxMetadataLength} characters, but ${show(o.metadata)} was provided`,
          `${f}.metadata`,
        );
      }
    }
    const key = keyOf(tp);
    if (seen.has(key)) {
      throw invalid(`${f} must name each partition once, but ${tp.topic} ${tp.partition} appears twice`, f);
    }
    seen.add(key);
    return typeof o.metadata === 'string' ? { ...tp, offset, metadata: o.metadata } : { ...tp, offset };
  });
}

export function validateResetTarget(field: string, value: unknown): ResetTarget {
  if (value === 'earliest' || value === 'latest') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'timestamp') {
      return { timestamp: validateInteger(`${field}.timestamp`, o.timestamp, 0, Number.MAX_SAFE_INTEGER) };
    }
    if (keys.length === 1 && keys[0] === 'offset') {
      return { offset: validateInteger(`${field}.offset`, o.offset, 0, Number.MAX_SAFE_INTEGER) };
    }
  }
  throw invalid(
    `${field} must be "earliest", "latest", {"timestamp": ms} or {"offset": n}, but ${show(value)} was provided`,
    field,
  );
}
