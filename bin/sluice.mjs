#!/usr/bin/env -S node --openssl-legacy-provider
// The `sluice` command: runs the TypeScript CLI through tsx, with no build step.
// --openssl-legacy-provider: the embedded S3 emulator (s3rver) pages its listings with a DES cipher
// that Node 20's OpenSSL 3 refuses without it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
// Errors are one line and exit code 1, never a stack trace.
await main(process.argv).catch((err) => {
  console.error(`sluice: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
