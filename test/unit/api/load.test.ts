/**
 * load() as pkcs11js's load(): a store that is not there is a NativeError and is never created; an
 * existing empty directory is an uninitialized token; `create` makes a store on purpose. The same rule
 * for `corepkcs11 serve`, which also takes its store from COREPKCS11_STORE.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PKCS11 } from '../../../src/create.js';
import { NativeError, Pkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import { baseEnv, CLI_PATH, cli } from '../../e2e/cli-harness.js';
import { scratch } from '../helpers/openssl.js';

const tmp = scratch('corepkcs11-load-');
after(() => tmp.cleanup());

function assertNativeError(fn: () => unknown, path: string, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NativeError, `not a NativeError: ${e}`);
    assert.ok(!(e instanceof Pkcs11Error), 'a load failure carries no CKR code');
    assert.ok(e.message.startsWith(`${path}: cannot open token store: `), e.message);
    assert.match(e.message, reason);
    return true;
  });
}

describe('load(): a store must exist, as a library must for pkcs11js', () => {
  it('a directory that does not exist → NativeError "No such file or directory", and nothing is created', () => {
    const path = join(tmp.dir, 'typo', 'token');
    const p11 = new PKCS11();
    assertNativeError(() => p11.load(path), path, /No such file or directory$/);
    assert.equal(existsSync(join(tmp.dir, 'typo')), false);
    assert.equal(p11.libPath, '', 'a failed load leaves nothing loaded');
    assert.throws(() => new PKCS11(path), NativeError);
    assert.equal(existsSync(path), false);
  });

  it('a flash image that does not exist → NativeError, no image made', () => {
    const path = join(tmp.dir, 'missing.img');
    assertNativeError(() => new PKCS11(`flash:${path}`), path, /No such file or directory$/);
    assert.equal(existsSync(path), false);
  });

  it('a regular file where a directory is expected → NativeError "not a token directory"', () => {
    const path = join(tmp.dir, 'plain-file');
    writeFileSync(path, 'not a token');
    assertNativeError(() => new PKCS11(path), path, /not a token directory$/);
  });

  it('an existing empty directory opens an uninitialized token', () => {
    const path = join(tmp.dir, 'empty');
    mkdirSync(path);
    const p11 = new PKCS11(path);
    p11.C_Initialize();
    const [slot] = p11.C_GetSlotList(true);
    assert.ok(slot);
    assert.equal(p11.C_GetTokenInfo(slot).flags & C.CKF_TOKEN_INITIALIZED, 0);
    p11.C_Finalize();
    p11.close();
  });

  it('{ create: true } makes the directory, or the flash image, and opens it', () => {
    const dir = join(tmp.dir, 'new', 'token');
    const p11 = new PKCS11(dir, { create: true });
    p11.C_Initialize();
    assert.ok(existsSync(dir));
    p11.C_Finalize();
    p11.close();
    const image = join(tmp.dir, 'new.img');
    const flash = new PKCS11(`flash:${image}`, { create: true });
    flash.C_Initialize();
    assert.ok(existsSync(image));
    flash.C_Finalize();
    flash.close();
  });
});

describe('corepkcs11 serve: the store must exist too', () => {
  it('--store naming a missing directory → exit 7, nothing created', () => {
    const path = join(tmp.dir, 'serve-typo');
    const r = cli(['serve', '--store', path, '--socket', join(tmp.dir, 's1.sock')], {
      cwd: tmp.dir,
    });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /no token store at .*serve-typo/);
    assert.equal(existsSync(path), false);
  });

  it('COREPKCS11_STORE is the store when --store is not given (a missing one → exit 7)', () => {
    const path = join(tmp.dir, 'serve-env-typo');
    const r = cli(['serve', '--socket', join(tmp.dir, 's2.sock')], {
      cwd: tmp.dir,
      env: { COREPKCS11_STORE: path },
    });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /serve-env-typo/);
    assert.equal(existsSync(path), false);
  });

  it('COREPKCS11_STORE naming an existing empty directory is served', async () => {
    const path = join(tmp.dir, 'serve-env');
    mkdirSync(path);
    const socket = join(tmp.dir, 's3.sock');
    const server = spawn(process.execPath, [CLI_PATH, 'serve', '--socket', socket, '-q'], {
      env: { ...baseEnv(), COREPKCS11_STORE: path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<number | null>((r) => server.on('close', r));
    try {
      // It names its store on stderr once it listens (after the address lines on stdout).
      await new Promise<void>((resolve, reject) => {
        server.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (stderr.includes(' on ')) resolve();
        });
        server.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      assert.match(stderr, new RegExp(`token ${path} on `));
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});
