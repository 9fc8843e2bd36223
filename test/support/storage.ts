import { randomBytes } from 'node:crypto';
import type { StorageConfig } from '../../shared/config';
import { type Emulators, startEmulators } from '../../shared/local/emulators';
import { type AwsClients, createAwsClients } from '../../shared/store/aws-clients';
import { ensureStorage } from '../../shared/store/tables';

export interface TestStorage {
  readonly config: StorageConfig;
  readonly clients: AwsClients;
  readonly emulators: Emulators;
  stop(): Promise<void>;
}

/**
 * Embedded dynalite + s3rver on ephemeral ports with unique table and bucket names, for one test
 * file: `const storage = await startTestStorage()` in beforeAll, `await storage.stop()` in afterAll.
 */
export async function startTestStorage(): Promise<TestStorage> {
  const emulators = await startEmulators();
  const suffix = randomBytes(4).toString('hex');
  const config: StorageConfig = {
    region: 'us-east-1',
    dynamoEndpoint: emulators.dynamoEndpoint,
    s3Endpoint: emulators.s3Endpoint,
    embedded: true,
    bucket: `sluice-test-${suffix}`,
    topicsTable: `topics-${suffix}`,
    logTable: `log-${suffix}`,
    groupsTable: `groups-${suffix}`,
  };
  const clients = createAwsClients(config);
  await ensureStorage(config, clients);
  return {
    config,
    clients,
    emulators,
    async stop() {
      clients.dynamo.destroy();
      clients.s3.destroy();
      await emulators.stop();
    },
  };
}
