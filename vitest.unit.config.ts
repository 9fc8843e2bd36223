import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * The quick tier (`npm run test:unit`): pure tests that start no emulator, stack or child process —
 * codecs, framing, validation, the error table, assignors, the history checker. Seconds, not minutes;
 * `npm test` runs them too, with everything else.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/codec/*.test.ts',
      'test/api/errors.test.ts',
      'test/client/consumer-parts.test.ts',
      'test/api/framing.test.ts',
      'test/api/lambda.test.ts',
      'test/api/openapi.test.ts',
      'test/api/validate.test.ts',
      'test/groups/assignors.test.ts',
      'test/reliability/checker.test.ts',
    ],
  },
});
