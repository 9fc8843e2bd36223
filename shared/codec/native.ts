/**
 * What the compression codecs share: an optional native implementation beside a pure-JS one (the
 * native addons are absent from Lambda bundles, and tests force the JS path to reproduce Lambda), and
 * the refusal of records that decompress past the cap.
 */
import { createRequire } from 'node:module';
import { SluiceError } from '../errors';

export type Implementation = 'native' | 'js';

export interface ImplementationChoice<T> {
  /** The native module, loaded once; null when it does not load here. */
  load(): T | null;
  /** The native module when it is loaded and not set aside for 'js'; null means the JS path. */
  native(): T | null;
  /** 'auto' uses the native module when it loads; 'js' forces the JS path; 'native' fails without it. */
  use(choice: 'auto' | Implementation): void;
  implementation(): Implementation;
}

/** `missing` words the error of use('native') where the native module does not load. */
export function implementationChoice<T>(
  load: () => T | null,
  missing: () => string,
): ImplementationChoice<T> {
  let loaded: T | null | undefined;
  let preference: 'auto' | Implementation = 'auto';
  const once = (): T | null => {
    if (loaded === undefined) {
      try {
        loaded = load();
      } catch {
        loaded = null;
      }
    }
    return loaded;
  };
  const native = () => (preference === 'js' ? null : once());
  return {
    load: once,
    native,
    use(choice) {
      if (choice === 'native' && once() === null) throw new Error(missing());
      preference = choice;
    },
    implementation: () => (native() === null ? 'js' : 'native'),
  };
}

/**
 * Requires the addon `name` when it is installed and exports every function named; null otherwise.
 * Lazy and guarded: in a Lambda bundle the addon (or import.meta.url) is absent, and that is fine.
 */
function requireAddon<T>(name: string, functions: readonly string[]): T | null {
  const required = createRequire(import.meta.url)(name) as Record<string, unknown>;
  return functions.every((f) => typeof required[f] === 'function') ? (required as T) : null;
}

/** The choice between the npm addon `name` (when it loads and exports `functions`) and the JS path. */
export function addonChoice<T>(name: string, functions: readonly string[]): ImplementationChoice<T> {
  return implementationChoice(
    () => requireAddon<T>(name, functions),
    () => `The native ${name} addon does not load here`,
  );
}

export function recordsTooLarge(maxBytes: number): SluiceError {
  return new SluiceError(
    'RECORD_LIST_TOO_LARGE',
    `The batch's records decompress to more than ${maxBytes} bytes, the most allowed`,
    { details: { maxDecompressedBytes: maxBytes } },
  );
}
