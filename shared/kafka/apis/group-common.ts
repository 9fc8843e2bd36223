/**
 * What the group APIs share: Kafka codes for the coordinator's answers, and the rule for failures
 * that are not answers. A storage hiccup (throttling, DynamoDB unavailable, a group item contended past
 * its retry budget) is COORDINATOR_NOT_AVAILABLE: every Kafka client retries that, after looking the
 * coordinator up again (FindCoordinator answers this listener), where UNKNOWN_SERVER_ERROR would be
 * fatal to a JoinGroup.
 */
import { isSluiceError } from '../../errors';
import { GroupBusyError } from '../../groups/classic/coordinator';
import type { ClassicErrorName } from '../../groups/classic/types';
import type { InitProducerIdError } from '../../producers/producer-ids';
import { KAFKA_ERRORS, kafkaErrorCode } from '../protocol/errors';

export function code(name: ClassicErrorName | InitProducerIdError): number {
  return KAFKA_ERRORS[name];
}

export function groupErrorCode(err: unknown): number {
  if (err instanceof GroupBusyError) return KAFKA_ERRORS.COORDINATOR_NOT_AVAILABLE;
  if (isSluiceError(err) && err.retriable) return KAFKA_ERRORS.COORDINATOR_NOT_AVAILABLE;
  return kafkaErrorCode(err);
}

/** Groups partition results by topic, keeping the order topics first appear in. */
export function byTopic<T extends { topic: string }>(items: readonly T[]): { name: string; items: T[] }[] {
  const topics = new Map<string, T[]>();
  for (const item of items) {
    const list = topics.get(item.topic) ?? [];
    list.push(item);
    topics.set(item.topic, list);
  }
  return [...topics].map(([name, list]) => ({ name, items: list }));
}
