import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import type { Handle } from '../../src/api/convert.js';
import { PKCS11 } from '../../src/api/pkcs11.js';
import type { Pal } from '../../src/storage/pal.js';
import { decodeRecord, encodeRecord } from '../../src/storage/record.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { freshKeyPair } from '../helpers/keypair.js';
import { assertRv, C, PAL_PORTS, SO_PIN, TEST_TOKEN_OPTIONS, USER_PIN } from '../helpers/token.js';

/** Records every byte string the token writes, whatever the port. */
function spy(pal: Pal): { pal: Pal; writes: Uint8Array[] } {
  const writes: Uint8Array[] = [];
  return {
    writes,
    pal: {
      initialize: () => pal.initialize(),
      saveObject(label, data, isPrivate) {
        writes.push(data.slice());
        return pal.saveObject(label, data, isPrivate);
      },
      findObject: (label) => pal.findObject(label),
      getObjectValue: (h) => pal.getObjectValue(h),
      getObjectValueCleanup: (v) => pal.getObjectValueCleanup(v),
      destroyObject: (h) => pal.destroyObject(h),
      exclusive: <T>(fn: () => T): T => (pal.exclusive ? pal.exclusive(fn) : fn()),
      close: () => pal.close?.(),
    },
  };
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
}

function open(pal: Pal) {
  const token = new Token(pal, createNodeCrypto(), { ...TEST_TOKEN_OPTIONS, warn: () => {} });
  const p11 = new PKCS11();
  p11.attach(new Application(token));
  p11.C_Initialize();
  return { p11, slot: p11.C_GetSlotList(true)[0] as Handle, token };
}

function provision(p11: PKCS11, slot: Handle): void {
  p11.C_InitToken(slot, SO_PIN, 'at rest');
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(s, C.CKU_SO, SO_PIN);
  p11.C_InitPIN(s, USER_PIN);
  p11.C_CloseSession(s);
}

const ec = freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const D = Buffer.from(ec.d as string, 'base64url');
const SECRET = Buffer.from(
  '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
  'hex',
);

function importKeys(p11: PKCS11, s: Handle): void {
  p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
    { type: C.CKA_TOKEN, value: true },
    { type: C.CKA_LABEL, value: 'Device Priv TLS Key' },
    { type: C.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') },
    { type: C.CKA_VALUE, value: D },
  ]);
  p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_SHA256_HMAC },
    { type: C.CKA_TOKEN, value: true },
    { type: C.CKA_LABEL, value: 'HMAC Key' },
    { type: C.CKA_VALUE, value: SECRET },
  ]);
}

for (const port of PAL_PORTS) {
  describe(`keys at rest [${port.name}]`, () => {
    it('no byte string written to storage contains a private or secret key value (S5)', () => {
      const store = port.create();
      const { pal, writes } = spy(store.pal);
      const { p11, slot } = open(pal);
      provision(p11, slot);
      const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      p11.C_Login(s, C.CKU_USER, USER_PIN);
      importKeys(p11, s);
      p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          { type: C.CKA_MODULUS_BITS, value: 2048 },
          { type: C.CKA_TOKEN, value: true },
        ],
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: 'rsa' },
        ],
      );
      assert.ok(writes.length > 4);
      for (const w of writes) {
        assert.ok(!contains(w, D), 'EC private scalar written in clear');
        assert.ok(!contains(w, SECRET), 'HMAC key written in clear');
        assert.ok(
          !contains(w, Buffer.from(USER_PIN)) || USER_PIN.length < 6,
          'PIN written in clear',
        );
      }
      store.cleanup();
    });

    it('sealed values open after a restart and a user login, and sign as before', () => {
      const store = port.create();
      const first = open(store.pal);
      provision(first.p11, first.slot);
      const s = first.p11.C_OpenSession(first.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      first.p11.C_Login(s, C.CKU_USER, USER_PIN);
      importKeys(first.p11, s);
      first.token.close();

      const again = open(store.reopen());
      const s2 = again.p11.C_OpenSession(again.slot, C.CKF_SERIAL_SESSION);
      again.p11.C_FindObjectsInit(s2, [{ type: C.CKA_LABEL, value: 'HMAC Key' }]);
      assert.equal(again.p11.C_FindObjects(s2), null, 'private objects are invisible before login');
      again.p11.C_FindObjectsFinal(s2);
      again.p11.C_Login(s2, C.CKU_USER, USER_PIN);
      again.p11.C_FindObjectsInit(s2, [{ type: C.CKA_LABEL, value: 'HMAC Key' }]);
      const key = again.p11.C_FindObjects(s2) as Handle;
      again.p11.C_FindObjectsFinal(s2);
      again.p11.C_SignInit(s2, { mechanism: C.CKM_SHA256_HMAC }, key);
      const mac = again.p11.C_Sign(s2, Buffer.from('x'), Buffer.alloc(32));
      assert.deepEqual(mac, createHmac('sha256', SECRET).update('x').digest());
      store.cleanup();
    });

    it('C_SetPIN re-wraps the token key: the new PIN opens the objects, the old one is refused', () => {
      const store = port.create();
      const first = open(store.pal);
      provision(first.p11, first.slot);
      const s = first.p11.C_OpenSession(first.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      first.p11.C_Login(s, C.CKU_USER, USER_PIN);
      importKeys(first.p11, s);
      first.p11.C_SetPIN(s, USER_PIN, '24682468');
      first.token.close();
      const again = open(store.reopen());
      const s2 = again.p11.C_OpenSession(again.slot, C.CKF_SERIAL_SESSION);
      assertRv(() => again.p11.C_Login(s2, C.CKU_USER, USER_PIN), C.CKR_PIN_INCORRECT);
      again.p11.C_Login(s2, C.CKU_USER, '24682468');
      again.p11.C_FindObjectsInit(s2, [{ type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY }]);
      assert.equal(again.p11.C_FindObjects(s2, 10).length, 1);
      store.cleanup();
    });
  });
}

describe('keys at rest: tampering', () => {
  it('a sealed value moved from one object to another does not open: the object is dropped, with a warning', () => {
    const store = PAL_PORTS[0]?.create() as ReturnType<(typeof PAL_PORTS)[0]['create']>;
    const first = open(store.pal);
    provision(first.p11, first.slot);
    const s = first.p11.C_OpenSession(first.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    first.p11.C_Login(s, C.CKU_USER, USER_PIN);
    importKeys(first.p11, s);
    // An attacker with write access swaps the sealed CKA_VALUE blobs of two records (fixing the CRCs).
    const pal = store.pal;
    const read = (label: string) => {
      const v = pal.getObjectValue(pal.findObject(label));
      return decodeRecord(v.data);
    };
    const a = read('Device Priv TLS Key');
    const b = read('HMAC Key');
    const blobOf = (r: typeof a) => r.attributes.find((x) => x.type === C.CKA_VALUE && x.sealed);
    const [va, vb] = [blobOf(a), blobOf(b)];
    assert.ok(va && vb, 'both values are sealed');
    [va.value, vb.value] = [vb.value, va.value];
    pal.saveObject('Device Priv TLS Key', encodeRecord(a), true);
    pal.saveObject('HMAC Key', encodeRecord(b), true);
    const warnings: string[] = [];
    const token = new Token(store.reopen(), createNodeCrypto(), {
      ...TEST_TOKEN_OPTIONS,
      warn: (w) => warnings.push(w),
    });
    const p11 = new PKCS11();
    p11.attach(new Application(token));
    p11.C_Initialize();
    const slot = p11.C_GetSlotList(true)[0] as Handle;
    const s2 = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
    p11.C_Login(s2, C.CKU_USER, USER_PIN);
    p11.C_FindObjectsInit(s2, []);
    assert.equal(
      p11.C_FindObjects(s2, 10).length,
      0,
      "neither object may come back with the other one's key",
    );
    assert.ok(warnings.length >= 2, warnings.join('\n'));
  });

  it('a wrong PIN never unlocks the token key (the derived key cannot open the wrapped one)', () => {
    const store = PAL_PORTS[0]?.create() as ReturnType<(typeof PAL_PORTS)[0]['create']>;
    const { p11, slot } = open(store.pal);
    provision(p11, slot);
    const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
    assertRv(() => p11.C_Login(s, C.CKU_USER, '9999'), C.CKR_PIN_INCORRECT);
    const info = p11.C_GetTokenInfo(slot);
    assert.ok(info.flags & C.CKF_USER_PIN_COUNT_LOW);
  });
});
