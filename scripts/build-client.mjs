#!/usr/bin/env node
// Builds the client SDK package (`sluice/client`) into dist/client/:
//   index.js   ESM, one file: client/ and the shared code it uses (codec, framing, errors)
//   index.cjs  the same as CommonJS, for require()
//   types/     .d.ts declarations (tsc), with relative specifiers ending in .js as Node's ESM needs
// The package has no runtime dependencies: everything the client imports is bundled (the AWS credential
// chain and SigV4 signer in a chunk loaded only when a request is signed), except native addons, which
// must be built for the machine: the optional `lz4` is used when the user installs it next to the
// client (~10× faster LZ4), else the pure-JS lz4js inside the bundle.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/client');
const NATIVE = ['lz4', 'snappy'];

rmSync(out, { recursive: true, force: true });

const common = {
  entryPoints: [join(root, 'client/index.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: NATIVE,
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};
await build({
  ...common,
  format: 'esm',
  outdir: out,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS code (the AWS SDK's) calls require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __sluice_createRequire } from 'node:module'; const require = __sluice_createRequire(import.meta.url);",
  },
});
await build({
  ...common,
  format: 'cjs',
  outfile: join(out, 'index.cjs'),
  // createRequire(import.meta.url) loads the optional native lz4; CommonJS has no import.meta.
  define: { 'import.meta.url': '__sluice_import_meta_url' },
  banner: { js: "const __sluice_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});

const tsconfig = join(root, 'tsconfig.client.json');
writeFileSync(
  tsconfig,
  JSON.stringify({
    extends: './tsconfig.json',
    compilerOptions: {
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      rootDir: '.',
      outDir: 'dist/client/types',
    },
    include: ['client/index.ts', 'shared/codec/lz4js.d.ts', 'shared/codec/snappyjs.d.ts'],
  }),
);
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
    cwd: root,
    stdio: 'inherit',
  });
} finally {
  rmSync(tsconfig, { force: true });
}

// `from './x'` → `from './x.js'` (or './x/index.js'): Node's ESM resolution, which TypeScript's
// node16/nodenext follows for .d.ts files too, takes no extensionless relative specifiers.
const typesDir = join(out, 'types');
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.d.ts') ? [path] : [];
  });
for (const file of walk(typesDir)) {
  const text = readFileSync(file, 'utf8').replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*)(['"])/g,
    (match, head, spec, tail) => {
      if (/\.[cm]?js$/.test(spec)) return match;
      const base = join(dirname(file), spec);
      if (existsSync(`${base}.d.ts`)) return `${head}${spec}.js${tail}`;
      if (existsSync(join(base, 'index.d.ts'))) return `${head}${spec}/index.js${tail}`;
      throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
    },
  );
  writeFileSync(file, text);
}
console.log(`built ${relative(root, out)}: index.js, index.cjs, types/client/index.d.ts`);
