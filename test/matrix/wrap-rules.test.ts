/**
 * Wrap/decrypt conflicts checked where they leak (issue 14 §3; objects/role-history.ts), per PAL port
 * and profile: keys may hold every role at once and use them all, but the token never turns a
 * wrapping of a sensitive key back into clear text — not through the wrapping key's decrypt or free
 * unwrap, not by granting such a role later (C_SetAttributeValue, C_CopyObject templates), not through
 * a copy, not through an RSA private key in the token. The history survives a restart and no caller
 * can read, set or search the attribute that holds it.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { ROLE_HISTORY } from '../../src/objects/role-history.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const WRAP = { mechanism: C.CKM_AES_KEY_WRAP_PAD };
const on = (type: number) => ({ type, value: true });
const off = (type: number) => ({ type, value: false });

/** An AES key with no roles but those in `extra` (a later entry of a type replaces an earlier one). */
function aes(m: TestModule, s: Handle, extra: Template): Handle {
  const base = [C.CKA_ENCRYPT, C.CKA_DECRYPT, C.CKA_WRAP, C.CKA_UNWRAP, C.CKA_EXTRACTABLE].map(off);
  const byType = new Map([...base, ...extra].map((a) => [a.type, a]));
  return m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
    { type: C.CKA_VALUE_LEN, value: 32 },
    ...byType.values(),
  ]);
}

/** A sensitive, extractable key: the one the rules protect. */
const target = (m: TestModule, s: Handle) =>
  aes(m, s, [on(C.CKA_SENSITIVE), on(C.CKA_EXTRACTABLE)]);
const wrap = (m: TestModule, s: Handle, w: Handle, k: Handle) =>
  m.p11.C_WrapKey(s, WRAP, w, k, Buffer.alloc(64));
const set = (m: TestModule, s: Handle, k: Handle, t: Template) =>
  m.p11.C_SetAttributeValue(s, k, t);

for (const port of PAL_PORTS) {
  for (const profile of ['compatible', 'strict'] as const) {
    describe(`wrap/decrypt rules [${port.name}, ${profile}]`, () => {
      let m: TestModule;
      let s: Handle;
      const open = () => {
        m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, profile });
        s = userSession(m);
      };
      afterEach(() => m?.cleanup());

      it('a key with encrypt, decrypt, wrap and unwrap is made, reads back all four and uses them all', () => {
        open();
        const k = aes(m, s, [
          on(C.CKA_ENCRYPT),
          on(C.CKA_DECRYPT),
          on(C.CKA_WRAP),
          on(C.CKA_UNWRAP),
          on(C.CKA_EXTRACTABLE),
          off(C.CKA_SENSITIVE),
        ]);
        const roles = m.p11.C_GetAttributeValue(
          s,
          k,
          [C.CKA_ENCRYPT, C.CKA_DECRYPT, C.CKA_WRAP, C.CKA_UNWRAP].map((type) => ({ type })),
        );
        assert.deepEqual(
          roles.map((a) => (a.value as Buffer)[0]),
          [1, 1, 1, 1],
        );
        const iv = { mechanism: C.CKM_AES_CBC_PAD, parameter: Buffer.alloc(16, 3) };
        m.p11.C_EncryptInit(s, iv, k);
        const c = m.p11.C_Encrypt(s, Buffer.from('both roles'), Buffer.alloc(64));
        m.p11.C_DecryptInit(s, iv, k);
        assert.equal(m.p11.C_Decrypt(s, c, Buffer.alloc(64)).toString(), 'both roles');
        // a key that is not sensitive may be wrapped by it, even itself (pkcs11js and graphene do this)
        const wrapped = wrap(m, s, k, k);
        const back = m.p11.C_UnwrapKey(s, WRAP, k, wrapped, [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
          off(C.CKA_SENSITIVE),
          on(C.CKA_EXTRACTABLE),
        ]);
        const value = (h: Handle) =>
          m.p11.C_GetAttributeValue(s, h, [{ type: C.CKA_VALUE }])[0]?.value;
        assert.deepEqual(value(back), value(k));
        const [always, never] = m.p11.C_GetAttributeValue(s, back, [
          { type: C.CKA_ALWAYS_SENSITIVE },
          { type: C.CKA_NEVER_EXTRACTABLE },
        ]);
        assert.deepEqual([always?.value, never?.value], [Buffer.of(0), Buffer.of(0)]);
      });

      it('a sensitive key under a key that can decrypt, or unwrap freely → CKR_KEY_NOT_WRAPPABLE', () => {
        open();
        const k = target(m, s);
        for (const roles of [
          [on(C.CKA_DECRYPT)],
          [on(C.CKA_UNWRAP)],
          [on(C.CKA_DECRYPT), on(C.CKA_UNWRAP)],
        ]) {
          const w = aes(m, s, [on(C.CKA_WRAP), ...roles]);
          assertRv(() => wrap(m, s, w, k), C.CKR_KEY_NOT_WRAPPABLE);
        }
        // an extractable wrapping key: an unwrapped copy of it could decrypt
        assertRv(
          () => wrap(m, s, aes(m, s, [on(C.CKA_WRAP), on(C.CKA_EXTRACTABLE)]), k),
          C.CKR_KEY_NOT_WRAPPABLE,
        );
      });

      it('a wrap-only key, and one whose CKA_UNWRAP_TEMPLATE keeps what it unwraps sensitive, wrap a sensitive key', () => {
        open();
        const k = target(m, s);
        assert.ok(wrap(m, s, aes(m, s, [on(C.CKA_WRAP)]), k).length > 0);
        const kek = aes(m, s, [
          on(C.CKA_WRAP),
          on(C.CKA_UNWRAP),
          { type: C.CKA_UNWRAP_TEMPLATE, value: [on(C.CKA_SENSITIVE)] },
        ]);
        const wrapped = wrap(m, s, kek, k);
        const tmpl = [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
        ];
        assertRv(
          () => m.p11.C_UnwrapKey(s, WRAP, kek, wrapped, [...tmpl, off(C.CKA_SENSITIVE)]),
          C.CKR_TEMPLATE_INCONSISTENT,
        );
        const back = m.p11.C_UnwrapKey(s, WRAP, kek, wrapped, tmpl);
        assertRv(
          () => m.p11.C_GetAttributeValue(s, back, [{ type: C.CKA_VALUE }]),
          C.CKR_ATTRIBUTE_SENSITIVE,
        );
      });

      it('a key that has wrapped never gains a revealing role: set, set after clearing wrap, copy, copy then set → CKR_ATTRIBUTE_READ_ONLY', () => {
        open();
        const w = aes(m, s, [on(C.CKA_WRAP)]);
        wrap(m, s, w, target(m, s));
        assertRv(() => set(m, s, w, [on(C.CKA_DECRYPT)]), C.CKR_ATTRIBUTE_READ_ONLY);
        assertRv(() => set(m, s, w, [on(C.CKA_UNWRAP)]), C.CKR_ATTRIBUTE_READ_ONLY);
        set(m, s, w, [off(C.CKA_WRAP)]);
        assertRv(() => set(m, s, w, [on(C.CKA_DECRYPT)]), C.CKR_ATTRIBUTE_READ_ONLY);
        assertRv(() => m.p11.C_CopyObject(s, w, [on(C.CKA_DECRYPT)]), C.CKR_ATTRIBUTE_READ_ONLY);
        const copy = m.p11.C_CopyObject(s, w, [{ type: C.CKA_LABEL, value: 'copy' }]);
        assertRv(() => set(m, s, copy, [on(C.CKA_DECRYPT)]), C.CKR_ATTRIBUTE_READ_ONLY);
        // taking roles away, and encrypting, stay allowed
        set(m, s, copy, [on(C.CKA_ENCRYPT)]);
        const kept = aes(m, s, [
          on(C.CKA_WRAP),
          on(C.CKA_UNWRAP),
          { type: C.CKA_UNWRAP_TEMPLATE, value: [on(C.CKA_SENSITIVE)] },
        ]);
        set(m, s, kept, [off(C.CKA_UNWRAP)]);
        set(m, s, kept, [on(C.CKA_UNWRAP)]); // its template keeps unwrapped keys sensitive
      });

      it('CKA_WRAP is granted later only where no path opens: a key that decrypted, or was copied → CKR_ATTRIBUTE_READ_ONLY', () => {
        open();
        const d = aes(m, s, [on(C.CKA_DECRYPT)]);
        assertRv(() => set(m, s, d, [on(C.CKA_WRAP)]), C.CKR_ATTRIBUTE_READ_ONLY);
        set(m, s, d, [off(C.CKA_DECRYPT)]);
        assertRv(() => set(m, s, d, [on(C.CKA_WRAP)]), C.CKR_ATTRIBUTE_READ_ONLY);
        const plain = aes(m, s, []);
        const sibling = m.p11.C_CopyObject(s, plain, []);
        set(m, s, sibling, [on(C.CKA_DECRYPT)]);
        assertRv(() => set(m, s, plain, [on(C.CKA_WRAP)]), C.CKR_ATTRIBUTE_READ_ONLY);
        assertRv(() => m.p11.C_CopyObject(s, plain, [on(C.CKA_WRAP)]), C.CKR_ATTRIBUTE_READ_ONLY);
        // a key never copied that never could reveal: wrap may be turned on, and it then wraps a sensitive key
        const fresh = aes(m, s, [on(C.CKA_ENCRYPT)]);
        set(m, s, fresh, [on(C.CKA_WRAP)]);
        assert.ok(wrap(m, s, fresh, target(m, s)).length > 0);
      });

      it('an RSA public key whose private half here can decrypt does not wrap a sensitive key → CKR_KEY_NOT_WRAPPABLE', () => {
        open();
        const pair = (decrypt: boolean) =>
          m.p11.C_GenerateKeyPair(
            s,
            { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
            [{ type: C.CKA_MODULUS_BITS, value: 2048 }, on(C.CKA_WRAP)],
            [{ type: C.CKA_DECRYPT, value: decrypt }, off(C.CKA_UNWRAP)],
          );
        const oaep = {
          mechanism: C.CKM_RSA_PKCS_OAEP,
          parameter: {
            type: C.CK_PARAMS_RSA_OAEP,
            hashAlg: C.CKM_SHA256,
            mgf: C.CKG_MGF1_SHA256,
            source: C.CKZ_DATA_SPECIFIED,
          },
        };
        const k = target(m, s);
        const decrypting = pair(true);
        assertRv(
          () => m.p11.C_WrapKey(s, oaep, decrypting.publicKey, k, Buffer.alloc(256)),
          C.CKR_KEY_NOT_WRAPPABLE,
        );
        const signing = pair(false);
        assert.equal(m.p11.C_WrapKey(s, oaep, signing.publicKey, k, Buffer.alloc(256)).length, 256);
      });

      it('the history survives a restart: the key that wrapped still cannot decrypt → CKR_ATTRIBUTE_READ_ONLY', () => {
        open();
        const w = aes(m, s, [
          on(C.CKA_WRAP),
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: 'kek' },
        ]);
        wrap(m, s, w, target(m, s));
        m = m.restart();
        s = userSession(m);
        m.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: 'kek' }]);
        const [again] = m.p11.C_FindObjects(s, 1);
        m.p11.C_FindObjectsFinal(s);
        set(m, s, again as Handle, [off(C.CKA_WRAP)]);
        assertRv(() => set(m, s, again as Handle, [on(C.CKA_DECRYPT)]), C.CKR_ATTRIBUTE_READ_ONLY);
      });

      it('the history attribute cannot be read, set, searched or given → CKR_ATTRIBUTE_TYPE_INVALID', () => {
        open();
        const k = aes(m, s, [on(C.CKA_WRAP)]);
        assertRv(
          () => m.p11.C_GetAttributeValue(s, k, [{ type: ROLE_HISTORY }]),
          C.CKR_ATTRIBUTE_TYPE_INVALID,
        );
        assertRv(
          () => set(m, s, k, [{ type: ROLE_HISTORY, value: Buffer.of(0) }]),
          C.CKR_ATTRIBUTE_TYPE_INVALID,
        );
        assertRv(
          () => m.p11.C_CopyObject(s, k, [{ type: ROLE_HISTORY, value: Buffer.of(0) }]),
          C.CKR_ATTRIBUTE_TYPE_INVALID,
        );
        assertRv(
          () => aes(m, s, [{ type: ROLE_HISTORY, value: Buffer.of(0) }]),
          C.CKR_ATTRIBUTE_TYPE_INVALID,
        );
        m.p11.C_FindObjectsInit(s, [{ type: ROLE_HISTORY, value: Buffer.of(1) }]);
        assert.deepEqual(m.p11.C_FindObjects(s, 10), []);
        m.p11.C_FindObjectsFinal(s);
      });
    });
  }
}
