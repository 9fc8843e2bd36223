/**
 * The composition root: the one place where Sluice's services are built from their configuration and
 * the AWS clients, with the store adapters (shared/store) plugged into the ports the services declare.
 * Every door calls it and nothing else builds a store or a service:
 *
 *   HTTP (API Gateway → functions/api.ts → shared/api/lambda.ts)  servicesFromEnv()
 *   the local stack (shared/local/stack.ts, `sluice dev`)          createServices(config, clients)
 *   the Kafka listener (shared/kafka/, `sluice kafka`)             createServices(config, clients)
 *   cleanup (functions/cleanup.ts, `sluice admin cleanup`)         createServices(…).cleanup
 *
 * See docs/architecture.md for the layers and the picture.
 */
import { type StorageConfig, storageConfigFromEnv } from './config';
import { type ClassicCoordinatorOptions, ClassicGroupCoordinator } from './groups/classic/coordinator';
import { GroupService } from './groups/group-service';
import type { TopicMetadataSource } from './groups/types';
import { LogService, type LogServiceOptions } from './log/log-service';
import { ProducerIdAllocator } from './producers/producer-ids';
import type { CleanupDeps } from './retention/context';
import { type AwsClients, createAwsClients } from './store/aws-clients';
import { DynamoGroupStore } from './store/group-store';
import { DynamoLogStore } from './store/log-store';
import { DynamoProducerIdStore } from './store/producer-id-store';
import { S3SegmentStore } from './store/segment-store';
import { DynamoTopicStore } from './store/topic-store';

/** The services behind every door. Built once per Lambda container, local stack or listener. */
export interface Services {
  readonly log: LogService;
  readonly groups: GroupService;
  /** Kafka clients' consumer groups (classic protocol), over the same groups table. */
  readonly classicGroups: ClassicGroupCoordinator;
  /** Producer ids for Kafka clients' InitProducerId, unique across listeners and the SDK. */
  readonly producerIds: ProducerIdAllocator;
  /** What a cleanup pass (shared/retention) runs against: the same stores as the log's. */
  readonly cleanup: CleanupDeps;
}

export interface ServicesOptions {
  readonly log?: LogServiceOptions;
  readonly classicGroups?: ClassicCoordinatorOptions;
  /** Clock and hooks of cleanup passes. @default Date.now, no hooks */
  readonly cleanup?: Pick<CleanupDeps, 'now' | 'hooks'>;
}

/** What consumer groups need to know of topics, answered by the log. */
export function logTopicMetadata(log: LogService): TopicMetadataSource {
  return {
    partitionCount: async (topic) => (await log.requireTopic(topic)).partitionCount,
    topicId: async (topic, fresh) => (await log.requireTopic(topic, fresh)).topicId,
    partitionBounds: (topic, partition) => log.partitionBounds(topic, partition),
    offsetFor: async (topic, partition, spec) => (await log.listOffset(topic, partition, spec)).offset,
  };
}

export function createServices(
  config: StorageConfig,
  clients: AwsClients,
  options: ServicesOptions = {},
): Services {
  const topics = new DynamoTopicStore(clients.dynamo, config.topicsTable);
  const logStore = new DynamoLogStore(clients.dynamo, config.logTable);
  const segments = new S3SegmentStore(clients.s3, config.bucket);
  const log = new LogService(topics, logStore, segments, options.log);
  const groupStore = new DynamoGroupStore(clients.dynamo, config.groupsTable);
  const topicMetadata = logTopicMetadata(log);
  return {
    log,
    groups: new GroupService({ store: groupStore, topics: topicMetadata }),
    classicGroups: new ClassicGroupCoordinator({
      store: groupStore,
      topics: topicMetadata,
      options: options.classicGroups,
    }),
    producerIds: new ProducerIdAllocator(new DynamoProducerIdStore(clients.dynamo, config.groupsTable)),
    cleanup: { topics, log: logStore, segments, ...options.cleanup },
  };
}

let fromEnv: Services | undefined;

/** The Lambda default: configuration from the environment, read on first use and kept for the container's life. */
export function servicesFromEnv(): Services {
  if (fromEnv === undefined) {
    const config = storageConfigFromEnv();
    // Each operation has a function of its own on AWS: the produce function never serves the fetches
    // that would read its writes back, so it keeps none.
    fromEnv = createServices(config, createAwsClients(config), { log: { fetch: { cacheWrites: false } } });
  }
  return fromEnv;
}
