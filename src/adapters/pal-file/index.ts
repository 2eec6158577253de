/**
 * The file PAL port: one file per stored object in a directory, written atomically (temp file, fsync,
 * rename, fsync of the directory), mode 0600 in a 0700 directory. Safe to share between processes: a
 * lock file serializes the token's read-modify-write steps, and stale temp or lock files of dead
 * processes are cleaned up. The only module (besides the CLI) that touches node:fs.
 *
 * Inside `exclusive` (one token operation: a record and its index update, a key pair) the directory is
 * fsynced once, when the outermost section ends, instead of after every rename and unlink: each file's
 * data is still fsynced before it is renamed into place, and everything the section did is durable
 * before it returns. The crash-ordering argument is in the commit that introduced it (file systems that
 * make rename atomic across a crash journal directory changes in order).
 *
 * File layout: `o-<label, percent-encoded>.obj` holding one flag byte (1 = private) and the data. The
 * prefix keeps every object file apart from the temp and lock files, which start with a dot.
 * @module
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR, CKR_OBJECT_HANDLE_INVALID } from '../../pkcs11/constants.js';
import type { Pal, PalHandle, PalObjectValue } from '../../storage/pal.js';
import { tempWriterLiveness } from '../fs-common/holder.js';
import { ioError } from '../fs-common/io-error.js';
import { acquireLock, type HeldLock } from '../fs-common/lock.js';
import { fsyncDir, writeFileAtomic } from './atomic-write.js';
import { SpaceReserve } from './reserve.js';

const SUFFIX = '.obj';
/** A temp file whose writer cannot be checked is abandoned once this old: no write takes that long. */
const ABANDONED_MS = 10 * 60_000;

function ageMs(path: string): number {
  return Date.now() - statSync(path).mtimeMs;
}

/** A file's size, or -1 when there is none. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/**
 * Writes `data` over the object file at `path` after its flag byte, in place (Pal.overwrite): no new
 * blocks, so a full file system takes it. False, writing nothing, when the file is missing or its value
 * has another length.
 */
function overwriteInPlace(path: string, data: Uint8Array, label: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(`cannot open ${label}`, e);
  }
  try {
    if (fstatSync(fd).size !== data.length + 1) return false;
    for (let off = 0; off < data.length; )
      off += writeSync(fd, data, off, data.length - off, 1 + off);
    fdatasyncSync(fd);
    return true;
  } catch (e) {
    throw ioError(`cannot write ${label}`, e);
  } finally {
    closeSync(fd);
  }
}

/** A file name for a label: safe characters kept, everything else percent-encoded. */
export function fileNameOf(label: string): string {
  return `o-${encodeURIComponent(label).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}${SUFFIX}`;
}

export interface FilePalOptions {
  /** How long to wait for another process's lock before CKR_DEVICE_ERROR (ms, default 10,000). */
  lockTimeoutMs?: number;
}

export function createFilePal(dir: string, options: FilePalOptions = {}): Pal {
  const reserve = new SpaceReserve(dir);
  const handles = new Map<string, PalHandle>();
  const labels = new Map<PalHandle, string>();
  let nextHandle = 1;
  let lockDepth = 0;
  let lock: HeldLock | undefined;
  /** Renames or unlinks done inside the current exclusive section whose directory entry is not synced. */
  let dirPending = false;
  /** Outside a section every change is made durable at once; inside, at the end of the section. */
  const syncNow = () => {
    if (lockDepth > 0) dirPending = true;
    return lockDepth === 0;
  };
  /**
   * Ends a section; the outermost one syncs the directory (also after a failure: what the section did,
   * a rollback included, must not be lost) and releases the lock. Returns a sync failure, if any.
   */
  const leave = (): unknown => {
    lockDepth--;
    if (lockDepth > 0) return undefined;
    let failure: unknown;
    try {
      if (dirPending) {
        dirPending = false;
        fsyncDir(dir);
      }
    } catch (e) {
      failure = e;
    } finally {
      lock?.release();
      lock = undefined;
    }
    return failure;
  };
  const handleFor = (label: string) => {
    let h = handles.get(label);
    if (h === undefined) {
      h = nextHandle++;
      handles.set(label, h);
      labels.set(h, label);
    }
    return h;
  };
  const labelOf = (handle: PalHandle) => {
    const label = labels.get(handle);
    if (label === undefined)
      throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `no PAL object ${handle}`);
    return label;
  };
  return {
    initialize() {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Temp files left by a process that died mid-write are garbage; a live writer's are not.
        for (const name of readdirSync(dir)) {
          const writer = tempWriterLiveness(name);
          if (writer === 'dead' || (writer === 'unknown' && ageMs(join(dir, name)) > ABANDONED_MS))
            unlinkSync(join(dir, name));
        }
      } catch (e) {
        throw ioError(`cannot open store ${dir}`, e);
      }
    },
    saveObject(label, data, isPrivate) {
      lock?.heartbeat();
      const bytes = new Uint8Array(data.length + 1);
      bytes[0] = isPrivate ? 1 : 0;
      bytes.set(data, 1);
      const name = fileNameOf(label);
      const write = () => writeFileAtomic(dir, name, bytes, syncNow());
      try {
        // A value replaced by one no longer may use the reserve (reserve.ts): a delete's index update.
        if (sizeOf(join(dir, name)) >= bytes.length) reserve.spend(write);
        else write();
      } finally {
        bytes.fill(0);
      }
      // Made by the first write of a process, not by opening: reading a store writes nothing.
      reserve.ensureOnce();
      return handleFor(label);
    },
    overwrite(label, data) {
      lock?.heartbeat();
      return overwriteInPlace(join(dir, fileNameOf(label)), data, label);
    },
    findObject(label) {
      lock?.heartbeat();
      return existsSync(join(dir, fileNameOf(label))) ? handleFor(label) : 0;
    },
    getObjectValue(handle): PalObjectValue {
      const label = labelOf(handle);
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(dir, fileNameOf(label)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `${label} no longer exists`);
        }
        throw ioError(`cannot read ${label}`, e);
      }
      if (bytes.length < 1) throw new Pkcs11Error(CKR_DEVICE_ERROR, `${label}: empty file`);
      const data = new Uint8Array(bytes.subarray(1));
      const isPrivate = bytes[0] === 1;
      bytes.fill(0);
      return { data, isPrivate };
    },
    getObjectValueCleanup(value) {
      value.data.fill(0);
    },
    destroyObject(handle) {
      lock?.heartbeat();
      const label = labelOf(handle);
      try {
        unlinkSync(join(dir, fileNameOf(label)));
        if (syncNow()) fsyncDir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Pkcs11Error(CKR_OBJECT_HANDLE_INVALID, `${label} does not exist`);
        }
        throw ioError(`cannot delete ${label}`, e);
      }
      reserve.ensure();
    },
    /**
     * Durability at return: the token runs every storage change of an API call inside one section and
     * returns to the application only after `exclusive` returns, which is after the directory fsync
     * (files were fsynced before their rename), so an object reported as saved is on disk. A section
     * that throws syncs too (its rollback must not be lost); a sync failure there is not reported over
     * the section's own error, which already tells the caller that nothing was saved.
     */
    exclusive<T>(fn: () => T): T {
      if (lockDepth === 0) {
        lock = acquireLock(join(dir, '.lock'), options.lockTimeoutMs ?? 10_000, {
          onFull: () => reserve.release(),
        });
      }
      lockDepth++;
      let result: T;
      try {
        result = fn();
      } catch (e) {
        leave();
        throw e;
      }
      const failure = leave();
      if (failure !== undefined) throw ioError(`cannot sync ${dir}`, failure);
      return result;
    },
    generation() {
      // Every save renames into the directory and every destroy unlinks from it: either moves its mtime.
      const st = statSync(dir, { bigint: true });
      return `${st.mtimeNs}:${st.ctimeNs}`;
    },
    close() {
      handles.clear();
      labels.clear();
    },
  };
}
