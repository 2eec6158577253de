/**
 * Token profiles per PAL port (issue 14 §1): the profile is chosen by the options of the application
 * that runs C_InitToken, recorded in the store, kept across restarts whatever later openers ask for,
 * changed only by a new C_InitToken; a record from before profiles is strict. And the first behaviour
 * that depends on it (§4): RSA key sizes, the same for C_CreateObject as for the operations.
 * @module
 */
import assert from 'node:assert/strict';
import { constants, privateEncrypt, sign } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import type { Profile } from '../../src/objects/profile.js';
import { decodeJsonRecord, encodeJsonRecord } from '../../src/storage/json-record.js';
import { freshRsaMaterial, type RsaMaterial, rsaPublicTemplate } from '../helpers/material.js';
import { rewriteStored } from '../helpers/store.js';
import {
  assertRv,
  C,
  freshModule,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const withProfile = (profile: Profile) => ({ ...TEST_TOKEN_OPTIONS, profile });
const TOKEN_RECORD = 'corepkcs11.token';

let rsa512: RsaMaterial | undefined;
const small = () => {
  rsa512 ??= freshRsaMaterial(512);
  return rsa512;
};

function rsaKeyPair(m: TestModule, s: Handle, bits: number) {
  return m.p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: C.CKA_MODULUS_BITS, value: bits }],
    [],
  );
}

for (const port of PAL_PORTS) {
  describe(`token profile [${port.name}]`, () => {
    let open: TestModule[] = [];
    const track = (m: TestModule) => {
      open.push(m);
      return m;
    };
    afterEach(() => {
      for (const m of open) m.cleanup();
      open = [];
    });

    it('a token initialized without asking is compatible, and stays so when reopened as strict', () => {
      const m = track(initializedModule(port));
      assert.equal(m.p11.tokenProfile(), 'compatible');
      const again = m.restart();
      assert.equal(again.p11.tokenProfile(), 'compatible');
      const strictOpener = freshModuleOver(m, 'strict');
      assert.equal(strictOpener.p11.tokenProfile(), 'compatible');
    });

    it('profile strict is recorded at C_InitToken and survives a restart', () => {
      const m = track(initializedModule(port, withProfile('strict')));
      assert.equal(m.p11.tokenProfile(), 'strict');
      assert.equal(freshModuleOver(m, 'compatible').p11.tokenProfile(), 'strict');
    });

    it('before C_InitToken the profile is the one C_InitToken would record', () => {
      const m = track(freshModule(port, withProfile('strict')));
      assert.equal(m.p11.tokenProfile(), 'strict');
      m.p11.C_InitToken(m.slot, SO_PIN, 'first');
      assert.equal(m.p11.tokenProfile(), 'strict');
    });

    it('C_InitToken by an application opened as strict turns a compatible token strict', () => {
      const m = track(initializedModule(port));
      const strict = freshModuleOver(m, 'strict');
      strict.p11.C_InitToken(strict.slot, SO_PIN, 'again');
      assert.equal(strict.p11.tokenProfile(), 'strict');
      assert.equal(freshModuleOver(m, 'compatible').p11.tokenProfile(), 'strict');
    });

    it('a token record stored before profiles existed is strict', () => {
      const m = track(initializedModule(port));
      rewriteStored(m.pal, TOKEN_RECORD, (b) => {
        const meta = decodeJsonRecord(b, TOKEN_RECORD) as Record<string, unknown>;
        delete meta.profile;
        return Buffer.from(encodeJsonRecord(meta));
      });
      assert.equal(m.restart().p11.tokenProfile(), 'strict');
    });

    it('an unknown profile in the options → TypeError', () => {
      assert.throws(
        () => freshModule(port, { ...TEST_TOKEN_OPTIONS, profile: 'lenient' as Profile }),
        TypeError,
      );
    });
  });

  describe(`object defaults per profile [${port.name}]`, () => {
    let m: TestModule | undefined;
    afterEach(() => m?.cleanup());

    /** CKA_SENSITIVE of a generated and an unwrapped secret key, CKA_PRIVATE of a data object. */
    function defaults(profile: Profile) {
      m = initializedModule(port, withProfile(profile));
      const s = userSession(m);
      const p11 = m.p11;
      const bool = (h: Handle, type: number) => {
        const [a] = p11.C_GetAttributeValue(s, h, [{ type }]);
        return (a?.value as Buffer | undefined)?.[0];
      };
      const aes = (extra: { type: number; value: boolean }[]) =>
        p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
          { type: C.CKA_VALUE_LEN, value: 16 },
          ...extra,
        ]);
      const key = aes([]);
      const kek = aes([
        { type: C.CKA_WRAP, value: true },
        { type: C.CKA_UNWRAP, value: true },
        { type: C.CKA_DECRYPT, value: false },
      ]);
      const extractable = aes([
        { type: C.CKA_EXTRACTABLE, value: true },
        { type: C.CKA_SENSITIVE, value: false },
      ]);
      const wrapped = p11.C_WrapKey(
        s,
        { mechanism: C.CKM_AES_KEY_WRAP },
        kek,
        extractable,
        Buffer.alloc(64),
      );
      const unwrapped = p11.C_UnwrapKey(s, { mechanism: C.CKM_AES_KEY_WRAP }, kek, wrapped, [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
      ]);
      const data = p11.C_CreateObject(s, [{ type: C.CKA_CLASS, value: C.CKO_DATA }]);
      const pair = p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }],
        [],
      );
      return {
        secret: bool(key, C.CKA_SENSITIVE),
        unwrapped: bool(unwrapped, C.CKA_SENSITIVE),
        privateKey: bool(pair.privateKey, C.CKA_SENSITIVE),
        data: bool(data, C.CKA_PRIVATE),
        publicKey: bool(pair.publicKey, C.CKA_PRIVATE),
      };
    }

    it('compatible, as SoftHSMv2: secret keys not sensitive, data objects private; private keys stay sensitive', () => {
      assert.deepEqual(defaults('compatible'), {
        secret: 0,
        unwrapped: 0,
        privateKey: 1,
        data: 1,
        publicKey: 0,
      });
      // a private data object needs a login: a public session cannot create one without asking
      const pub = (m as TestModule).p11.C_OpenSession(
        (m as TestModule).slot,
        C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION,
      );
      (m as TestModule).p11.C_Logout(pub);
      assertRv(
        () => (m as TestModule).p11.C_CreateObject(pub, [{ type: C.CKA_CLASS, value: C.CKO_DATA }]),
        C.CKR_USER_NOT_LOGGED_IN,
      );
    });

    it('strict: secret keys sensitive, data objects public', () => {
      assert.deepEqual(defaults('strict'), {
        secret: 1,
        unwrapped: 1,
        privateKey: 1,
        data: 0,
        publicKey: 0,
      });
    });
  });

  describe(`RSA key sizes per profile [${port.name}]`, () => {
    let m: TestModule | undefined;
    afterEach(() => m?.cleanup());

    it('compatible generates 1024-bit keys; 1016 and 8200 bits → CKR_KEY_SIZE_RANGE', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const { privateKey } = rsaKeyPair(m, s, 1024);
      const [bits] = m.p11.C_GetAttributeValue(s, privateKey, [{ type: C.CKA_MODULUS }]);
      assert.equal((bits?.value as Buffer | undefined)?.length, 128);
      assertRv(() => rsaKeyPair(m as TestModule, s, 1016), C.CKR_KEY_SIZE_RANGE);
      assertRv(() => rsaKeyPair(m as TestModule, s, 8200), C.CKR_KEY_SIZE_RANGE);
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_RSA_PKCS_KEY_PAIR_GEN);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [1024, 8192]);
    });

    it('strict generates from 2048 bits: 1024 → CKR_KEY_SIZE_RANGE', () => {
      m = initializedModule(port, withProfile('strict'));
      const s = userSession(m);
      assertRv(() => rsaKeyPair(m as TestModule, s, 1024), C.CKR_KEY_SIZE_RANGE);
      rsaKeyPair(m, s, 2048);
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_RSA_PKCS_KEY_PAIR_GEN);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [2048, 4096]);
    });

    it('compatible stores a 512-bit public key and verifies with it (PKCS#1 v1.5, raw)', () => {
      m = initializedModule(port);
      const s = userSession(m);
      const k = small();
      const pub = m.p11.C_CreateObject(s, rsaPublicTemplate(k));
      const data = Buffer.from('short key, still a key');
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_SHA256_RSA_PKCS }, pub);
      m.p11.C_Verify(s, data, sign('sha256', data, k.privateKey));
      const raw = Buffer.alloc(64, 7);
      raw[0] = 0;
      const sig = privateEncrypt({ key: k.privateKey, padding: constants.RSA_NO_PADDING }, raw);
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_X_509 }, pub);
      m.p11.C_Verify(s, raw, sig);
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_RSA_PKCS);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [512, 16384]);
    });

    it('strict refuses a 512-bit key at C_CreateObject → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      m = initializedModule(port, withProfile('strict'));
      const s = userSession(m);
      assertRv(
        () => (m as TestModule).p11.C_CreateObject(s, rsaPublicTemplate(small())),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_RSA_PKCS);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [1024, 8192]);
    });
  });
}

/** A second application over the same storage, opened (after a restart) with `profile` in its options. */
function freshModuleOver(m: TestModule, profile: Profile): TestModule {
  const port = {
    name: 'reopen',
    create: () => ({ pal: m.reopen(), reopen: m.reopen, cleanup() {} }),
  };
  return freshModule(port, withProfile(profile));
}
