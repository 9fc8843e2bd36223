/**
 * Metadata (key 3), v1–v12 (MetadataRequest.json, MetadataResponse.json). Flexible from v9.
 *
 *   MetadataRequest => Topics [TopicId uuid (v10+), Name STRING (nullable v10+)] (null: all topics, v1+),
 *                      AllowAutoTopicCreation bool (v4+),
 *                      IncludeClusterAuthorizedOperations bool (v8–v10),
 *                      IncludeTopicAuthorizedOperations bool (v8+), TAG_BUFFER (v9+)
 *   MetadataResponse => ThrottleTimeMs int32 (v3+),
 *                       Brokers [NodeId int32, Host STRING, Port int32, Rack NULLABLE_STRING, TAG_BUFFER],
 *                       ClusterId NULLABLE_STRING (v2+), ControllerId int32,
 *                       Topics [ErrorCode int16, Name STRING (nullable v12+), TopicId uuid (v10+),
 *                               IsInternal bool,
 *                               Partitions [ErrorCode int16, PartitionIndex int32, LeaderId int32,
 *                                           LeaderEpoch int32 (v7+), ReplicaNodes [int32],
 *                                           IsrNodes [int32], OfflineReplicas [int32] (v5+), TAG_BUFFER],
 *                               TopicAuthorizedOperations int32 (v8+), TAG_BUFFER],
 *                       ClusterAuthorizedOperations int32 (v8–v10), TAG_BUFFER (v9+)
 *
 * The listener is the only broker, the controller, and the leader of every partition. Leader epochs
 * are answered as −1 (unknown), so clients do not validate them against OffsetForLeaderEpoch, which
 * this listener does not implement. Topics are not created automatically: an unknown name gets
 * UNKNOWN_TOPIC_OR_PARTITION whatever AllowAutoTopicCreation says.
 */
import { isSluiceError } from '../../errors';
import type { Topic } from '../../model';
import { KAFKA_ERRORS, kafkaErrorCode } from '../protocol/errors';
import type { KafkaReader } from '../protocol/reader';
import type { KafkaWriter } from '../protocol/writer';
import { topicIdToUuid, uuidToTopicId, ZERO_UUID } from '../topic-id';
import { OPERATIONS_NOT_REQUESTED } from './fields';
import type { KafkaApi } from './types';

export interface MetadataRequest {
  /** null: every topic. */
  readonly topics: readonly { readonly topicId: Buffer; readonly name: string | null }[] | null;
  readonly allowAutoTopicCreation: boolean;
  readonly includeTopicAuthorizedOperations: boolean;
}

export interface MetadataTopic {
  readonly errorCode: number;
  readonly name: string | null;
  readonly topicId: Buffer;
  readonly partitions: readonly number[];
  readonly authorizedOperations: number;
}

export interface MetadataResponse {
  readonly brokers: readonly { readonly nodeId: number; readonly host: string; readonly port: number }[];
  readonly clusterId: string;
  readonly controllerId: number;
  readonly topics: readonly MetadataTopic[];
}

/** AclOperation codes (org.apache.kafka.common.acl.AclOperation) a topic allows: all of them, there are no ACLs yet. */
const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);

export const metadata: KafkaApi<MetadataRequest, MetadataResponse> = {
  key: 3,
  name: 'Metadata',
  minVersion: 1,
  maxVersion: 12,
  flexibleFrom: 9,

  decode(r: KafkaReader, version: number): MetadataRequest {
    const topics = r.nullableArray((r) => {
      const topicId = version >= 10 ? Buffer.from(r.uuid()) : ZERO_UUID;
      const name = version >= 10 ? r.nullableString() : r.string();
      r.taggedFields();
      return { topicId, name };
    });
    const allowAutoTopicCreation = version >= 4 ? r.bool() : true;
    if (version >= 8 && version <= 10) r.bool();
    const includeTopicAuthorizedOperations = version >= 8 ? r.bool() : false;
    r.taggedFields();
    return { topics, allowAutoTopicCreation, includeTopicAuthorizedOperations };
  },

  async handle(request, context) {
    const { log } = context.listener.services;
    const ops = request.includeTopicAuthorizedOperations ? TOPIC_OPERATIONS : OPERATIONS_NOT_REQUESTED;
    const describe = (topic: Topic): MetadataTopic => ({
      errorCode: KAFKA_ERRORS.NONE,
      name: topic.name,
      topicId: topicIdToUuid(topic.topicId),
      partitions: Array.from({ length: topic.partitionCount }, (_, p) => p),
      authorizedOperations: ops,
    });
    let topics: MetadataTopic[];
    if (request.topics === null) {
      topics = (await log.listTopics()).sort((a, b) => a.name.localeCompare(b.name)).map(describe);
    } else {
      const byId = request.topics.some((t) => t.name === null) ? await log.listTopics() : [];
      topics = await Promise.all(
        request.topics.map(async (t): Promise<MetadataTopic> => {
          if (t.name === null) {
            const id = uuidToTopicId(t.topicId);
            const found = byId.find((topic) => topic.topicId === id);
            if (found) return describe(found);
            return {
              errorCode: KAFKA_ERRORS.UNKNOWN_TOPIC_ID,
              name: null,
              topicId: t.topicId,
              partitions: [],
              authorizedOperations: ops,
            };
          }
          try {
            // Fresh: a client asks for metadata when it suspects a change (new partitions, a new topic).
            return describe(await log.requireTopic(t.name, true));
          } catch (err) {
            if (!isSluiceError(err)) throw err;
            return {
              errorCode: kafkaErrorCode(err),
              name: t.name,
              topicId: ZERO_UUID,
              partitions: [],
              authorizedOperations: ops,
            };
          }
        }),
      );
    }
    const { nodeId, advertised, clusterId } = context.listener;
    return {
      brokers: [{ nodeId, host: advertised.host, port: advertised.port }],
      clusterId,
      controllerId: nodeId,
      topics,
    };
  },

  encode(w: KafkaWriter, res: MetadataResponse, version: number): void {
    if (version >= 3) w.int32(0); // ThrottleTimeMs
    w.array(res.brokers, (w, b) => {
      w.int32(b.nodeId).string(b.host).int32(b.port).nullableString(null).taggedFields();
    });
    if (version >= 2) w.nullableString(res.clusterId);
    w.int32(res.controllerId);
    w.array(res.topics, (w, t) => {
      w.int16(t.errorCode);
      if (version >= 12) w.nullableString(t.name);
      else w.string(t.name ?? '');
      if (version >= 10) w.uuid(t.topicId);
      w.bool(false);
      w.array(t.partitions, (w, p) => {
        w.int16(KAFKA_ERRORS.NONE).int32(p).int32(res.controllerId);
        if (version >= 7) w.int32(-1);
        w.array([res.controllerId], (w, n) => w.int32(n));
        w.array([res.controllerId], (w, n) => w.int32(n));
        if (version >= 5) w.array([], () => {});
        w.taggedFields();
      });
      if (version >= 8) w.int32(t.authorizedOperations);
      w.taggedFields();
    });
    if (version >= 8 && version <= 10) w.int32(OPERATIONS_NOT_REQUESTED);
    w.taggedFields();
  },
};
