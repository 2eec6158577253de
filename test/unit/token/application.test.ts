import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import * as C from '../../../src/pkcs11/constants.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { EC_PARAMS } from '../../helpers/keys.js';
import {
  assertRv,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  userSession,
} from '../../helpers/token.js';

const app = () =>
  new Application(new Token(createMemoryPal(), createNodeCrypto(), TEST_TOKEN_OPTIONS));

describe('C_Initialize arguments (CK_C_INITIALIZE_ARGS)', () => {
  it('pReserved not NULL → CKR_ARGUMENTS_BAD', () => {
    assertRv(() => app().initialize({ reservedIsNull: false }), C.CKR_ARGUMENTS_BAD);
  });

  it('only some mutex callbacks → CKR_ARGUMENTS_BAD', () => {
    assertRv(
      () => app().initialize({ partialMutexCallbacks: true, hasMutexCallbacks: true }),
      C.CKR_ARGUMENTS_BAD,
    );
  });

  it('mutex callbacks without CKF_OS_LOCKING_OK → CKR_CANT_LOCK', () => {
    assertRv(() => app().initialize({ hasMutexCallbacks: true, flags: 0 }), C.CKR_CANT_LOCK);
  });

  it('mutex callbacks with CKF_OS_LOCKING_OK, no arguments, or no locking at all → CKR_OK', () => {
    const a = app();
    a.initialize({ hasMutexCallbacks: true, flags: C.CKF_OS_LOCKING_OK });
    a.finalize();
    a.initialize();
    a.finalize();
    a.initialize({ flags: 0 });
    assert.deepEqual(a.getSlotList(true), [1]);
  });

  it('a failed C_Initialize leaves the module uninitialized → CKR_CRYPTOKI_NOT_INITIALIZED', () => {
    const a = app();
    assertRv(() => a.initialize({ hasMutexCallbacks: true }), C.CKR_CANT_LOCK);
    assertRv(() => a.getSlotList(true), C.CKR_CRYPTOKI_NOT_INITIALIZED);
    assertRv(() => a.finalize(), C.CKR_CRYPTOKI_NOT_INITIALIZED);
  });
});

describe('encryption calls without an operation', () => {
  // RC2 and X9.42 Diffie-Hellman are in no profile's registry (DES3 and PKCS#3 DH are, in `compatible`).
  it('an unsupported cipher → CKR_MECHANISM_INVALID; C_Encrypt before init → CKR_OPERATION_NOT_INITIALIZED', () => {
    const a = app();
    a.initialize();
    const s = a.openSession(1, C.CKF_SERIAL_SESSION);
    assertRv(() => a.encryptInit(s, { mechanism: C.CKM_RC2_CBC }, 1), C.CKR_MECHANISM_INVALID);
    assertRv(() => a.encryptInit(s, { mechanism: C.CKM_AES_CBC }, 99), C.CKR_KEY_HANDLE_INVALID);
    assertRv(() => a.encrypt(s, new Uint8Array(16), 16), C.CKR_OPERATION_NOT_INITIALIZED);
    assertRv(() => a.decryptFinal(s, 16), C.CKR_OPERATION_NOT_INITIALIZED);
    assertRv(
      () => a.deriveKey(s, { mechanism: C.CKM_X9_42_DH_DERIVE }, 1, []),
      C.CKR_MECHANISM_INVALID,
    );
    assertRv(() => a.encrypt(99, new Uint8Array(16), 16), C.CKR_SESSION_HANDLE_INVALID);
  });
});

describe('C_CloseSession and the session objects it destroys', () => {
  it("another session's operations with them end → CKR_OPERATION_NOT_INITIALIZED; others continue", () => {
    const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    const a = userSession(m);
    const b = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
    const aesOf = (s: typeof a) =>
      m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        { type: C.CKA_VALUE, value: Buffer.alloc(16, 1) },
      ]);
    const ownedByA = aesOf(a);
    const ownedByB = aesOf(b);
    const ec = m.p11.C_GenerateKeyPair(
      a,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
      [{ type: C.CKA_SIGN, value: true }],
    );
    const ecb = { mechanism: C.CKM_AES_ECB };
    m.p11.C_EncryptInit(b, ecb, ownedByA);
    m.p11.C_DecryptInit(b, ecb, ownedByB);
    m.p11.C_SignInit(b, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
    m.p11.C_VerifyInit(b, { mechanism: C.CKM_ECDSA_SHA256 }, ec.publicKey);
    m.p11.C_CloseSession(a);
    const block = Buffer.alloc(16);
    assertRv(() => m.p11.C_Encrypt(b, block, Buffer.alloc(16)), C.CKR_OPERATION_NOT_INITIALIZED);
    assertRv(() => m.p11.C_Sign(b, block, Buffer.alloc(64)), C.CKR_OPERATION_NOT_INITIALIZED);
    assertRv(() => m.p11.C_Verify(b, block, Buffer.alloc(64)), C.CKR_OPERATION_NOT_INITIALIZED);
    assertRv(() => m.p11.C_EncryptInit(b, ecb, ownedByA), C.CKR_KEY_HANDLE_INVALID);
    assert.equal(m.p11.C_Decrypt(b, block, Buffer.alloc(16)).length, 16);
    m.cleanup();
  });
});
