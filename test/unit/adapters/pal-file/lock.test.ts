import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { acquireLock } from '../../../../src/adapters/pal-file/lock.js';
import { assertRv, C } from '../../../helpers/token.js';

const dirs: string[] = [];
function lockPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-lock-'));
  dirs.push(dir);
  return join(dir, '.lock');
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const onlyLockLeft = (path: string) =>
  assert.deepEqual(readdirSync(join(path, '..')), existsSync(path) ? ['.lock'] : []);

describe('the file store lock', () => {
  it('is created with its owner in it and removed on release, leaving no temp file → CKR_OK', () => {
    const path = lockPath();
    const release = acquireLock(path, 1000);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} \\w+$`));
    onlyLockLeft(path);
    release();
    assert.equal(existsSync(path), false);
  });

  it('held by a live owner: a second taker waits, then times out → CKR_DEVICE_ERROR', () => {
    const path = lockPath();
    const release = acquireLock(path, 1000);
    assertRv(() => acquireLock(path, 50), C.CKR_DEVICE_ERROR);
    release();
    acquireLock(path, 50)();
  });

  it('left by a dead process is broken → CKR_OK', () => {
    const path = lockPath();
    writeFileSync(path, `${deadPid()} abc`);
    const release = acquireLock(path, 50);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
    onlyLockLeft(path);
    release();
  });

  it('an empty lock file (a crash between create and write) is broken once stale, not while fresh', () => {
    const path = lockPath();
    writeFileSync(path, '');
    assertRv(() => acquireLock(path, 50), C.CKR_DEVICE_ERROR);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const release = acquireLock(path, 50);
    onlyLockLeft(path);
    release();
    assert.equal(existsSync(path), false);
  });

  it('release leaves alone a lock that is no longer ours (broken and retaken by another)', () => {
    const path = lockPath();
    const release = acquireLock(path, 1000);
    writeFileSync(path, `${process.pid} someoneelse`);
    release();
    assert.equal(readFileSync(path, 'utf8'), `${process.pid} someoneelse`);
  });
});
