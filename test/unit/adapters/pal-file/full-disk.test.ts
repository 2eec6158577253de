/**
 * The file port on a full file system (issue 16 §3): a 256 KiB tmpfs mounted in a private mount
 * namespace (`unshare -rm`, no root needed where user namespaces are allowed), filled through the PAL
 * and through the token by test/fixtures/full-disk.ts; then logins and a delete on the full disk.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../../../fixtures/full-disk.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the fixture in `mode` on a fresh tiny tmpfs; the parsed JSON line, or why it could not run. */
function onFullDisk(mode: 'pal' | 'token'): Record<string, unknown> | string {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-full-'));
  dirs.push(dir);
  const script = 'mount -t tmpfs -o size=256k tmpfs "$1" && exec "$2" "$3" "$4" "$1"';
  const r = spawnSync(
    'unshare',
    ['-rm', 'sh', '-c', script, 'sh', dir, process.execPath, fixture, mode],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.error) return `unshare cannot run here: ${r.error.message}`;
  if (r.status !== 0 && /unshare|mount/.test(r.stderr) && !r.stdout) {
    return `no private tmpfs mount here: ${r.stderr.trim()}`;
  }
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const probe = onFullDisk('pal');
const skip = typeof probe === 'string' ? probe : false;

describe('the file port on a full file system', { skip }, () => {
  it('the PAL: a save that does not fit → CKR_DEVICE_MEMORY; everything saved reads back; no temp file left; on the full disk a replacement → CKR_OK, a new value → CKR_DEVICE_MEMORY; space returns after destroy', () => {
    const r = probe as Record<string, unknown>;
    assert.ok((r.saved as number) > 10, `only ${r.saved} objects fitted`);
    assert.equal(r.failure, 'CKR_DEVICE_MEMORY');
    assert.equal(r.intact, true);
    assert.equal(r.leftovers, 0);
    assert.equal(r.replacedWhenFull, 'CKR_OK', 'a replacement no larger uses the reserve');
    assert.equal(r.newWhenFull, 'CKR_DEVICE_MEMORY', 'a new value never does');
    assert.equal(r.destroyed, 'CKR_OK');
    assert.equal(r.afterDestroy, 'CKR_OK');
  });

  it('the token: objects until CKR_DEVICE_MEMORY, all there after a restart; on the full disk a wrong PIN → CKR_PIN_INCORRECT (counted), the right one → CKR_OK, a delete → CKR_OK', () => {
    const r = onFullDisk('token') as Record<string, unknown>;
    assert.ok((r.created as number) > 10, `only ${r.created} objects fitted`);
    assert.equal(r.failure, 'CKR_DEVICE_MEMORY');
    assert.equal(r.sameSessionMatches, true);
    assert.equal(r.wrongWhenFull, 'CKR_PIN_INCORRECT');
    assert.equal(r.tryCounted, true, 'the wrong PIN cost a try, written on the full disk');
    assert.equal(r.loginWhenFull, 'CKR_OK');
    assert.equal(r.triesRestored, true, 'the right PIN gave the tries back');
    assert.equal(r.deleteWhenFull, 'CKR_OK');
    assert.equal(r.deleteHalfWhenFull, 'CKR_OK', 'a delete that rewrites an index bucket');
    assert.equal(r.otherHalfKept, true);
    assert.equal(r.login, 'CKR_OK');
    assert.equal(r.reopenedMatches, true, 'every object but the deleted one is there');
    assert.equal(r.destroyed, 'CKR_OK');
    assert.equal(r.afterDestroy, 'CKR_OK');
  });
});
