#!/usr/bin/env -S node --openssl-legacy-provider
// The `sluice` command: runs the TypeScript CLI through tsx, with no build step.
// --openssl-legacy-provider: the embedded S3 emulator (s3rver) pages its listings with a DES cipher
// that Node 20's OpenSSL 3 refuses without it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
