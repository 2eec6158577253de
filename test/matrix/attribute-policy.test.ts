/**
 * Attribute policy (security goal S1, security.md §1.1–1.2, §1.4) per PAL port: C_GetAttributeValue's
 * per-attribute answers (checked on the engine, since the pkcs11js API throws for the whole call),
 * C_SetAttributeValue's rules (latching CKA_SENSITIVE / CKA_EXTRACTABLE, CKA_MODIFIABLE, read-only
 * attributes, CKA_TRUSTED), CKA_ALWAYS_SENSITIVE / CKA_NEVER_EXTRACTABLE / CKA_LOCAL for created and
 * generated keys, and the google/pkcs11test Tookan cases A3–A5 (A1/A2 need C_WrapKey, which the token
 * does not offer).
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import type { AttributeQuery } from '../../src/pkcs11/types.js';
import { EC_PARAMS } from '../helpers/keys.js';
import {
  attr,
  attrBool,
  certTemplate,
  dataTemplate,
  type EcMaterial,
  ecMaterial,
  ecPrivateTemplate,
  findAll,
  makeCertificate,
  num,
  type RsaMaterial,
  rsaMaterial,
  rsaPrivateTemplate,
  rsaPublicTemplate,
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

const VENDOR_ATTRIBUTE = C.CKA_VENDOR_DEFINED + 0x4242;
const UNAVAILABLE = Buffer.alloc(8, 0xff);
const RSA_SECRET_PARTS = [
  C.CKA_PRIVATE_EXPONENT,
  C.CKA_PRIME_1,
  C.CKA_PRIME_2,
  C.CKA_EXPONENT_1,
  C.CKA_EXPONENT_2,
  C.CKA_COEFFICIENT,
];

for (const port of PAL_PORTS) {
  describe(`attribute policy [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let ec: EcMaterial;
    let rsa: RsaMaterial;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      ec = ecMaterial();
      rsa = rsaMaterial();
    });
    after(() => m.cleanup());

    const create = (t: Template) => m.p11.C_CreateObject(s, t);
    const aes = (extra: Template = []) =>
      create(secretTemplate(C.CKK_AES, Buffer.alloc(16, 0xa5), extra));
    const query = (o: Handle, q: AttributeQuery[]) => m.engine.getAttributeValue(num(s), num(o), q);
    const set = (o: Handle, t: Template) => m.p11.C_SetAttributeValue(s, o, t);

    it('C_GetAttributeValue: sensitive and unknown attributes get length -1 while the others are filled → CKR_ATTRIBUTE_SENSITIVE or CKR_ATTRIBUTE_TYPE_INVALID', () => {
      const key = create(ecPrivateTemplate(ec, [{ type: C.CKA_LABEL, value: 'ec key' }]));
      const { rv, answers } = query(key, [
        { type: C.CKA_LABEL, capacity: 64 },
        { type: C.CKA_VALUE, capacity: 64 },
        { type: VENDOR_ATTRIBUTE, capacity: 64 },
        { type: C.CKA_ID, capacity: null },
        { type: C.CKA_KEY_TYPE, capacity: 8 },
        { type: C.CKA_MODULUS, capacity: 512 },
      ]);
      assert.ok([C.CKR_ATTRIBUTE_SENSITIVE, C.CKR_ATTRIBUTE_TYPE_INVALID].includes(rv));
      const [label, value, vendor, id, keyType, modulus] = answers;
      assert.deepEqual(label, {
        type: C.CKA_LABEL,
        length: 6,
        value: new Uint8Array(Buffer.from('ec key')),
      });
      assert.deepEqual(value, { type: C.CKA_VALUE, length: -1 });
      assert.deepEqual(vendor, { type: VENDOR_ATTRIBUTE, length: -1 });
      assert.deepEqual(id, { type: C.CKA_ID, length: 0 });
      assert.equal(keyType?.length, 8);
      assert.equal(Buffer.from(keyType?.value as Uint8Array).readBigUInt64LE(), BigInt(C.CKK_EC));
      assert.deepEqual(
        modulus,
        { type: C.CKA_MODULUS, length: -1 },
        'valid type, not on this object',
      );
    });

    it('C_GetAttributeValue: only a sensitive attribute → CKR_ATTRIBUTE_SENSITIVE; only an absent one → CKR_ATTRIBUTE_TYPE_INVALID', () => {
      const key = aes();
      assert.equal(query(key, [{ type: C.CKA_VALUE, capacity: 16 }]).rv, C.CKR_ATTRIBUTE_SENSITIVE);
      assert.equal(
        query(key, [{ type: C.CKA_VALUE, capacity: null }]).answers[0]?.length,
        -1,
        'no length leak',
      );
      assert.equal(
        query(key, [{ type: VENDOR_ATTRIBUTE, capacity: 8 }]).rv,
        C.CKR_ATTRIBUTE_TYPE_INVALID,
      );
      assert.equal(
        query(key, [{ type: C.CKA_EC_POINT, capacity: 8 }]).rv,
        C.CKR_ATTRIBUTE_TYPE_INVALID,
      );
      // the pkcs11js API throws the same code for the whole call
      assertRv(
        () => m.p11.C_GetAttributeValue(s, key, [{ type: C.CKA_LABEL }, { type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
      assertRv(
        () => m.p11.C_GetAttributeValue(s, key, [{ type: VENDOR_ATTRIBUTE }]),
        C.CKR_ATTRIBUTE_TYPE_INVALID,
      );
    });

    it('C_GetAttributeValue: a buffer too small gets -1 for that attribute only → CKR_BUFFER_TOO_SMALL', () => {
      const o = create(dataTemplate('twelve bytes'));
      const { rv, answers } = query(o, [
        { type: C.CKA_LABEL, capacity: 11 },
        { type: C.CKA_VALUE, capacity: 100 },
        { type: C.CKA_APPLICATION, capacity: 16 },
        { type: C.CKA_TOKEN, capacity: 0 },
      ]);
      assert.equal(rv, C.CKR_BUFFER_TOO_SMALL);
      assert.deepEqual(answers[0], { type: C.CKA_LABEL, length: -1 });
      assert.equal(
        Buffer.from(answers[1]?.value as Uint8Array).toString(),
        'value of twelve bytes',
      );
      assert.equal(
        Buffer.from(answers[2]?.value as Uint8Array).toString(),
        'corepkcs11 tests',
        'exact fit',
      );
      assert.deepEqual(answers[3], { type: C.CKA_TOKEN, length: -1 });
      const lengths = query(o, [
        { type: C.CKA_LABEL, capacity: null },
        { type: C.CKA_OBJECT_ID, capacity: null },
      ]);
      assert.equal(lengths.rv, C.CKR_OK);
      assert.deepEqual(
        lengths.answers.map((a) => [a.length, a.value]),
        [
          [12, undefined],
          [0, undefined],
        ],
      );
    });

    it('C_GetAttributeValue of an unknown object or session → CKR_OBJECT_HANDLE_INVALID / CKR_SESSION_HANDLE_INVALID', () => {
      assertRv(() => m.engine.getAttributeValue(num(s), 999999, []), C.CKR_OBJECT_HANDLE_INVALID);
      assertRv(() => m.engine.getAttributeValue(999999, 1, []), C.CKR_SESSION_HANDLE_INVALID);
    });

    it('Tookan A3: sensitive key values are never revealed → CKR_ATTRIBUTE_SENSITIVE; public parts are', () => {
      const keys: [Handle, number[]][] = [
        [
          aes([
            { type: C.CKA_SENSITIVE, value: true },
            { type: C.CKA_EXTRACTABLE, value: true },
          ]),
          [C.CKA_VALUE],
        ],
        [create(secretTemplate(C.CKK_GENERIC_SECRET, Buffer.alloc(20, 1))), [C.CKA_VALUE]],
        [create(ecPrivateTemplate(ec)), [C.CKA_VALUE]],
        [create(rsaPrivateTemplate(rsa)), RSA_SECRET_PARTS],
      ];
      for (const [key, secret] of keys) {
        for (const type of secret) {
          assertRv(() => m.p11.C_GetAttributeValue(s, key, [{ type }]), C.CKR_ATTRIBUTE_SENSITIVE);
          assert.equal(query(key, [{ type, capacity: 4096 }]).answers[0]?.value, undefined);
        }
      }
      const rsaKey = (keys[3] as [Handle, number[]])[0];
      assert.deepEqual(attr(m.p11, s, rsaKey, C.CKA_MODULUS), rsa.n);
      assert.deepEqual(attr(m.p11, s, rsaKey, C.CKA_PUBLIC_EXPONENT), rsa.e);
    });

    it('Tookan A4: a non-extractable, non-sensitive key → CKR_ATTRIBUTE_SENSITIVE; an extractable one is readable', () => {
      const hidden = aes([
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: false },
      ]);
      assertRv(
        () => m.p11.C_GetAttributeValue(s, hidden, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
      const rsaKey = create(rsaPrivateTemplate(rsa, [{ type: C.CKA_SENSITIVE, value: false }]));
      for (const type of RSA_SECRET_PARTS) {
        assertRv(() => m.p11.C_GetAttributeValue(s, rsaKey, [{ type }]), C.CKR_ATTRIBUTE_SENSITIVE);
      }
      const open = aes([
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      assert.deepEqual(attr(m.p11, s, open, C.CKA_VALUE), Buffer.alloc(16, 0xa5));
      const openEc = create(
        ecPrivateTemplate(ec, [
          { type: C.CKA_SENSITIVE, value: false },
          { type: C.CKA_EXTRACTABLE, value: true },
        ]),
      );
      assert.deepEqual(attr(m.p11, s, openEc, C.CKA_VALUE), ec.d);
    });

    it('Tookan A5a: CKA_SENSITIVE may go false → true; true → false → CKR_ATTRIBUTE_READ_ONLY', () => {
      const key = aes([
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      set(key, [{ type: C.CKA_SENSITIVE, value: true }]);
      assertRv(
        () => m.p11.C_GetAttributeValue(s, key, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
      assertRv(
        () => set(key, [{ type: C.CKA_SENSITIVE, value: false }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
      set(key, [{ type: C.CKA_SENSITIVE, value: true }]); // unchanged: accepted
      assert.equal(attrBool(m.p11, s, key, C.CKA_SENSITIVE), true);
      assertRv(
        () => m.p11.C_GetAttributeValue(s, key, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
    });

    it('Tookan A5b: CKA_EXTRACTABLE may go true → false; false → true → CKR_ATTRIBUTE_READ_ONLY', () => {
      const key = aes([
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      set(key, [{ type: C.CKA_EXTRACTABLE, value: false }]);
      assertRv(
        () => m.p11.C_GetAttributeValue(s, key, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
      assertRv(
        () => set(key, [{ type: C.CKA_EXTRACTABLE, value: true }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
      assert.equal(attrBool(m.p11, s, key, C.CKA_EXTRACTABLE), false);
    });

    it('other latching attributes: CKA_COPYABLE, CKA_DESTROYABLE only to false, CKA_WRAP_WITH_TRUSTED only to true, else CKR_ATTRIBUTE_READ_ONLY', () => {
      const o = create(dataTemplate('latches'));
      set(o, [{ type: C.CKA_COPYABLE, value: false }]);
      assertRv(() => set(o, [{ type: C.CKA_COPYABLE, value: true }]), C.CKR_ATTRIBUTE_READ_ONLY);
      set(o, [{ type: C.CKA_DESTROYABLE, value: false }]);
      assertRv(() => set(o, [{ type: C.CKA_DESTROYABLE, value: true }]), C.CKR_ATTRIBUTE_READ_ONLY);
      const key = aes();
      set(key, [{ type: C.CKA_WRAP_WITH_TRUSTED, value: true }]);
      assertRv(
        () => set(key, [{ type: C.CKA_WRAP_WITH_TRUSTED, value: false }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it('CKA_ALWAYS_AUTHENTICATE has no footnote 8: set on creation, it cannot be switched off → CKR_ATTRIBUTE_READ_ONLY', () => {
      const key = create(ecPrivateTemplate(ec, [{ type: C.CKA_ALWAYS_AUTHENTICATE, value: true }]));
      assertRv(
        () =>
          m.p11.C_SetAttributeValue(s, key, [{ type: C.CKA_ALWAYS_AUTHENTICATE, value: false }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
      assertRv(
        () => m.p11.C_CopyObject(s, key, [{ type: C.CKA_ALWAYS_AUTHENTICATE, value: false }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key);
      assertRv(() => m.p11.C_Sign(s, Buffer.from('x'), Buffer.alloc(64)), C.CKR_USER_NOT_LOGGED_IN);
    });

    it('a private key cannot be made public: C_SetAttributeValue or C_CopyObject with CKA_PRIVATE false → CKR_ATTRIBUTE_READ_ONLY', () => {
      const key = create(ecPrivateTemplate(ec));
      for (const call of [
        () => m.p11.C_SetAttributeValue(s, key, [{ type: C.CKA_PRIVATE, value: false }]),
        () => m.p11.C_CopyObject(s, key, [{ type: C.CKA_PRIVATE, value: false }]),
      ]) {
        assertRv(call, C.CKR_ATTRIBUTE_READ_ONLY);
      }
    });

    it('an object with CKA_MODIFIABLE false → CKR_ACTION_PROHIBITED for every change', () => {
      const o = create(dataTemplate('frozen', [{ type: C.CKA_MODIFIABLE, value: false }]));
      assertRv(() => set(o, [{ type: C.CKA_LABEL, value: 'thawed' }]), C.CKR_ACTION_PROHIBITED);
      assertRv(() => set(o, [{ type: C.CKA_VALUE, value: Buffer.of(1) }]), C.CKR_ACTION_PROHIBITED);
      assert.equal(attr(m.p11, s, o, C.CKA_LABEL).toString(), 'frozen');
      // CKA_MODIFIABLE itself changes only through C_CopyObject
      const live = create(dataTemplate('live'));
      assertRv(
        () => set(live, [{ type: C.CKA_MODIFIABLE, value: false }]),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it('read-only attributes → CKR_ATTRIBUTE_READ_ONLY; modifiable ones change', () => {
      const key = create(ecPrivateTemplate(ec));
      const pub = create(rsaPublicTemplate(rsa));
      const secret = aes();
      const cert = create(certTemplate(makeCertificate('read-only')));
      const readOnly: [Handle, Template][] = [
        [key, [{ type: C.CKA_CLASS, value: C.CKO_SECRET_KEY }]],
        [key, [{ type: C.CKA_KEY_TYPE, value: C.CKK_RSA }]],
        [key, [{ type: C.CKA_TOKEN, value: true }]],
        [key, [{ type: C.CKA_PRIVATE, value: false }]],
        [key, [{ type: C.CKA_LOCAL, value: true }]],
        [key, [{ type: C.CKA_ALWAYS_SENSITIVE, value: true }]],
        [key, [{ type: C.CKA_NEVER_EXTRACTABLE, value: true }]],
        [key, [{ type: C.CKA_KEY_GEN_MECHANISM, value: C.CKM_EC_KEY_PAIR_GEN }]],
        [key, [{ type: C.CKA_VALUE, value: Buffer.alloc(32, 2) }]],
        [key, [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-384'] }]],
        [pub, [{ type: C.CKA_MODULUS, value: Buffer.alloc(256, 0x81) }]],
        [pub, [{ type: C.CKA_MODULUS_BITS, value: 1024 }]],
        [secret, [{ type: C.CKA_VALUE_LEN, value: 32 }]],
        [cert, [{ type: C.CKA_VALUE, value: Buffer.from('other') }]],
        [cert, [{ type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509_ATTR_CERT }]],
      ];
      for (const [o, t] of readOnly) {
        const name = C.CKA_NAMES.get(t[0]?.type as number);
        assert.doesNotThrow(() => assertRv(() => set(o, t), C.CKR_ATTRIBUTE_READ_ONLY), name);
      }
      set(key, [
        { type: C.CKA_LABEL, value: 'renamed' },
        { type: C.CKA_ID, value: Buffer.of(1, 2) },
        { type: C.CKA_SIGN, value: false },
        { type: C.CKA_START_DATE, value: '20250101' },
      ]);
      assert.equal(attr(m.p11, s, key, C.CKA_LABEL).toString(), 'renamed');
      assert.equal(attrBool(m.p11, s, key, C.CKA_SIGN), false);
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, key),
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
      );
      set(cert, [{ type: C.CKA_ID, value: Buffer.of(9) }]);
    });

    it('a C_SetAttributeValue template with one bad attribute (CKR_ATTRIBUTE_READ_ONLY / TYPE_INVALID / VALUE_INVALID) changes nothing', () => {
      for (const token of [false, true]) {
        const o = create(dataTemplate('atomic', [{ type: C.CKA_TOKEN, value: token }]));
        assertRv(
          () =>
            set(o, [
              { type: C.CKA_LABEL, value: 'changed' },
              { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE },
            ]),
          C.CKR_ATTRIBUTE_READ_ONLY,
        );
        assertRv(
          () =>
            set(o, [
              { type: C.CKA_LABEL, value: 'changed' },
              { type: VENDOR_ATTRIBUTE, value: 1 },
            ]),
          C.CKR_ATTRIBUTE_TYPE_INVALID,
        );
        assertRv(
          () =>
            set(o, [
              { type: C.CKA_LABEL, value: 'changed' },
              { type: C.CKA_TOKEN, value: Buffer.of(1, 1) },
            ]),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
        assert.equal(attr(m.p11, s, o, C.CKA_LABEL).toString(), 'atomic');
      }
    });

    it('CKA_TRUSTED: the user cannot set it true → CKR_ATTRIBUTE_READ_ONLY; the SO creates a trusted certificate', () => {
      const cert = create(
        certTemplate(makeCertificate('anchor'), [{ type: C.CKA_TOKEN, value: true }]),
      );
      assertRv(() => set(cert, [{ type: C.CKA_TRUSTED, value: true }]), C.CKR_ATTRIBUTE_READ_ONLY);
      const so = m.another();
      const ss = so.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      so.C_Login(ss, C.CKU_SO, SO_PIN);
      const trusted = so.C_CreateObject(
        ss,
        certTemplate(makeCertificate('root'), [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_TRUSTED, value: true },
        ]),
      );
      assert.equal(attrBool(so, ss, trusted, C.CKA_TRUSTED), true);
      // the SO cannot create private objects, nor see the user's
      assertRv(
        () =>
          so.C_CreateObject(ss, dataTemplate('so private', [{ type: C.CKA_PRIVATE, value: true }])),
        C.CKR_USER_NOT_LOGGED_IN,
      );
      so.C_Finalize();
    });

    it('CKA_TRUSTED has no footnote 8 (v2.40 Table 20): after creation even the SO → CKR_ATTRIBUTE_READ_ONLY', () => {
      const subject = makeCertificate('to trust');
      create(certTemplate(subject, [{ type: C.CKA_TOKEN, value: true }]));
      const so = m.another();
      const ss = so.C_OpenSession(m.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      so.C_Login(ss, C.CKU_SO, SO_PIN);
      try {
        const [h] = findAll(so, ss, [{ type: C.CKA_SUBJECT, value: subject.subject }]);
        assert.ok(h);
        assertRv(
          () => so.C_SetAttributeValue(ss, h, [{ type: C.CKA_TRUSTED, value: true }]),
          C.CKR_ATTRIBUTE_READ_ONLY,
        );
        assert.equal(attrBool(so, ss, h, C.CKA_TRUSTED), false);
      } finally {
        so.C_Finalize();
      }
    });

    it('created keys → CKR_OK with CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE false, no CKA_KEY_GEN_MECHANISM', () => {
      // a compatible token's secret keys are not sensitive by default, its private keys are (profile.test.ts)
      const keys = [
        [aes(), false],
        [create(ecPrivateTemplate(ec)), true],
        [create(rsaPrivateTemplate(rsa)), true],
      ] as const;
      for (const [key, sensitive] of keys) {
        assert.equal(attrBool(m.p11, s, key, C.CKA_SENSITIVE), sensitive, 'sensitive by default');
        assert.equal(
          attrBool(m.p11, s, key, C.CKA_EXTRACTABLE),
          false,
          'not extractable by default',
        );
        assert.equal(attrBool(m.p11, s, key, C.CKA_PRIVATE), true, 'private by default');
        assert.equal(attrBool(m.p11, s, key, C.CKA_LOCAL), false);
        assert.equal(attrBool(m.p11, s, key, C.CKA_ALWAYS_SENSITIVE), false);
        assert.equal(attrBool(m.p11, s, key, C.CKA_NEVER_EXTRACTABLE), false);
        assert.deepEqual(attr(m.p11, s, key, C.CKA_KEY_GEN_MECHANISM), UNAVAILABLE);
      }
    });

    it('generated keys → CKR_OK with CKA_LOCAL true, CKA_KEY_GEN_MECHANISM set, ALWAYS_SENSITIVE/NEVER_EXTRACTABLE from the initial values', () => {
      const strict = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
        { type: C.CKA_VALUE_LEN, value: 32 },
        { type: C.CKA_SENSITIVE, value: true },
      ]);
      assert.equal(attrBool(m.p11, s, strict, C.CKA_LOCAL), true);
      assert.equal(attrBool(m.p11, s, strict, C.CKA_ALWAYS_SENSITIVE), true);
      assert.equal(attrBool(m.p11, s, strict, C.CKA_NEVER_EXTRACTABLE), true);
      assert.deepEqual(
        attr(m.p11, s, strict, C.CKA_KEY_GEN_MECHANISM).readBigUInt64LE(),
        BigInt(C.CKM_AES_KEY_GEN),
      );
      const loose = m.p11.C_GenerateKey(s, { mechanism: C.CKM_GENERIC_SECRET_KEY_GEN }, [
        { type: C.CKA_VALUE_LEN, value: 20 },
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      assert.equal(attr(m.p11, s, loose, C.CKA_VALUE).length, 20);
      assert.equal(attrBool(m.p11, s, loose, C.CKA_ALWAYS_SENSITIVE), false);
      assert.equal(attrBool(m.p11, s, loose, C.CKA_NEVER_EXTRACTABLE), false);
      // tightening later never makes them true
      set(loose, [
        { type: C.CKA_SENSITIVE, value: true },
        { type: C.CKA_EXTRACTABLE, value: false },
      ]);
      assert.equal(attrBool(m.p11, s, loose, C.CKA_ALWAYS_SENSITIVE), false);
      assert.equal(attrBool(m.p11, s, loose, C.CKA_NEVER_EXTRACTABLE), false);
      const pair = m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
        [],
      );
      for (const k of [pair.privateKey, pair.publicKey]) {
        assert.equal(attrBool(m.p11, s, k, C.CKA_LOCAL), true);
        assert.equal(
          attr(m.p11, s, k, C.CKA_KEY_GEN_MECHANISM).readBigUInt64LE(),
          BigInt(C.CKM_EC_KEY_PAIR_GEN),
        );
      }
      assert.equal(attrBool(m.p11, s, pair.privateKey, C.CKA_ALWAYS_SENSITIVE), true);
      assert.equal(attrBool(m.p11, s, pair.privateKey, C.CKA_NEVER_EXTRACTABLE), true);
      assertRv(
        () => m.p11.C_GetAttributeValue(s, pair.privateKey, [{ type: C.CKA_VALUE }]),
        C.CKR_ATTRIBUTE_SENSITIVE,
      );
    });

    it('key generation templates may not name what the token computes → CKR_ATTRIBUTE_READ_ONLY', () => {
      const gen = (t: Template) => () =>
        m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
          { type: C.CKA_VALUE_LEN, value: 16 },
          ...t,
        ]);
      assertRv(gen([{ type: C.CKA_VALUE, value: Buffer.alloc(16) }]), C.CKR_ATTRIBUTE_READ_ONLY);
      assertRv(gen([{ type: C.CKA_LOCAL, value: true }]), C.CKR_ATTRIBUTE_READ_ONLY);
      assertRv(gen([{ type: C.CKA_ALWAYS_SENSITIVE, value: true }]), C.CKR_ATTRIBUTE_READ_ONLY);
      assertRv(
        () =>
          m.p11.C_GenerateKeyPair(
            s,
            { mechanism: C.CKM_EC_KEY_PAIR_GEN },
            [
              { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
              { type: C.CKA_EC_POINT, value: ec.point },
            ],
            [],
          ),
        C.CKR_ATTRIBUTE_READ_ONLY,
      );
    });

    it("a private object's non-sensitive attributes without a user login → CKR_OBJECT_HANDLE_INVALID", () => {
      const key = create(ecPrivateTemplate(ec, [{ type: C.CKA_LABEL, value: 'private label' }]));
      m.p11.C_Logout(s);
      try {
        assertRv(
          () => m.p11.C_GetAttributeValue(s, key, [{ type: C.CKA_LABEL }]),
          C.CKR_OBJECT_HANDLE_INVALID,
        );
      } finally {
        m.p11.C_Login(s, C.CKU_USER, USER_PIN);
      }
    });
  });
}
