import { type StorageConfig, storageConfigFromEnv } from '../config';
import { type ClassicCoordinatorOptions, ClassicGroupCoordinator } from '../groups/classic/coordinator';
import { GroupService } from '../groups/group-service';
import type { TopicMetadataSource } from '../groups/types';
import { createLogService, type LogService, type LogServiceOptions } from '../log/log-service';
import { ProducerIdAllocator } from '../producers/producer-ids';
import { type AwsClients, createAwsClients } from '../store/aws-clients';
import { DynamoGroupStore } from '../store/group-store';
import { DynamoProducerIdStore } from '../store/producer-id-store';

/** The services behind the API. Built once per Lambda container (or once per local stack). */
export interface Services {
  readonly log: LogService;
  readonly groups: GroupService;
  /** Kafka clients' consumer groups (classic protocol), over the same groups table. */
  readonly classicGroups: ClassicGroupCoordinator;
  /** Producer ids for Kafka clients' InitProducerId, unique across listeners and the SDK. */
  readonly producerIds: ProducerIdAllocator;
}

export interface ServicesOptions {
  readonly log?: LogServiceOptions;
  readonly classicGroups?: ClassicCoordinatorOptions;
}

/** What consumer groups need to know of topics, answered by the log. */
export function logTopicMetadata(log: LogService): TopicMetadataSource {
  return {
    partitionCount: async (topic) => (await log.requireTopic(topic)).partitionCount,
    partitionBounds: (topic, partition) => log.partitionBounds(topic, partition),
    offsetFor: async (topic, partition, spec) => (await log.listOffset(topic, partition, spec)).offset,
  };
}

export function createServices(
  config: StorageConfig,
  clients: AwsClients,
  options: ServicesOptions = {},
): Services {
  const log = createLogService(config, clients, options.log);
  const store = new DynamoGroupStore(clients.dynamo, config.groupsTable);
  const topics = logTopicMetadata(log);
  const groups = new GroupService({ store, topics });
  const classicGroups = new ClassicGroupCoordinator({ store, topics, options: options.classicGroups });
  const producerIds = new ProducerIdAllocator(new DynamoProducerIdStore(clients.dynamo, config.groupsTable));
  return { log, groups, classicGroups, producerIds };
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
