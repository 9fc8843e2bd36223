import { afterAll, beforeAll } from 'vitest';
import { startTestStorage, type TestStorage } from './storage';

/**
 * The test storage of the describe block (or file) that calls this: started before its tests, stopped
 * after them. The object returned stands for it from the first test on.
 */
export function useTestStorage(): TestStorage {
  let storage: TestStorage | undefined;
  beforeAll(async () => {
    storage = await startTestStorage();
  });
  afterAll(async () => {
    await storage?.stop();
  });
  const started = (): TestStorage => {
    if (!storage) throw new Error('the test storage starts before the first test: use it inside one');
    return storage;
  };
  return {
    get config() {
      return started().config;
    },
    get clients() {
      return started().clients;
    },
    get emulators() {
      return started().emulators;
    },
    stop: () => started().stop(),
  };
}
