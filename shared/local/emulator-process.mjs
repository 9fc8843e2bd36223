/**
 * One embedded emulator (dynalite or s3rver) in a process of its own, so that its CPU does not share the
 * API's event loop. Started by emulators.ts with `fork`, never by hand:
 *
 *   node --openssl-legacy-provider emulator-process.mjs '{"kind":"dynamo","port":0,"path":"…"}'
 *
 * Plain JavaScript (no tsx): the child starts in a fraction of the time a TypeScript loader needs.
 *
 * Protocol over the IPC channel: the child sends `{ type: 'ready', port }` once listening, or
 * `{ type: 'failed', message }`; the parent sends `{ type: 'stop' }` and the child closes its server
 * (dynalite closes its LevelDB, releasing the folder's lock) and exits 0.
 *
 * A child never outlives its parent: it exits when the IPC channel closes (the parent exited or was
 * killed) and, as a second guard, when its parent pid changes (reparented). SIGINT is ignored — a
 * Ctrl-C reaches the whole process group, and the parent, which owns the shutdown, sends `stop` once
 * its own requests have drained; SIGTERM stops the child at once, cleanly.
 */
import { mkdir } from 'node:fs/promises';

const options = JSON.parse(process.argv[2] ?? '{}');
const parent = process.ppid;
let close = async () => undefined;
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Bounded: a server that will not close must not keep the process (or the folder's lock) alive.
  const timer = setTimeout(() => process.exit(code), 5000);
  try {
    await close();
  } finally {
    clearTimeout(timer);
    process.exit(code);
  }
}

process.on('message', (message) => {
  if (message?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop(0));
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 500).unref();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * LevelDB allows one process per folder. A previous child that is still closing (its parent was just
 * killed) holds the lock for a moment: wait for it rather than fail the restart.
 */
async function waitForLevelLock(path, timeoutMs) {
  const { Level } = await import('level');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const db = new Level(path);
    try {
      await db.open();
      await db.close();
      return;
    } catch (err) {
      const locked = err?.code === 'LEVEL_LOCKED' || err?.cause?.code === 'LEVEL_LOCKED';
      if (!locked || Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

async function startDynamo() {
  const dynaliteOptions = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.path) {
    await mkdir(options.path, { recursive: true });
    await waitForLevelLock(options.path, options.lockWaitMs ?? 10_000);
    dynaliteOptions.path = options.path;
  }
  const { default: dynalite } = await import('dynalite');
  const server = dynalite(dynaliteOptions);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      // dynalite keeps idle keep-alive sockets; close them so close() returns.
      server.closeAllConnections?.();
    });
  return server.address().port;
}

async function startS3() {
  await mkdir(options.directory, { recursive: true });
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    resetOnClose: options.resetOnClose === true,
  });
  const address = await server.run();
  close = () => server.close();
  return address.port;
}

try {
  const port = options.kind === 'dynamo' ? await startDynamo() : await startS3();
  process.send?.({ type: 'ready', port });
} catch (err) {
  process.send?.({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  await stop(1);
}
