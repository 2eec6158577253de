/**
 * C_CopyObject, C_DestroyObject and C_GetObjectSize (v2.40 §4.1.3, §5.7) per PAL port: CKA_COPYABLE and
 * CKA_DESTROYABLE, attributes a copy may and may not change, operations ended by a destroyed key, and
 * handles of objects another application destroyed.
 * @module
 */
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import {
  attr,
  attrBool,
  dataTemplate,
  type EcMaterial,
  ecMaterial,
  ecPrivateTemplate,
  findAll,
  handle,
} from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const DATA = Buffer.from('signed by one side, verified by the other');
const VENDOR_ATTRIBUTE = C.CKA_VENDOR_DEFINED + 0x4242;

for (const port of PAL_PORTS) {
  describe(`copy, destroy and size [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let ec: EcMaterial;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      ec = ecMaterial();
    });
    after(() => m.cleanup());

    const create = (t: Template) => m.p11.C_CreateObject(s, t);
    const signWith = (mech: number, key: Handle, data = DATA) => {
      m.p11.C_SignInit(s, { mechanism: mech }, key);
      return m.p11.C_Sign(s, data, Buffer.alloc(512));
    };

    it('C_CopyObject with CKA_COPYABLE false → CKR_ACTION_PROHIBITED', () => {
      const o = create(dataTemplate('no copies', [{ type: C.CKA_COPYABLE, value: false }]));
      assertRv(() => m.p11.C_CopyObject(s, o, []), C.CKR_ACTION_PROHIBITED);
      assertRv(
        () => m.p11.C_CopyObject(s, o, [{ type: C.CKA_COPYABLE, value: true }]),
        C.CKR_ACTION_PROHIBITED,
      );
    });

    it('C_CopyObject may change CKA_TOKEN and CKA_PRIVATE → CKR_OK; the original keeps its attributes', () => {
      const o = create(dataTemplate('original'));
      const copy = m.p11.C_CopyObject(s, o, [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_PRIVATE, value: true },
        { type: C.CKA_LABEL, value: 'copied' },
      ]);
      assert.notEqual(copy.compare(o), 0);
      assert.equal(attrBool(m.p11, s, copy, C.CKA_TOKEN), true);
      assert.equal(attrBool(m.p11, s, copy, C.CKA_PRIVATE), true);
      assert.equal(attr(m.p11, s, copy, C.CKA_VALUE).toString(), 'value of original');
      assert.equal(attrBool(m.p11, s, o, C.CKA_TOKEN), false);
      assert.equal(attr(m.p11, s, o, C.CKA_LABEL).toString(), 'original');
      // the copy is a token object: another application sees it once logged in
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'copied' }]).length, 0);
      b.C_Login(sb, C.CKU_USER, USER_PIN);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'copied' }]).length, 1);
      assert.equal(findAll(b, sb, [{ type: C.CKA_LABEL, value: 'original' }]).length, 0);
      m.p11.C_DestroyObject(s, copy);
    });

    it('a copied key signs; C_CopyObject cannot weaken it (CKA_SENSITIVE→false, CKA_EXTRACTABLE→true, CKA_PRIVATE→false, CKA_ALWAYS_AUTHENTICATE→false, CKA_KEY_TYPE) → CKR_ATTRIBUTE_READ_ONLY', () => {
      const key = create(ecPrivateTemplate(ec));
      const copy = m.p11.C_CopyObject(s, key, [{ type: C.CKA_LABEL, value: 'copy' }]);
      assert.ok(
        verify(
          'sha256',
          DATA,
          { key: ec.publicKey, dsaEncoding: 'ieee-p1363' },
          signWith(C.CKM_ECDSA_SHA256, copy),
        ),
      );
      for (const t of [
        [{ type: C.CKA_SENSITIVE, value: false }],
        [{ type: C.CKA_EXTRACTABLE, value: true }],
        // a public copy would sign without a login and be stored unsealed
        [{ type: C.CKA_PRIVATE, value: false }],
        [{ type: C.CKA_ALWAYS_AUTHENTICATE, value: true }],
        [{ type: C.CKA_KEY_TYPE, value: C.CKK_RSA }],
        [{ type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY }],
        [{ type: C.CKA_VALUE, value: Buffer.alloc(32, 1) }],
      ]) {
        assertRv(() => m.p11.C_CopyObject(s, key, t), C.CKR_ATTRIBUTE_READ_ONLY);
      }
      assertRv(
        () => m.p11.C_CopyObject(s, key, [{ type: VENDOR_ATTRIBUTE, value: 1 }]),
        C.CKR_ATTRIBUTE_TYPE_INVALID,
      );
    });

    it('C_CopyObject may set CKA_MODIFIABLE and CKA_DESTROYABLE false; a non-modifiable object can be copied → CKR_OK', () => {
      const o = create(dataTemplate('locked'));
      const copy = m.p11.C_CopyObject(s, o, [
        { type: C.CKA_MODIFIABLE, value: false },
        { type: C.CKA_DESTROYABLE, value: false },
      ]);
      assert.equal(attrBool(m.p11, s, copy, C.CKA_MODIFIABLE), false);
      assertRv(() => m.p11.C_DestroyObject(s, copy), C.CKR_ACTION_PROHIBITED);
      const again = m.p11.C_CopyObject(s, copy, [{ type: C.CKA_LABEL, value: 'copy of locked' }]);
      assert.equal(attr(m.p11, s, again, C.CKA_LABEL).toString(), 'copy of locked');
      assertRv(
        () => m.p11.C_CopyObject(s, copy, [{ type: C.CKA_MODIFIABLE, value: true }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it('C_CopyObject or C_DestroyObject of an unknown handle → CKR_OBJECT_HANDLE_INVALID', () => {
      assertRv(() => m.p11.C_CopyObject(s, handle(987654), []), C.CKR_OBJECT_HANDLE_INVALID);
      assertRv(() => m.p11.C_DestroyObject(s, handle(0)), C.CKR_OBJECT_HANDLE_INVALID);
      assertRv(() => m.p11.C_GetObjectSize(s, handle(987654)), C.CKR_OBJECT_HANDLE_INVALID);
    });

    it('C_DestroyObject twice → CKR_OBJECT_HANDLE_INVALID (session and token objects)', () => {
      for (const token of [false, true]) {
        const o = create(dataTemplate(`doomed ${token}`, [{ type: C.CKA_TOKEN, value: token }]));
        m.p11.C_DestroyObject(s, o);
        assertRv(() => m.p11.C_DestroyObject(s, o), C.CKR_OBJECT_HANDLE_INVALID);
        assertRv(
          () => m.p11.C_GetAttributeValue(s, o, [{ type: C.CKA_LABEL }]),
          C.CKR_OBJECT_HANDLE_INVALID,
        );
        assert.equal(
          findAll(m.p11, s, [{ type: C.CKA_LABEL, value: `doomed ${token}` }]).length,
          0,
        );
      }
    });

    it('C_DestroyObject with CKA_DESTROYABLE false → CKR_ACTION_PROHIBITED, and the object stays', () => {
      const o = create(
        dataTemplate('permanent', [
          { type: C.CKA_DESTROYABLE, value: false },
          { type: C.CKA_TOKEN, value: true },
        ]),
      );
      assertRv(() => m.p11.C_DestroyObject(s, o), C.CKR_ACTION_PROHIBITED);
      assert.equal(attr(m.p11, s, o, C.CKA_LABEL).toString(), 'permanent');
      assertRv(
        () => m.p11.C_SetAttributeValue(s, o, [{ type: C.CKA_DESTROYABLE, value: true }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it('destroying a key ends the sign operation that uses it → CKR_OPERATION_NOT_INITIALIZED', () => {
      const key = create(ecPrivateTemplate(ec));
      const other = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      m.p11.C_SignInit(other, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      m.p11.C_DestroyObject(s, key);
      assertRv(() => m.p11.C_Sign(other, DATA, Buffer.alloc(64)), C.CKR_OPERATION_NOT_INITIALIZED);
      assertRv(
        () => m.p11.C_SignInit(other, { mechanism: C.CKM_ECDSA_SHA256 }, key),
        C.CKR_KEY_HANDLE_INVALID,
      );
    });

    it("a token object destroyed by one application: the other application's handle → CKR_OBJECT_HANDLE_INVALID", () => {
      const o = create(dataTemplate('shared', [{ type: C.CKA_TOKEN, value: true }]));
      const b = m.another();
      const sb = b.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      const [hb] = findAll(b, sb, [{ type: C.CKA_LABEL, value: 'shared' }]);
      assert.ok(hb);
      m.p11.C_DestroyObject(s, o);
      assertRv(
        () => b.C_GetAttributeValue(sb, hb, [{ type: C.CKA_LABEL }]),
        C.CKR_OBJECT_HANDLE_INVALID,
      );
    });

    it('C_GetObjectSize → CKR_OK, positive, growing with the value', () => {
      const sized = (n: number) =>
        create(
          dataTemplate('sized').map((a) =>
            a.type === C.CKA_VALUE ? { ...a, value: Buffer.alloc(n) } : a,
          ),
        );
      const a = m.p11.C_GetObjectSize(s, sized(10));
      const b = m.p11.C_GetObjectSize(s, sized(1010));
      assert.ok(a > 0 && b >= a + 1000, `${a} then ${b}`);
    });

    it('in a R/O session, copying a session object into a token object → CKR_SESSION_READ_ONLY; a session copy is fine', () => {
      const ro = m.p11.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION);
      const o = m.p11.C_CreateObject(ro, dataTemplate('ro original'));
      assertRv(
        () => m.p11.C_CopyObject(ro, o, [{ type: C.CKA_TOKEN, value: true }]),
        C.CKR_SESSION_READ_ONLY,
      );
      const copy = m.p11.C_CopyObject(ro, o, [{ type: C.CKA_LABEL, value: 'ro copy' }]);
      assert.equal(attrBool(m.p11, ro, copy, C.CKA_TOKEN), false);
      assert.equal(
        findAll(m.p11, ro, [
          { type: C.CKA_LABEL, value: 'ro original' },
          { type: C.CKA_TOKEN, value: true },
        ]).length,
        0,
      );
      m.p11.C_CloseSession(ro);
    });
  });
}
