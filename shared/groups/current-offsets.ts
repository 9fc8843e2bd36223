/**
 * Which committed offsets still apply. An offset belongs to the topic it was committed for, named by the
 * topic's id: once that topic is deleted the offset no longer counts — not in fetches, not in describes,
 * and not for a new topic created under the same name, which starts a new log at offset 0. Kafka drops a
 * deleted topic's offsets for the same reason. Checked when read, so deleting a topic need not sweep every
 * group; the next commit or reset of the partition overwrites the stale item.
 *
 * Offsets written before ids were recorded (topicId null) count while a topic of their name exists.
 */

import { mapLimit } from '../concurrency';
import { isSluiceError } from '../errors';
import type { OffsetRecord } from './store';
import type { TopicMetadataSource } from './types';

/** Topic look-ups of one call in flight at once. */
const CONCURRENCY = 16;

/**
 * The ids of these topics; one that does not exist is left out. `fresh`: past any cache (to decide
 * what is read back); a cached id suffices to stamp a commit, as it can only be older, and an offset
 * stamped with an older id is ignored rather than applied to the wrong topic.
 */
export async function topicIds(
  topics: TopicMetadataSource,
  names: Iterable<string>,
  fresh: boolean,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  await mapLimit([...new Set(names)], CONCURRENCY, async (name) => {
    try {
      ids.set(name, await topics.topicId(name, fresh));
    } catch (err) {
      if (!isSluiceError(err, 'UNKNOWN_TOPIC_OR_PARTITION') && !isSluiceError(err, 'INVALID_TOPIC'))
        throw err;
    }
  });
  return ids;
}

/** The items holding an offset that applies to the topic of that name as it exists now. */
export async function currentOffsets(
  topics: TopicMetadataSource,
  items: readonly OffsetRecord[],
): Promise<(OffsetRecord & { readonly offset: number })[]> {
  const committed = items.filter((i): i is OffsetRecord & { offset: number } => i.offset !== null);
  const ids = await topicIds(
    topics,
    committed.map((i) => i.topic),
    true,
  );
  return committed.filter((i) => {
    const id = ids.get(i.topic);
    return id !== undefined && (i.topicId === null || i.topicId === id);
  });
}
