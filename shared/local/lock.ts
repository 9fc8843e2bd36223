/**
 * One `sluice dev` per data folder. dynalite's LevelDB holds its own lock and a second server on the
 * same folder fails seconds later, deep inside dynalite ("Database is closed"); this lock is taken
 * before anything opens the folder, so the second server refuses at once and names the first.
 *
 * The lock is a file `<dataDir>/sluice.lock` holding the owner's pid, created with O_EXCL. A lock
 * whose pid is no longer alive (a server killed with SIGKILL) is stale and taken over.
 */

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'sluice.lock';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data folder ${dataDir} is in use by another sluice dev (pid ${pid})`);
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent; safe in an exit handler (synchronous). */
  release(): void;
}

/** Whether a process with this id exists (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock of `dataDir` (created if missing) for this process, or throws DataDirInUseError. */
export function lockDataDir(dataDir: string, displayName: string = dataDir): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readPid(path);
      if (owner !== undefined && owner !== process.pid && alive(owner)) {
        throw new DataDirInUseError(displayName, owner);
      }
      // Stale (its owner died) or half-written: take it over. Another starter racing us for the same
      // stale file loses at openSync('wx') on the next attempt.
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        if (readPid(path) === process.pid) rmSync(path, { force: true });
      },
    };
  }
  const owner = readPid(path);
  throw new DataDirInUseError(displayName, owner ?? 0);
}
