/**
 * A flash image kept in a file (`flash:IMAGE` stores): read whole at open, then written through after
 * every program page and erase, so a process killed at any moment leaves the image a real chip would
 * have after a power cut at a step boundary. One process owns an image at a time (an `IMAGE.lock` naming
 * it, fs-common/lock.ts; a lock left by a dead process is taken over). Host crashes are out of scope: no
 * fsync per step.
 * @module
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { isPkcs11Error, Pkcs11Error } from '../../errors.js';
import { CKR_DEVICE_ERROR } from '../../pkcs11/constants.js';
import { acquireLock as acquireFsLock, type HeldLock } from '../fs-common/lock.js';
import type { FlashBacking } from './flash-device.js';

export interface ImageFile {
  image: Uint8Array;
  backing: FlashBacking;
}

/** Lock files held by live PAL instances of this process. */
const held = new Map<string, HeldLock>();

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

/**
 * Takes the image's owner lock (fs-common/lock.ts) without waiting: an image has one owner for as long
 * as it is open, so a live owner means "in use". A dead owner's lock (a pid since reused, pid 1 of a
 * container that is gone) is taken over; one whose owner cannot be checked is kept (the owner holds it
 * for its whole run and refreshes nothing), and the message says how to free it.
 */
function acquireLock(lockPath: string): void {
  try {
    held.set(lockPath, acquireFsLock(lockPath, 0, { unknownStaleMs: Number.POSITIVE_INFINITY }));
  } catch (e) {
    if (!isPkcs11Error(e, CKR_DEVICE_ERROR)) throw e;
    throw new Pkcs11Error(CKR_DEVICE_ERROR, `flash image in use: ${e.detail}`, { cause: e });
  }
}

function releaseLock(lockPath: string): void {
  held.get(lockPath)?.release();
  held.delete(lockPath);
}
