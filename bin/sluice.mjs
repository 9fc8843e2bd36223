#!/usr/bin/env -S node --openssl-legacy-provider
// The `sluice` command: runs the TypeScript CLI through tsx, with no build step. It runs from a clone
// of the repository (`node bin/sluice.mjs`, or `npm link` there); the npm package holds the client SDK.
// --openssl-legacy-provider: the embedded S3 emulator (s3rver) pages its listings with a DES cipher
// that Node 20's OpenSSL 3 refuses without it.
import { existsSync } from 'node:fs';

const cli = new URL('../cli/main.ts', import.meta.url);
if (!existsSync(cli)) {
  console.error(
    'sluice: the command line runs from a clone of the Sluice repository (node bin/sluice.mjs, or npm link there); this package installs the client SDK only (import { Sluice } from "sluice/client")',
  );
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import(cli.href);
// Errors are one line and exit code 1, never a stack trace.
await main(process.argv).catch((err) => {
  console.error(`sluice: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
