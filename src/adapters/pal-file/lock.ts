/**
 * A cross-process lock on a directory: a lock file holding the owner's pid. The file appears with its
 * content already in it (written under a unique name, then hard-linked into place, which fails if a lock
 * exists), so no crash or full disk can leave an empty lock behind. A lock whose owner has died is broken;
 * waiting sleeps synchronously (the token core is synchronous).
 * @module
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import { ioError } from './io-error.js';

/**
 * A lock file without a pid in it (made by an older version killed between create and write) is stale
 * once it is this old: writing five bytes never takes that long.
 */
const UNREADABLE_LOCK_STALE_MS = 5_000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
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

/**
 * A name beside the lock for our own files: `.tmp-PID-` marks it as a temp file the store removes at
 * start-up once PID is dead (see initialize in index.ts).
 */
function besideLock(path: string, what: string): string {
  return `${path}.tmp-${process.pid}-${what}-${Math.random().toString(36).slice(2)}`;
}

/** Creates the lock with `content` (our pid and a nonce) in it; false when another lock is in place. */
function tryCreate(path: string, content: string): boolean {
  const mine = besideLock(path, 'new');
  try {
    const fd = openSync(mine, 'wx', 0o600);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(mine, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
      return createInPlace(path, content); // a file system without hard links (FAT, some mounts)
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('cannot lock the store', e);
  } finally {
    unlinkQuietly(mine);
  }
}

/**
 * The lock created by O_EXCL and then written: a crash between the two leaves an empty lock, which is
 * broken once stale (isStale). Only where hard links are refused.
 */
function createInPlace(path: string, content: string): boolean {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(path);
    throw e;
  }
  closeSync(fd);
  return true;
}

interface Owner {
  /** The owner's pid; NaN when the file holds none. */
  pid: number;
  /** The whole content: the pid and the owner's nonce, which tells two locks of one process apart. */
  content: string;
  ageMs: number;
}

/** Who holds the lock at `path`, or undefined when there is no lock. */
function ownerOf(path: string): Owner | undefined {
  try {
    const ageMs = Date.now() - statSync(path).mtimeMs;
    const content = readFileSync(path, 'utf8');
    const m = /^(\d+)(?: \w+)?$/.exec(content);
    return { pid: m ? Number(m[1]) : Number.NaN, content, ageMs };
  } catch {
    return undefined;
  }
}

function isStale(owner: Owner): boolean {
  if (Number.isNaN(owner.pid)) return owner.ageMs > UNREADABLE_LOCK_STALE_MS;
  return !isAlive(owner.pid);
}

/**
 * Breaks the stale lock `stale`. Renaming takes the lock away atomically; if what we took turns out to
 * be a fresh lock (another process broke the stale one and took the lock between our look and our
 * rename), it is linked back at once, so a live owner keeps its lock.
 */
function breakStale(path: string, stale: Owner): void {
  const aside = besideLock(path, 'stale');
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke or released it first
  }
  if (ownerOf(aside)?.content !== stale.content) {
    try {
      linkSync(aside, path);
    } catch {
      // a third process has locked meanwhile; the owner we displaced notices nothing until release
    }
  }
  unlinkQuietly(aside);
}

/** Takes the lock at `path`, returning its release function. */
export function acquireLock(path: string, timeoutMs: number): () => void {
  const deadline = Date.now() + timeoutMs;
  const content = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    if (tryCreate(path, content)) {
      return () => {
        // Release only our own lock: one broken by a process that believed us dead is not ours to remove.
        if (ownerOf(path)?.content === content) unlinkQuietly(path);
      };
    }
    const owner = ownerOf(path);
    if (owner === undefined) continue; // released between our attempts
    if (isStale(owner)) {
      breakStale(path, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `the store is locked by process ${owner.pid} (timed out)`,
      );
    }
    sleep(wait);
  }
}
