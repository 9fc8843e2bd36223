import { afterAll, beforeAll } from 'vitest';

/**
 * Starts a resource (a stack, storage, a proxy) in `beforeAll` of the enclosing describe or file and
 * stops it in `afterAll`. The value returned stands for the resource: every property read, call and
 * assignment goes to the started one, so `const stack = startedForAll(startTestStack, (s) => s.stop())`
 * replaces a `let`, a `beforeAll` and an `afterAll`. Resources started this way stop in reverse order.
 */
export function startedForAll<T extends object>(
  start: () => Promise<T>,
  stop: (resource: T) => Promise<void>,
  timeoutMs?: number,
): T {
  let resource: T | undefined;
  const started = (): T => {
    if (resource === undefined) throw new Error('used before its beforeAll started it');
    return resource;
  };
  beforeAll(async () => {
    resource = await start();
  }, timeoutMs);
  afterAll(async () => {
    if (resource !== undefined) await stop(resource);
  });
  return new Proxy({} as T, {
    get(_, key) {
      const target = started();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (_, key, value) => Reflect.set(started(), key, value),
    has: (_, key) => Reflect.has(started(), key),
  });
}
