/**
 * A cross-process lock on a store: a symbolic link whose target names the holder (holder.ts: boot id,
 * /proc identity, pid, start time, PID namespace) and a nonce. symlink() creates it with that content
 * in one atomic step, failing when a lock exists, and a short target lives in the inode: taking the lock
 * needs no data block, so it works on a full disk. Where symbolic links are refused (FAT, some mounts),
 * the lock is a file with the same content (written under a unique name, then hard-linked into place).
 *
 * A lock whose holder is dead is broken at once, however new; one whose holder runs is never broken,
 * however old. A holder this process cannot check (another kernel: a host sharing the file system, or
 * this one before a reboot; a PID namespace it cannot see) is judged by the lock's age: the holder
 * refreshes the lock's time while it works (heartbeat), so a lock left untouched for UNKNOWN_STALE_MS
 * belongs to a holder that is gone. Waiting sleeps synchronously (the token core is synchronous).
 * @module
 */
import {
  closeSync,
  linkSync,
  lstatSync,
  lutimesSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import {
  describeHolder,
  type Holder,
  type Liveness,
  livenessOf,
  parseTag,
  pidExists,
  selfHolder,
  tagOf,
  tempMark,
} from './holder.js';
import { ioError } from './io-error.js';

/** A lock without a holder in it (an older version killed between create and write) is stale this old. */
const UNREADABLE_LOCK_STALE_MS = 5_000;
/** A lock whose holder cannot be checked is stale once untouched this long (heartbeats come far more often). */
export const UNKNOWN_STALE_MS = 15_000;
/** How often a holder refreshes its lock's time while it works. */
const HEARTBEAT_MS = 2_000;

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

const nonce = () => Math.random().toString(36).slice(2, 8);

/** A name beside the lock for our own files, marked so a store removes it once we are gone. */
function besideLock(path: string, what: string): string {
  return `${path}${tempMark()}${what}-${nonce()}`;
}

const LINKS_REFUSED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Creates the lock with `content` in it; false when another lock is in place. */
function tryCreate(path: string, content: string): boolean {
  try {
    symlinkSync(content, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!LINKS_REFUSED.has(code)) throw ioError('cannot lock the store', e);
  }
  return createAsFile(path, content);
}

/** The lock as a regular file, where symbolic links are refused. */
function createAsFile(path: string, content: string): boolean {
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
      if (!LINKS_REFUSED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      return createInPlace(path, content); // no hard links either
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
 * broken once stale. Only where neither symbolic nor hard links exist.
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
  /** The holder, a bare pid (an older version's lock), or undefined when the lock names none. */
  holder: Holder | number | undefined;
  /** The whole content: the holder and its nonce, which tells two locks of one process apart. */
  content: string;
  ageMs: number;
}

/** Who holds the lock at `path`, or undefined when there is no lock. */
function ownerOf(path: string): Owner | undefined {
  try {
    const st = lstatSync(path);
    const content = st.isSymbolicLink() ? readlinkSync(path) : readFileSync(path, 'utf8');
    const ageMs = Date.now() - st.mtimeMs;
    const tagged = /^(2\.[0-9a-z.]+)\.[0-9a-z]+$/.exec(content);
    const legacy = /^(\d+)(?: \w+)?\s*$/.exec(content);
    const holder = tagged ? parseTag(tagged[1] as string) : legacy ? Number(legacy[1]) : undefined;
    return { holder, content, ageMs };
  } catch {
    return undefined;
  }
}

/** What can be told about the lock's holder: an unreadable lock is judged by its age, like 'unknown'. */
function livenessOfOwner(owner: Owner): Liveness | 'unreadable' {
  const { holder } = owner;
  if (holder === undefined) return 'unreadable';
  if (typeof holder === 'number') return pidExists(holder) ? 'unknown' : 'dead';
  return livenessOf(holder);
}

function describe(owner: Owner): string {
  const { holder } = owner;
  if (holder === undefined) return 'an unreadable lock';
  return typeof holder === 'number' ? `process ${holder}` : describeHolder(holder);
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

export interface HeldLock {
  /** Gives the lock up (only if it is still ours: one broken by a process that believed us dead is not). */
  release(): void;
  /** Called as the holder works: refreshes the lock's time every HEARTBEAT_MS, so it never looks abandoned. */
  heartbeat(): void;
}

export interface LockOptions {
  /** Called when the file system is full; returns true if it freed room, and taking the lock is retried. */
  onFull?: () => boolean;
  /** Age at which a lock whose holder cannot be checked is stale (default UNKNOWN_STALE_MS). */
  unknownStaleMs?: number;
  /** How often the holder's heartbeat refreshes the lock's time (default HEARTBEAT_MS). */
  heartbeatMs?: number;
}

function create(path: string, content: string, options: LockOptions): boolean {
  try {
    return tryCreate(path, content);
  } catch (e) {
    if (!(e instanceof Pkcs11Error) || !options.onFull?.()) throw e;
    return tryCreate(path, content);
  }
}

/**
 * Takes the lock at `path`, waiting up to `timeoutMs` for a live holder. A holder that can only be judged
 * by age is waited for until its lock turns stale, even past `timeoutMs`, so that a lock left by a
 * process that cannot be checked costs one slow call, not a failed one.
 */
export function acquireLock(path: string, timeoutMs: number, options: LockOptions = {}): HeldLock {
  const unknownStaleMs = options.unknownStaleMs ?? UNKNOWN_STALE_MS;
  const started = Date.now();
  let deadline = started + timeoutMs;
  const content = `${tagOf(selfHolder())}.${nonce()}`;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    if (create(path, content, options)) return held(path, content, options.heartbeatMs);
    const owner = ownerOf(path);
    if (owner === undefined) continue; // released between our attempts
    const liveness = livenessOfOwner(owner);
    const staleAfter = liveness === 'unreadable' ? UNREADABLE_LOCK_STALE_MS : unknownStaleMs;
    const byAge = liveness === 'unknown' || liveness === 'unreadable';
    if (liveness === 'dead' || (byAge && owner.ageMs > staleAfter)) {
      breakStale(path, owner);
      continue;
    }
    const now = Date.now();
    // Wait for such a lock to turn stale rather than give up just before it does (bounded all the same).
    if (liveness === 'unknown') {
      const stale = now + staleAfter - owner.ageMs + 100;
      deadline = Math.max(deadline, Math.min(stale, started + timeoutMs + staleAfter));
    }
    if (now > deadline) {
      const hint =
        liveness !== 'unknown'
          ? ''
          : Number.isFinite(staleAfter)
            ? `; it cannot be checked from here and is broken once untouched for ${staleAfter / 1000} s`
            : `; it cannot be checked from here: if no process uses the store, remove ${path}`;
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `the store is locked by ${describe(owner)}${timeoutMs > 0 ? ' (timed out)' : ''}${hint}`,
      );
    }
    sleep(wait);
  }
}

function held(path: string, content: string, heartbeatMs = HEARTBEAT_MS): HeldLock {
  let touched = Date.now();
  return {
    release() {
      if (ownerOf(path)?.content === content) unlinkQuietly(path);
    },
    heartbeat() {
      const now = Date.now();
      if (now - touched < heartbeatMs) return;
      touched = now;
      try {
        lutimesSync(path, now / 1000, now / 1000);
      } catch {
        // gone (broken by someone who judged us dead): release will find it is not ours
      }
    },
  };
}
