/**
 * A flash image kept in a file (`flash:IMAGE` stores): read whole at open, then written through after
 * every program page and erase, so a process killed at any moment leaves the image a real chip would
 * have after a power cut at a step boundary. One process owns an image at a time (a `.lock` file holding
 * its pid; a lock left by a dead process is taken over). Host crashes are out of scope: no fsync per step.
 * @module
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import type { FlashBacking } from './flash-device.js';

export interface ImageFile {
  image: Uint8Array;
  backing: FlashBacking;
}

/** Lock files held by live PAL instances of this process. */
const held = new Set<string>();

/** Size of an existing image file, or undefined when there is none. */
export function imageFileSize(path: string): number | undefined {
  return existsSync(path) ? statSync(path).size : undefined;
}

/** Opens (creating it erased, mode 0600, if missing) the image at `path` of exactly `size` bytes. */
export function openImageFile(path: string, size: number, lock = true): ImageFile {
  const lockPath = `${path}.lock`;
  if (lock) acquireLock(lockPath);
  let fd: number | undefined;
  try {
    if (!existsSync(path)) createErased(path, size);
    fd = openSync(path, 'r+');
    const actual = fstatSync(fd).size;
    if (actual !== size) {
      throw new Pkcs11Error(
        CKR_DEVICE_ERROR,
        `flash image ${path} is ${actual} bytes, not ${size}`,
      );
    }
    const image = new Uint8Array(size);
    for (let got = 0; got < size; ) {
      const n = readSync(fd, image, got, size - got, got);
      if (n === 0) throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image ${path} is truncated`);
      got += n;
    }
    const file = fd;
    let open = true;
    const backing: FlashBacking = {
      write(offset, bytes) {
        for (let done = 0; done < bytes.length; ) {
          done += writeSync(file, bytes, done, bytes.length - done, offset + done);
        }
      },
      close() {
        if (!open) return;
        open = false;
        closeSync(file);
        if (lock) releaseLock(lockPath);
      },
    };
    return { image, backing };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    if (lock) releaseLock(lockPath);
    if (e instanceof Pkcs11Error) throw e;
    throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image ${path}: ${String(e)}`, { cause: e });
  }
}

function createErased(path: string, size: number): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    const chunk = new Uint8Array(Math.min(size, 1 << 20)).fill(0xff);
    for (let done = 0; done < size; ) {
      done += writeSync(fd, chunk, 0, Math.min(chunk.length, size - done), done);
    }
  } finally {
    closeSync(fd);
  }
}

function acquireLock(lockPath: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    // link() creates the lock with its content in one step, so nobody ever reads a half-written pid.
    const tmp = `${lockPath}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
      linkSync(tmp, lockPath);
      held.add(lockPath);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Pkcs11Error(CKR_DEVICE_ERROR, `cannot lock ${lockPath}`, { cause: e });
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    const owner = lockOwner(lockPath);
    const ours = owner === process.pid;
    if (owner !== undefined && ((ours && held.has(lockPath)) || (!ours && isAlive(owner)))) {
      throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image in use by process ${owner}`);
    }
    try {
      unlinkSync(lockPath);
    } catch {
      // Another process took the stale lock over first; the next attempt sees its pid.
    }
  }
  throw new Pkcs11Error(CKR_DEVICE_ERROR, `cannot lock ${lockPath}`);
}

function releaseLock(lockPath: string): void {
  if (!held.delete(lockPath)) return;
  try {
    unlinkSync(lockPath);
  } catch {
    // Already gone: nothing to release.
  }
}

function lockOwner(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
