/**
 * Test helpers: the PAL ports every token test runs over, a fresh module per test, a logged-in session,
 * and assertRv for expected CKR codes.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { createFilePal } from '../../src/adapters/pal-file/index.js';
import { createFlashPal } from '../../src/adapters/pal-flash/index.js';
import { createMemoryPal } from '../../src/adapters/pal-memory/index.js';
import type { Handle } from '../../src/api/convert.js';
import { PKCS11 } from '../../src/api/pkcs11.js';
import { ckrName, isPkcs11Error } from '../../src/errors.js';
import * as C from '../../src/pkcs11/constants.js';
import type { Pal } from '../../src/storage/pal.js';
import { Application } from '../../src/token/application.js';
import { Token, type TokenOptions } from '../../src/token/token.js';

export const SO_PIN = '87654321';
export const USER_PIN = '1234';
/** Fast PIN derivation for tests (production default is 600,000). */
export const TEST_TOKEN_OPTIONS: TokenOptions = {
  pinIterations: 10,
  allowWeakPinIterations: true,
  warn: () => {},
};

export interface PalPort {
  name: string;
  /**
   * A new, empty store. `reopen` gives a second PAL over the same storage (a restart); `dir` is the
   * directory of a file-backed store.
   */
  create(): { pal: Pal; reopen(): Pal; cleanup(): void; dir?: string };
}

export const PAL_PORTS: PalPort[] = [
  {
    name: 'memory',
    create() {
      const pal = createMemoryPal();
      return { pal, reopen: () => pal, cleanup() {} };
    },
  },
  {
    name: 'flash',
    create() {
      // 32 sectors of 64 KiB, erased: enough for the token tests' few hundred objects
      const image = new Uint8Array(32 * 65536).fill(0xff);
      const geometry = { sectorCount: 32 };
      return {
        pal: createFlashPal({ image, geometry }),
        reopen: () => createFlashPal({ image, geometry }),
        cleanup() {},
      };
    },
  },
  {
    name: 'file',
    create() {
      const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-test-'));
      return {
        dir,
        pal: createFilePal(dir),
        reopen: () => createFilePal(dir),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

export interface TestModule {
  p11: PKCS11;
  /** The engine behind `p11` (for what the pkcs11js API cannot express: length queries, per-attribute answers). */
  engine: Application;
  token: Token;
  /** The PAL the token was opened over (to inspect or damage what is stored). */
  pal: Pal;
  /** The store's directory on the file port. */
  dir?: string;
  slot: Handle;
  /** A second application over the same token (another process, or another RPC connection). */
  another(): PKCS11;
  /** Closes the token and opens the same storage again, as after a restart. */
  restart(): TestModule;
  /** A second PAL over the same storage (what another process would open). */
  reopen(): Pal;
  cleanup(): void;
}

function moduleOver(
  pal: Pal,
  reopen: () => Pal,
  cleanup: () => void,
  options: TokenOptions,
  dir?: string,
): TestModule {
  const token = new Token(pal, createNodeCrypto(), options);
  const open = (app = new Application(token)) => {
    const p = new PKCS11();
    p.attach(app);
    p.C_Initialize();
    return p;
  };
  const engine = new Application(token);
  const p11 = open(engine);
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  return {
    p11,
    engine,
    token,
    pal,
    ...(dir === undefined ? {} : { dir }),
    slot,
    another: () => open(),
    restart: () => moduleOver(reopen(), reopen, cleanup, options, dir),
    reopen,
    cleanup,
  };
}

/** A module over a fresh, uninitialized token (C_Initialize already called). */
export function freshModule(port: PalPort, options: TokenOptions = TEST_TOKEN_OPTIONS): TestModule {
  const { pal, reopen, cleanup, dir } = port.create();
  return moduleOver(pal, reopen, cleanup, options, dir);
}

/** A module whose token is initialized with SO_PIN and USER_PIN. */
export function initializedModule(
  port: PalPort,
  options: TokenOptions = TEST_TOKEN_OPTIONS,
): TestModule {
  const m = freshModule(port, options);
  m.p11.C_InitToken(m.slot, SO_PIN, 'test');
  const s = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  m.p11.C_Login(s, C.CKU_SO, SO_PIN);
  m.p11.C_InitPIN(s, USER_PIN);
  m.p11.C_CloseSession(s);
  return m;
}

/** A memory token initialized with SO_PIN and USER_PIN, for tests that serve it (RPC) to applications. */
export function initializedMemoryToken(): Token {
  const token = new Token(createMemoryPal(), createNodeCrypto(), TEST_TOKEN_OPTIONS);
  const app = new Application(token);
  app.initialize();
  app.initToken(1, Buffer.from(SO_PIN), Buffer.alloc(32, ' '));
  const s = app.openSession(1, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  app.login(s, C.CKU_SO, Buffer.from(SO_PIN));
  app.initPin(s, Buffer.from(USER_PIN));
  app.finalize();
  return token;
}

/** A R/W session logged in as the user. */
export function userSession(m: TestModule, rw = true): Handle {
  const s = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | (rw ? C.CKF_RW_SESSION : 0));
  m.p11.C_Login(s, C.CKU_USER, USER_PIN);
  return s;
}

/** Asserts that `fn` throws a Pkcs11Error with `code`. */
export function assertRv(fn: () => unknown, code: number): void {
  try {
    fn();
  } catch (e) {
    if (isPkcs11Error(e)) {
      assert.equal(ckrName(e.code), ckrName(code), `expected ${ckrName(code)}, got ${String(e)}`);
      return;
    }
    throw e;
  }
  assert.fail(`expected ${ckrName(code)}, but the call succeeded`);
}

export async function assertRvAsync(p: Promise<unknown>, code: number): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (isPkcs11Error(e)) {
      assert.equal(ckrName(e.code), ckrName(code), `expected ${ckrName(code)}, got ${String(e)}`);
      return;
    }
    throw e;
  }
  assert.fail(`expected ${ckrName(code)}, but the call succeeded`);
}

export { C };
