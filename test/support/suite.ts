import { startedForAll } from './lifecycle';
import { startTestStorage, type TestStorage } from './storage';

/**
 * The test storage of the describe block (or file) that calls this: started before its tests, stopped
 * after them. The object returned stands for it from the first test on.
 */
export function useTestStorage(): TestStorage {
  return startedForAll(startTestStorage, (storage) => storage.stop());
}
