/**
 * A cross-process lock on a directory: a lock file created with O_EXCL holding the owner's pid.
 * A lock whose owner has died is broken; waiting sleeps synchronously (the token core is synchronous).
 * @module
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock at `path`, returning its release function. */
export function acquireLock(path: string, timeoutMs: number): () => void {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // broken by someone who believed us dead; nothing to release
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Pkcs11Error(CKR_DEVICE_ERROR, `cannot lock the store: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(path, 'utf8'));
    } catch {
      continue; // released between our attempts
    }
    // An empty file is a lock being created right now; only a dead owner's lock is broken.
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      try {
        unlinkSync(path);
      } catch {
        // someone else broke it first
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `the store is locked by process ${owner} (timed out)`,
      );
    }
    sleep(wait);
  }
}
