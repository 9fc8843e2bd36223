/**
 * DeleteTopics (key 20), v0–v6 (DeleteTopicsRequest.json, DeleteTopicsResponse.json). Flexible from v4.
 *
 *   DeleteTopicsRequest => Topics [Name NULLABLE_STRING, TopicId uuid, TAG_BUFFER] (v6+) |
 *                          TopicNames [STRING] (v0–v5),
 *                          TimeoutMs int32, TAG_BUFFER (v4+)
 *   DeleteTopicsResponse => ThrottleTimeMs int32 (v1+),
 *                           Responses [Name STRING (nullable v6+), TopicId uuid (v6+), ErrorCode int16,
 *                                      ErrorMessage NULLABLE_STRING (v5+), TAG_BUFFER], TAG_BUFFER (v4+)
 *
 * By name, or from v6 by topic id (the topic's ULID as a UUID, as Metadata v10+ gives it); naming both
 * is INVALID_REQUEST, as in Kafka. An unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown id
 * UNKNOWN_TOPIC_ID, a topic named twice INVALID_REQUEST for each entry. The topic disappears at once
 * (appends racing the delete fail); the log's cleanup removes its data later, as Kafka's does.
 */
import { isSluiceError } from '../../errors';
import type { Topic } from '../../model';
import { KAFKA_ERRORS, kafkaErrorCode } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { topicIdToUuid, uuidToTopicId, ZERO_UUID } from '../topic-id';
import type { ErrorFields } from './fields';
import type { KafkaApi, RequestContext } from './types';

export interface DeleteTopicsRequest {
  readonly topics: readonly { readonly name: string | null; readonly topicId: Buffer }[];
  readonly timeoutMs: number;
}

export interface DeletableTopicResult extends ErrorFields {
  readonly name: string | null;
  readonly topicId: Buffer;
}

export interface DeleteTopicsResponse {
  readonly responses: readonly DeletableTopicResult[];
}

/** The key an entry is known by in its request: its name, else its id. */
const keyOf = (t: DeleteTopicsRequest['topics'][number]) => t.name ?? `id:${t.topicId.toString('hex')}`;

async function deleteOne(
  entry: DeleteTopicsRequest['topics'][number],
  context: RequestContext,
  all: () => Promise<Topic[]>,
): Promise<DeletableTopicResult> {
  const { log } = context.listener.services;
  const byId = !entry.topicId.equals(ZERO_UUID);
  const answer = (
    errorCode: number,
    errorMessage: string | null,
    name = entry.name,
    topicId = entry.topicId,
  ) => ({
    name,
    topicId,
    errorCode,
    errorMessage,
  });
  if (entry.name !== null && byId) {
    return answer(KAFKA_ERRORS.INVALID_REQUEST, 'You may not specify both topic name and topic id.');
  }
  try {
    let name = entry.name;
    let topicId = entry.topicId;
    if (name === null) {
      if (!byId) return answer(KAFKA_ERRORS.INVALID_REQUEST, 'A topic needs a name or a topic id.');
      const id = uuidToTopicId(entry.topicId);
      const found = (await all()).find((t) => t.topicId === id);
      if (!found) return answer(KAFKA_ERRORS.UNKNOWN_TOPIC_ID, `No topic has id ${id}`);
      name = found.name;
    } else {
      topicId = topicIdToUuid((await log.requireTopic(name, true)).topicId);
    }
    await log.deleteTopic(name);
    return answer(KAFKA_ERRORS.NONE, null, name, topicId);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return answer(kafkaErrorCode(err), err.message);
  }
}

export const deleteTopics: KafkaApi<DeleteTopicsRequest, DeleteTopicsResponse> = {
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  flexibleFrom: 4,

  decode(r: KafkaReader, version: number): DeleteTopicsRequest {
    const topics =
      version >= 6
        ? r.array((r) => {
            const name = r.nullableString();
            const topicId = Buffer.from(r.uuid());
            r.taggedFields();
            return { name, topicId };
          })
        : r.array((r) => ({ name: r.string(), topicId: ZERO_UUID }));
    const timeoutMs = r.int32();
    r.taggedFields();
    return { topics, timeoutMs };
  },

  async handle(request, context) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(keyOf(t), (counts.get(keyOf(t)) ?? 0) + 1);
    let listing: Promise<Topic[]> | undefined;
    const all = () => {
      listing ??= context.listener.services.log.listTopics();
      return listing;
    };
    const responses = await Promise.all(
      request.topics.map((t) =>
        counts.get(keyOf(t))! > 1
          ? {
              name: t.name,
              topicId: t.topicId,
              errorCode: KAFKA_ERRORS.INVALID_REQUEST,
              errorMessage: 'The topic is named more than once in the request',
            }
          : deleteOne(t, context, all),
      ),
    );
    return { responses };
  },

  errorResponse(request, errorCode) {
    return {
      responses: request.topics.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        errorCode,
        errorMessage: null,
      })),
    };
  },

  encode(w: KafkaWriter, res: DeleteTopicsResponse, version: number): void {
    if (version >= 1) w.int32(0); // ThrottleTimeMs
    w.array(res.responses, (w, t) => {
      if (version >= 6) w.nullableString(t.name).uuid(t.topicId);
      else w.string(t.name ?? '');
      w.int16(t.errorCode);
      if (version >= 5) w.nullableString(t.errorMessage);
      w.taggedFields();
    });
    w.taggedFields();
  },
};
