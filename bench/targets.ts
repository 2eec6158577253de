/**
 * What the benchmark runs on: our token over each PAL port (memory, a directory, simulated flash), and
 * SoftHSMv2 through pkcs11js for side-by-side figures. Both are driven through the same pkcs11js API, so
 * every case is written once.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeCrypto } from '../src/adapters/crypto-node/index.js';
import { createFilePal } from '../src/adapters/pal-file/index.js';
import { createFlashPal } from '../src/adapters/pal-flash/index.js';
import { createMemoryPal } from '../src/adapters/pal-memory/index.js';
import type { Handle } from '../src/api/convert.js';
import { PKCS11 } from '../src/api/pkcs11.js';
import * as C from '../src/pkcs11/constants.js';
import type { Pal } from '../src/storage/pal.js';
import { Application } from '../src/token/application.js';
import { Token } from '../src/token/token.js';

export type Port = 'memory' | 'file' | 'flash';
export const PORTS: Port[] = ['memory', 'file', 'flash'];

/** The subset of the pkcs11js API the cases use (ours and pkcs11js's PKCS11 both have it). */
export type P11 = Pick<
  PKCS11,
  | 'C_Initialize'
  | 'C_Finalize'
  | 'C_GetSlotList'
  | 'C_OpenSession'
  | 'C_CloseSession'
  | 'C_Login'
  | 'C_CreateObject'
  | 'C_DestroyObject'
  | 'C_FindObjectsInit'
  | 'C_FindObjects'
  | 'C_FindObjectsFinal'
  | 'C_GetAttributeValue'
  | 'C_GenerateKeyPair'
  | 'C_DeriveKey'
  | 'C_SignInit'
  | 'C_Sign'
  | 'C_VerifyInit'
  | 'C_Verify'
  | 'C_DigestInit'
  | 'C_Digest'
  | 'C_GenerateRandom'
>;

export interface Target {
  name: string;
  p11: P11;
  slot: Handle;
  session: Handle;
  /** Re-opens the module (C_Finalize + C_Initialize + session + login), for C_Initialize costs. */
  reinitialize(): void;
  /**
   * A cold start over the same storage, as a new process sees it: a new token over a new PAL reads
   * every object, then C_Initialize, a session, C_Finalize. No login, which would time the PIN
   * derivation instead. (SoftHSMv2 re-reads its store on every C_Initialize: there it is C_Finalize +
   * C_Initialize + C_OpenSession; the session stays open, not logged in.)
   */
  coldOpen(): void;
  close(): void;
}

export const USER_PIN = '0000';
const SO_PIN = '12345678';

function palFor(port: Port, dir: string): Pal {
  if (port === 'memory') return createMemoryPal();
  if (port === 'file') return createFilePal(dir);
  return createFlashPal({
    image: new Uint8Array(256 * 65536).fill(0xff),
    geometry: { sectorCount: 256 },
  });
}

function open(p11: P11, name: string, close: () => void, coldOpen?: () => void): Target {
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  const t: Target = {
    name,
    p11,
    slot,
    session: Buffer.alloc(8),
    reinitialize() {
      p11.C_Finalize();
      p11.C_Initialize();
      t.session = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      p11.C_Login(t.session, C.CKU_USER, USER_PIN);
    },
    coldOpen:
      coldOpen ??
      (() => {
        p11.C_Finalize();
        p11.C_Initialize();
        t.session = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      }),
    close,
  };
  t.session = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(t.session, C.CKU_USER, USER_PIN);
  return t;
}

/** 1,000 PIN rounds: the benchmark measures operations, not PIN derivation. */
const BENCH_TOKEN_OPTIONS = {
  pinIterations: 1000,
  allowWeakPinIterations: true,
  maxObjects: 100_000,
  maxStorageBytes: 1024 * 1024 * 1024,
};

/** Our token over a fresh store on `port`, initialized, with a logged-in R/W session. */
export function ours(port: Port): Target {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-bench-'));
  const pal = palFor(port, dir);
  // Above the default limits: the scaling cases hold 10,000 objects and then create more.
  const token = new Token(pal, createNodeCrypto(), BENCH_TOKEN_OPTIONS);
  const p11 = new PKCS11();
  p11.attach(new Application(token));
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  p11.C_InitToken(slot, SO_PIN, 'bench');
  const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(so, C.CKU_SO, SO_PIN);
  p11.C_InitPIN(so, USER_PIN);
  p11.C_Finalize();
  const coldOpen = () => {
    // The memory and flash stores live in this process: the same PAL instance is their "disk".
    const again = new Token(
      port === 'file' ? createFilePal(dir) : pal,
      createNodeCrypto(),
      BENCH_TOKEN_OPTIONS,
    );
    const cold = new PKCS11();
    cold.attach(new Application(again));
    cold.C_Initialize();
    cold.C_OpenSession(cold.C_GetSlotList(true)[0] as Handle, C.CKF_SERIAL_SESSION);
    cold.C_Finalize();
    if (port === 'file') again.close();
  };
  return open(
    p11,
    `corepkcs11 (${port})`,
    () => {
      token.close();
      rmSync(dir, { recursive: true, force: true });
    },
    coldOpen,
  );
}

const SOFTHSM_LIBS = [
  process.env.SOFTHSM2_LIB ?? '',
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
];

/** SoftHSMv2 (file object store) on a fresh token, or why it cannot be used. */
export function softhsm(): Target | string {
  const lib = SOFTHSM_LIBS.find((p) => p !== '' && existsSync(p));
  if (!lib) return 'libsofthsm2.so not found (apt-get install softhsm2)';
  let pkcs11js: { PKCS11: new () => P11 & { load(p: string): void; close(): void } };
  try {
    pkcs11js = createRequire(import.meta.url)('pkcs11js');
  } catch {
    return 'the pkcs11js package is not installed (npm install)';
  }
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-bench-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(
    conf,
    `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  process.env.SOFTHSM2_CONF = conf;
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', 'bench', '--pin', USER_PIN, '--so-pin', SO_PIN],
    {
      stdio: 'ignore',
    },
  );
  const p11 = new pkcs11js.PKCS11();
  p11.load(lib);
  return open(p11, 'SoftHSMv2', () => {
    p11.C_Finalize();
    p11.close();
    rmSync(dir, { recursive: true, force: true });
  });
}
