/**
 * C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal (v2.40 §5.7, security.md §1.5) per PAL port:
 * templates over any attributes, enumeration continued across calls with any max count, objects
 * sharing a CKA_LABEL, visibility (private objects, other applications' session objects), no oracle on
 * sensitive values, and the operation-state codes.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import {
  dataTemplate,
  type EcMaterial,
  ecMaterial,
  ecPrivateTemplate,
  findAll,
  labelsOf,
  num,
  type RsaMaterial,
  rsaMaterial,
  rsaPrivateTemplate,
  secretTemplate,
} from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const SHARED = 'shared label';
const TOKEN_SHARED = 6;
const SESSION_SHARED = 4;

for (const port of PAL_PORTS) {
  describe(`find objects [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let ec: EcMaterial;
    let rsa: RsaMaterial;
    const ids = new Set<number>();
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      ec = ecMaterial();
      rsa = rsaMaterial();
      for (let i = 0; i < TOKEN_SHARED + SESSION_SHARED; i++) {
        const o = m.p11.C_CreateObject(
          s,
          dataTemplate(SHARED, [
            { type: C.CKA_TOKEN, value: i < TOKEN_SHARED },
            { type: C.CKA_OBJECT_ID, value: Buffer.of(i) },
          ]),
        );
        ids.add(num(o));
      }
    });
    after(() => m.cleanup());

    const create = (t: Template) => m.p11.C_CreateObject(s, t);
    const found = (t: Template, session = s) =>
      findAll(m.p11, session, t)
        .map(num)
        .sort((a, b) => a - b);

    it('several objects sharing a CKA_LABEL, token and session, are all found, each once → CKR_OK', () => {
      const hits = found([{ type: C.CKA_LABEL, value: SHARED }]);
      assert.deepEqual(
        hits,
        [...ids].sort((a, b) => a - b),
      );
      assert.equal(
        found([
          { type: C.CKA_LABEL, value: SHARED },
          { type: C.CKA_TOKEN, value: true },
        ]).length,
        TOKEN_SHARED,
      );
      assert.equal(
        found([
          { type: C.CKA_LABEL, value: SHARED },
          { type: C.CKA_TOKEN, value: false },
        ]).length,
        SESSION_SHARED,
      );
      assert.equal(
        found([{ type: C.CKA_LABEL, value: 'shared' }]).length,
        0,
        'labels match exactly',
      );
    });

    it('an empty template finds every visible object, each once → CKR_OK', () => {
      const all = findAll(m.p11, s, []).map(num);
      assert.equal(new Set(all).size, all.length);
      for (const id of ids) assert.ok(all.includes(id));
    });

    it('enumeration continues across C_FindObjects calls with any max count → CKR_OK', () => {
      const want = found([{ type: C.CKA_LABEL, value: SHARED }]);
      for (const step of [1, 2, 3, 7, want.length, 1000]) {
        assert.deepEqual(
          findAll(m.p11, s, [{ type: C.CKA_LABEL, value: SHARED }], step)
            .map(num)
            .sort((a, b) => a - b),
          want,
          `step ${step}`,
        );
      }
      // mixed counts in one enumeration, zero included, then nothing more
      m.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: SHARED }]);
      const got = [
        ...m.p11.C_FindObjects(s, 0),
        ...m.p11.C_FindObjects(s, 3),
        ...m.p11.C_FindObjects(s, 0),
        ...m.p11.C_FindObjects(s, 1),
        ...m.p11.C_FindObjects(s, 100),
      ].map(num);
      assert.deepEqual(
        got.sort((a, b) => a - b),
        want,
      );
      assert.deepEqual(m.p11.C_FindObjects(s, 5), []);
      m.p11.C_FindObjectsFinal(s);
      // the pkcs11js form without a count: one handle at a time, then null
      m.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: SHARED }]);
      const one: number[] = [];
      for (let h = m.p11.C_FindObjects(s); h !== null; h = m.p11.C_FindObjects(s)) one.push(num(h));
      m.p11.C_FindObjectsFinal(s);
      assert.deepEqual(
        one.sort((a, b) => a - b),
        want,
      );
    });

    it('templates over any attributes match byte-exactly → CKR_OK', () => {
      const key = create(
        ecPrivateTemplate(ec, [
          { type: C.CKA_ID, value: Buffer.of(0xec) },
          { type: C.CKA_LABEL, value: 'ec' },
        ]),
      );
      const secret = create(
        secretTemplate(C.CKK_SHA256_HMAC, Buffer.alloc(32, 3), [
          { type: C.CKA_LABEL, value: 'hmac' },
        ]),
      );
      assert.deepEqual(
        found([
          { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
        ]),
        [num(key)],
      );
      assert.deepEqual(found([{ type: C.CKA_ID, value: Buffer.of(0xec) }]), [num(key)]);
      assert.deepEqual(
        found([
          { type: C.CKA_EC_PARAMS, value: ec.params },
          { type: C.CKA_SIGN, value: true },
        ]),
        [num(key)],
      );
      assert.deepEqual(found([{ type: C.CKA_KEY_TYPE, value: C.CKK_SHA256_HMAC }]), [num(secret)]);
      assert.deepEqual(
        found([
          { type: C.CKA_VALUE_LEN, value: 32 },
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        ]),
        [num(secret)],
      );
      assert.equal(found([{ type: C.CKA_OBJECT_ID, value: Buffer.of(3) }]).length, 1);
      assert.equal(
        found([{ type: C.CKA_VALUE, value: Buffer.from(`value of ${SHARED}`) }]).length,
        TOKEN_SHARED + SESSION_SHARED,
      );
      assert.deepEqual(
        found([{ type: C.CKA_ID, value: Buffer.of(0xec, 0) }]),
        [],
        'a longer value does not match',
      );
      assert.deepEqual(
        found([
          { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
          { type: C.CKA_ID, value: Buffer.of(0xec) },
        ]),
        [],
      );
    });

    it('a label changed by C_SetAttributeValue is found under the new label only, also after a restart → CKR_OK', () => {
      const tok = create(dataTemplate('before rename', [{ type: C.CKA_TOKEN, value: true }]));
      const ses = create(dataTemplate('before rename'));
      for (const o of [tok, ses])
        m.p11.C_SetAttributeValue(s, o, [{ type: C.CKA_LABEL, value: 'after rename' }]);
      assert.equal(found([{ type: C.CKA_LABEL, value: 'before rename' }]).length, 0);
      assert.deepEqual(
        found([{ type: C.CKA_LABEL, value: 'after rename' }]),
        [num(tok), num(ses)].sort((a, b) => a - b),
      );
      const r = m.restart();
      const rs = r.p11.C_OpenSession(r.slot, C.CKF_SERIAL_SESSION);
      assert.deepEqual(labelsOf(r.p11, rs, [{ type: C.CKA_LABEL, value: 'after rename' }]), [
        'after rename',
      ]);
      assert.equal(findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: 'before rename' }]).length, 0);
      r.p11.C_Finalize();
    });

    it('private objects are invisible before login and after logout, found after login → CKR_OK', () => {
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      const priv = create(
        dataTemplate('secret stuff', [
          { type: C.CKA_PRIVATE, value: true },
          { type: C.CKA_TOKEN, value: true },
        ]),
      );
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'secret stuff' }]).length, 0);
      assert.equal(findAll(b, sb, [{ type: C.CKA_PRIVATE, value: true }]).length, 0);
      assert.ok(findAll(b, sb, []).length > 0, 'public objects are visible');
      b.C_Login(sb, C.CKU_USER, USER_PIN);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'secret stuff' }]).length, 1);
      b.C_Logout(sb);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'secret stuff' }]).length, 0);
      // an SO session sees public objects only
      const so = b.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      b.C_CloseSession(sb);
      b.C_Login(so, C.CKU_SO, SO_PIN);
      assert.equal(findAll(b, so, [{ type: C.CKA_PRIVATE, value: true }]).length, 0);
      b.C_Finalize();
      assert.deepEqual(found([{ type: C.CKA_LABEL, value: 'secret stuff' }]), [num(priv)]);
    });

    it("one application's session objects are invisible to another; its public token objects are visible → CKR_OK", () => {
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: SHARED }]).length, TOKEN_SHARED);
      assert.equal(
        findAll(b, sb, [
          { type: C.CKA_LABEL, value: SHARED },
          { type: C.CKA_TOKEN, value: false },
        ]).length,
        0,
      );
      b.C_Login(sb, C.CKU_USER, USER_PIN);
      assert.equal(
        findAll(b, sb, [{ type: C.CKA_TOKEN, value: false }]).length,
        0,
        'not even once logged in',
      );
      b.C_Finalize();
    });

    it('a template naming a sensitive attribute never matches, even with the right value (no oracle) → CKR_OK, no handles', () => {
      const value = Buffer.alloc(16, 0x5e);
      const hidden = create(
        secretTemplate(C.CKK_AES, value, [{ type: C.CKA_LABEL, value: 'oracle' }]),
      );
      const nonExtractable = create(
        secretTemplate(C.CKK_AES, value, [
          { type: C.CKA_LABEL, value: 'oracle' },
          { type: C.CKA_SENSITIVE, value: false },
        ]),
      );
      const open = create(
        secretTemplate(C.CKK_AES, value, [
          { type: C.CKA_LABEL, value: 'oracle' },
          { type: C.CKA_SENSITIVE, value: false },
          { type: C.CKA_EXTRACTABLE, value: true },
        ]),
      );
      const ecKey = create(ecPrivateTemplate(ec));
      const rsaKey = create(rsaPrivateTemplate(rsa));
      assert.equal(found([{ type: C.CKA_LABEL, value: 'oracle' }]).length, 3);
      assert.deepEqual(
        found([{ type: C.CKA_VALUE, value }]),
        [num(open)],
        'only the extractable key',
      );
      assert.deepEqual(found([{ type: C.CKA_VALUE, value: Buffer.alloc(16, 0x5f) }]), []);
      assert.deepEqual(found([{ type: C.CKA_VALUE, value: ec.d }]), []);
      assert.deepEqual(found([{ type: C.CKA_PRIVATE_EXPONENT, value: rsa.d }]), []);
      assert.deepEqual(found([{ type: C.CKA_PRIME_1, value: rsa.p }]), []);
      assert.deepEqual(
        found([
          { type: C.CKA_MODULUS, value: rsa.n },
          { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
        ]),
        [num(rsaKey)],
      );
      // the keys the value search skipped are found by their other attributes
      const byLabel = found([
        { type: C.CKA_LABEL, value: 'oracle' },
        { type: C.CKA_VALUE_LEN, value: 16 },
      ]);
      assert.deepEqual(
        byLabel,
        [num(hidden), num(nonExtractable), num(open)].sort((x, y) => x - y),
      );
      assert.ok(found([{ type: C.CKA_EC_PARAMS, value: ec.params }]).includes(num(ecKey)));
    });

    it('C_FindObjectsInit while a find is active → CKR_OPERATION_ACTIVE', () => {
      m.p11.C_FindObjectsInit(s, []);
      assertRv(() => m.p11.C_FindObjectsInit(s, []), C.CKR_OPERATION_ACTIVE);
      m.p11.C_FindObjectsFinal(s);
      m.p11.C_FindObjectsInit(s, []);
      m.p11.C_FindObjectsFinal(s);
    });

    it('C_FindObjects / C_FindObjectsFinal without C_FindObjectsInit → CKR_OPERATION_NOT_INITIALIZED', () => {
      assertRv(() => m.p11.C_FindObjects(s, 1), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_FindObjectsFinal(s), C.CKR_OPERATION_NOT_INITIALIZED);
      m.p11.C_FindObjectsInit(s, []);
      m.p11.C_FindObjectsFinal(s);
      assertRv(() => m.p11.C_FindObjects(s, 1), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(() => m.p11.C_FindObjectsFinal(s), C.CKR_OPERATION_NOT_INITIALIZED);
    });

    it('C_FindObjects with a negative count → CKR_ARGUMENTS_BAD', () => {
      m.p11.C_FindObjectsInit(s, []);
      try {
        assertRv(() => m.p11.C_FindObjects(s, -1), C.CKR_ARGUMENTS_BAD);
      } finally {
        m.p11.C_FindObjectsFinal(s);
      }
    });

    it('finds in two sessions are independent → CKR_OK', () => {
      const other = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      m.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: SHARED }]);
      m.p11.C_FindObjectsInit(other, [
        { type: C.CKA_LABEL, value: SHARED },
        { type: C.CKA_TOKEN, value: true },
      ]);
      assert.equal(m.p11.C_FindObjects(s, 2).length, 2);
      assert.equal(m.p11.C_FindObjects(other, 100).length, TOKEN_SHARED);
      assert.equal(m.p11.C_FindObjects(s, 100).length, TOKEN_SHARED + SESSION_SHARED - 2);
      m.p11.C_FindObjectsFinal(other);
      m.p11.C_FindObjectsFinal(s);
      m.p11.C_CloseSession(other);
    });

    it('a find may run while a sign is pending (one operation per kind, DESIGN §2.4) → CKR_OK', () => {
      const key = create(ecPrivateTemplate(ec));
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      m.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: SHARED }]);
      assert.equal(m.p11.C_FindObjects(s, 100).length, TOKEN_SHARED + SESSION_SHARED);
      m.p11.C_FindObjectsFinal(s);
      assert.equal(m.p11.C_Sign(s, Buffer.from('x'), Buffer.alloc(64)).length, 64);
    });

    it('an unknown attribute type or a malformed value in the template matches nothing → CKR_OK', () => {
      assert.deepEqual(found([{ type: C.CKA_VENDOR_DEFINED + 77, value: Buffer.of(1) }]), []);
      assert.deepEqual(found([{ type: C.CKA_TOKEN, value: Buffer.of(1, 1) }]), []);
      assert.deepEqual(found([{ type: C.CKA_CLASS, value: Buffer.of(1, 2, 3) }]), []);
    });

    it('destroyed objects are not found → CKR_OK, no handles', () => {
      const tok = create(dataTemplate('short-lived', [{ type: C.CKA_TOKEN, value: true }]));
      const ses = create(dataTemplate('short-lived'));
      assert.equal(found([{ type: C.CKA_LABEL, value: 'short-lived' }]).length, 2);
      m.p11.C_DestroyObject(s, tok);
      m.p11.C_DestroyObject(s, ses);
      assert.deepEqual(found([{ type: C.CKA_LABEL, value: 'short-lived' }]), []);
    });
  });
}
