/**
 * Writing a file so that a crash leaves the old content or the new, whole: a temp file (marked with its
 * writer, fs-common/holder.ts), fsync, rename over the old, fsync of the directory.
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempMark } from '../fs-common/holder.js';
import { ioError } from '../fs-common/io-error.js';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `bytes` to `path` so that a crash leaves either the old file or the new one, whole. With
 * `syncDir` false the rename is not yet durable: the caller fsyncs the directory later.
 */
export function writeFileAtomic(
  dir: string,
  name: string,
  bytes: Uint8Array,
  syncDir = true,
): void {
  const tmp = join(dir, `.${name}${tempMark()}${Math.random().toString(36).slice(2)}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, join(dir, name));
    if (syncDir) fsyncDir(dir);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw ioError(`cannot store ${name}`, e);
  }
}
