/**
 * Issue 16 finding 4 through the command line: one flipped bit in a flash image's sector header used
 * to make a read-only `list` rewrite 4,296 bytes, erase the token record and the key pair, and answer
 * "not initialised". Now a read writes nothing, the damage is reported, `fsck` reports without writing
 * (directory stores too) and only `fsck --repair` rewrites.
 * @module
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createFilePal } from '../../src/adapters/pal-file/index.js';
import * as C from '../../src/pkcs11/constants.js';
import { editRecord, setAttr, storedLabelOf } from '../helpers/tamper.js';
import { scratch } from '../unit/helpers/openssl.js';
import { type CliResult, cli, storeFingerprint } from './cli-harness.js';

const SO = '87654321';
const PIN = '246810';
/** Byte 12 of sector 0: the low byte of its header's sequence number. */
const SEQ_BYTE = 12;

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

function flipBit(path: string, byte: number, mask: number): void {
  const b = readFileSync(path);
  b[byte] = (b[byte] as number) ^ mask;
  writeFileSync(path, b);
}

/** A scratch store with a key pair on it, and a runner of commands against it. */
function storeWithKey(kind: 'flash' | 'directory') {
  const tmp = scratch('corepkcs11-damage-');
  const path = join(tmp.dir, kind === 'flash' ? 'device.img' : 'token');
  const store = kind === 'flash' ? `flash:${path}` : path;
  const run = (...args: string[]) =>
    cli([args[0] as string, '--store', store, ...args.slice(1)], { cwd: tmp.dir });
  ok(run('init-token', '--label', 'dev', '--so-pin', SO, '--pin', PIN), 'init-token');
  ok(run('keygen', '--label', 'device', '--pin', PIN), 'keygen');
  return { tmp, path, run };
}

/** Content and modification time: an unchanged time proves no write reached the file at all. */
function snapshot(path: string): { bytes: Buffer; mtimeNs: bigint } {
  return { bytes: readFileSync(path), mtimeNs: statSync(path, { bigint: true }).mtimeNs };
}

describe('a flash image with one flipped bit in a sector header (regression)', () => {
  const { tmp, path: image, run } = storeWithKey('flash');
  after(() => tmp.cleanup());
  before(() => flipBit(image, SEQ_BYTE, 0x01));

  it('a read-only `list` writes 0 bytes, lists the key, and warns "damaged sector 0" (was: 4,296 bytes rewritten, "not initialised")', () => {
    const before = snapshot(image);
    const r = ok(run('list'), 'list');
    const after = snapshot(image);
    assert.ok(before.bytes.equals(after.bytes), 'the image changed');
    assert.equal(after.mtimeNs, before.mtimeNs, 'the image was written to');
    assert.match(r.stdout, /public\s+device/);
    assert.match(r.stderr, /damaged sector 0: its header fails its CRC/);
    assert.doesNotMatch(r.stderr + r.stdout, /not initialised/);
  });

  it('`fsck` reports the damaged sector and writes nothing → exit 7', () => {
    const before = snapshot(image);
    const r = run('fsck');
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /storage: damaged sector 0/);
    assert.equal(snapshot(image).mtimeNs, before.mtimeNs);
  });

  it('a login works beside the damaged sector and leaves it as it is; `fsck --repair` then heals the image, keys intact', () => {
    const sector0 = () => readFileSync(image).subarray(0, 64 * 1024);
    const kept = Buffer.from(sector0());
    const listed = ok(run('list', '--pin', PIN), 'list with login');
    assert.match(listed.stdout, /private\s+device/);
    assert.ok(sector0().equals(kept), 'the damaged sector was written');
    assert.match(
      ok(run('fsck', '--repair'), 'fsck --repair').stdout,
      /repaired: sector 0: \d+ records written again/,
    );
    const clean = ok(run('fsck'), 'fsck after repair');
    assert.match(clean.stdout, /healthy/);
    ok(
      run('sign', '--label', 'device', '--pin', PIN, '-i', image, '-o', join(tmp.dir, 'sig')),
      'sign after repair',
    );
  });
});

describe('a flash image whose token record cannot be read', () => {
  const { tmp, path: image, run } = storeWithKey('flash');
  after(() => tmp.cleanup());

  before(() => {
    // Two bits in the token record's JSON (its last version): beyond what one CRC can put right.
    const bytes = readFileSync(image);
    const at = bytes.lastIndexOf('"initialized":true');
    assert.ok(at > 0);
    flipBit(image, at + 3, 0x21);
  });

  it('says "damaged" with an fsck hint, never "not initialised" → exit 7', () => {
    const r = run('list');
    assert.equal(r.code, 7);
    assert.match(r.stderr, /is damaged: corepkcs11\.token/);
    assert.match(r.stderr, /fsck/);
    assert.doesNotMatch(r.stderr, /not initialised|init-token --label/);
  });

  it('`init-token` without --force refuses and writes nothing → exit 7', () => {
    const before = snapshot(image);
    const r = run('init-token', '--label', 'new', '--so-pin', SO);
    assert.equal(r.code, 7);
    assert.match(r.stderr, /damaged, not new/);
    assert.equal(snapshot(image).mtimeNs, before.mtimeNs);
  });

  it('`fsck --repair` removes the unreadable record; `init-token` still asks for --force, then starts over', () => {
    const repaired = run('fsck', '--repair');
    assert.match(repaired.stdout, /repaired: corepkcs11\.token: unreadable, removed/);
    assert.equal(run('init-token', '--label', 'new', '--so-pin', SO).code, 7);
    ok(
      run('init-token', '--label', 'new', '--so-pin', SO, '--pin', PIN, '--force'),
      'init-token --force',
    );
    assert.match(ok(run('fsck'), 'fsck').stdout, /healthy/);
  });
});

describe('`fsck` on a directory store', () => {
  const { tmp, path: dir, run } = storeWithKey('directory');
  after(() => tmp.cleanup());

  it('a healthy store → "healthy", every record checked, exit 0, nothing written but the try counters', () => {
    const before = storeFingerprint(dir);
    const out = ok(run('fsck', '--pin', PIN), 'fsck').stdout;
    assert.match(out, /record authentication: every record checked/);
    assert.match(out, /healthy/);
    assert.deepEqual(storeFingerprint(dir), before);
  });

  it('a store from before record MACs: fsck --pin says so and does not migrate it', () => {
    const old = join(tmp.dir, 'pre-mac');
    cpSync(
      fileURLToPath(new URL('../../../test/fixtures/pre-mac-store/directory', import.meta.url)),
      old,
      {
        recursive: true,
      },
    );
    const before = storeFingerprint(old);
    const r = cli(['fsck', '--store', old, '--pin', '246810'], { cwd: tmp.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /from before record MACs: its first login migrates it/);
    const after = storeFingerprint(old);
    for (const [name, hash] of Object.entries(before)) {
      assert.equal(after[name], hash, `${name} was rewritten`);
    }
  });

  it('with the PIN, a record edited outside the token (CRC fixed) → "authentication:", exit 7; --repair removes it', () => {
    const label = storedLabelOf(createFilePal(dir), 'device', C.CKO_PRIVATE_KEY);
    editRecord(createFilePal(dir), label, setAttr(C.CKA_EXTRACTABLE, Uint8Array.of(1)));
    const before = storeFingerprint(dir);
    const r = run('fsck', '--pin', PIN);
    assert.equal(r.code, 7, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /authentication: object [0-9a-f]+ \("device"\) is not used: it fails its MAC/,
    );
    assert.equal(
      run('list', '--pin', PIN).stdout.match(/private\s+device/),
      null,
      'the edited key is used',
    );
    assert.deepEqual(
      storeFingerprint(dir),
      before,
      'a login that refuses a record writes nothing over it',
    );
    assert.match(
      ok(run('fsck', '--pin', PIN, '--repair'), 'fsck --repair').stdout,
      /failed authentication, removed/,
    );
    assert.match(ok(run('fsck', '--pin', PIN), 'fsck').stdout, /healthy/);
  });

  it('an object file with a damaged byte → reported, exit 7, nothing written', () => {
    const name = readdirSync(dir).find((n) => n.startsWith('o-corepkcs11.obj.'));
    assert.ok(name);
    flipBit(join(dir, name), 40, 0x5a);
    const before = storeFingerprint(dir, { tryCounters: true });
    const r = run('fsck');
    assert.equal(r.code, 7, r.stdout + r.stderr);
    assert.match(r.stdout, /record: corepkcs11\.obj\.[0-9a-f]+: stored object record is damaged/);
    assert.deepEqual(storeFingerprint(dir, { tryCounters: true }), before);
  });
});
