/**
 * Object management (v2.40 §4.1, §5.7) per PAL port: C_CreateObject for every class the token supports
 * from material made by node:crypto (keys are checked by signing and verifying across the two), and the
 * creation error codes of §4.1.1. Copy, destroy and size are in copy-destroy.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, sign, verify, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fromHandle, type Handle, type Template, toTemplate } from '../../src/api/convert.js';
import { ckrName, isPkcs11Error } from '../../src/errors.js';
import {
  attr,
  attrBool,
  attrUlong,
  type Certificate,
  certTemplate,
  dataTemplate,
  type EcMaterial,
  ecMaterial,
  ecPrivateTemplate,
  ecPublicTemplate,
  findAll,
  makeCertificate,
  privateExponentWith,
  type RsaMaterial,
  rsaMaterial,
  rsaMaterialWithPrimes3Mod4,
  rsaPrivateTemplate,
  rsaPublicTemplate,
  secretTemplate,
  tlv,
} from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const DATA = Buffer.from('signed by one side, verified by the other');
const VENDOR_ATTRIBUTE = C.CKA_VENDOR_DEFINED + 0x4242;

for (const port of PAL_PORTS) {
  describe(`objects [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let rsa: RsaMaterial;
    let odd: RsaMaterial;
    let ec: EcMaterial;
    let cert: Certificate;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      rsa = rsaMaterial();
      // small, so that the failing recovery below gives up in well under a second
      odd = rsaMaterialWithPrimes3Mod4(512);
      ec = ecMaterial();
      cert = makeCertificate('device');
    });
    after(() => m.cleanup());

    const create = (t: Template) => m.p11.C_CreateObject(s, t);
    const count = () => findAll(m.p11, s, []).length;
    const signWith = (mech: number, key: Handle, data = DATA) => {
      m.p11.C_SignInit(s, { mechanism: mech }, key);
      return m.p11.C_Sign(s, data, Buffer.alloc(512));
    };
    const verifyWith = (mech: number, key: Handle, sig: Buffer, data = DATA) => {
      m.p11.C_VerifyInit(s, { mechanism: mech }, key);
      return m.p11.C_Verify(s, data, sig);
    };

    it('data object → CKR_OK: values read back, storage attributes defaulted', () => {
      const o = create(
        dataTemplate('data', [{ type: C.CKA_OBJECT_ID, value: Buffer.of(6, 1, 0) }]),
      );
      assert.equal(attr(m.p11, s, o, C.CKA_VALUE).toString(), 'value of data');
      assert.equal(attr(m.p11, s, o, C.CKA_APPLICATION).toString(), 'corepkcs11 tests');
      assert.deepEqual(attr(m.p11, s, o, C.CKA_OBJECT_ID), Buffer.of(6, 1, 0));
      assert.equal(attrUlong(m.p11, s, o, C.CKA_CLASS), C.CKO_DATA);
      assert.equal(attrBool(m.p11, s, o, C.CKA_TOKEN), false);
      // dataTemplate asks for a public object (the profiles' defaults: profile.test.ts)
      assert.equal(attrBool(m.p11, s, o, C.CKA_PRIVATE), false);
      for (const t of [C.CKA_MODIFIABLE, C.CKA_COPYABLE, C.CKA_DESTROYABLE]) {
        assert.equal(attrBool(m.p11, s, o, t), true, C.CKA_NAMES.get(t));
      }
    });

    it('X.509 certificate → CKR_OK: CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER derived from the DER', () => {
      const ca = makeCertificate('issuing CA');
      const leaf = makeCertificate('leaf', {
        issuerCn: 'issuing CA',
        serial: Buffer.from('7f00ff', 'hex'),
      });
      // the DER is a real certificate: node:crypto parses it and checks its signature
      const x509 = new X509Certificate(cert.der);
      assert.ok(x509.verify(cert.publicKey));
      assert.equal(new X509Certificate(leaf.der).serialNumber, '7F00FF');
      for (const c of [cert, ca, leaf]) {
        const o = create(certTemplate(c, [{ type: C.CKA_LABEL, value: 'cert' }]));
        assert.deepEqual(attr(m.p11, s, o, C.CKA_SUBJECT), c.subject);
        assert.deepEqual(attr(m.p11, s, o, C.CKA_ISSUER), c.issuer);
        assert.deepEqual(attr(m.p11, s, o, C.CKA_SERIAL_NUMBER), c.serial);
        assert.deepEqual(attr(m.p11, s, o, C.CKA_VALUE), c.der);
        assert.equal(attrUlong(m.p11, s, o, C.CKA_CERTIFICATE_TYPE), C.CKC_X_509);
        assert.equal(attrBool(m.p11, s, o, C.CKA_TRUSTED), false);
      }
      assert.notDeepEqual(leaf.issuer, leaf.subject);
      // fields the caller gives are kept
      const subject = tlv(0x30, Buffer.from('given'));
      const o = create(certTemplate(cert, [{ type: C.CKA_SUBJECT, value: subject }]));
      assert.deepEqual(attr(m.p11, s, o, C.CKA_SUBJECT), subject);
      assert.deepEqual(attr(m.p11, s, o, C.CKA_ISSUER), cert.issuer);
    });

    it('a certificate value that is not DER without CKA_SUBJECT → CKR_ATTRIBUTE_VALUE_INVALID; with it, stored', () => {
      const junk: Template = [
        { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE },
        { type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509 },
        { type: C.CKA_VALUE, value: Buffer.from('not a certificate') },
      ];
      assertRv(() => create(junk), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(
        () =>
          create(
            certTemplate(cert).map((a) =>
              a.type === C.CKA_VALUE ? { ...a, value: cert.der.subarray(0, 40) } : a,
            ),
          ),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      const o = create([...junk, { type: C.CKA_SUBJECT, value: cert.subject }]);
      assert.deepEqual(attr(m.p11, s, o, C.CKA_VALUE), Buffer.from('not a certificate'));
    });

    it('RSA keys from node:crypto → CKR_OK: the token signs what node:crypto verifies, and verifies what it signs', () => {
      const pub = create(rsaPublicTemplate(rsa));
      const priv = create(rsaPrivateTemplate(rsa));
      assert.equal(attrUlong(m.p11, s, pub, C.CKA_MODULUS_BITS), 2048);
      assert.deepEqual(attr(m.p11, s, pub, C.CKA_MODULUS), rsa.n);
      assert.deepEqual(attr(m.p11, s, priv, C.CKA_PUBLIC_EXPONENT), rsa.e);
      const sig = signWith(C.CKM_SHA256_RSA_PKCS, priv);
      assert.ok(verify('sha256', DATA, rsa.publicKey, sig));
      assert.equal(
        verifyWith(C.CKM_SHA256_RSA_PKCS, pub, sign('sha256', DATA, rsa.privateKey)),
        true,
      );
    });

    it('an RSA private key of n, e and d alone (CRT parts left out) → CKR_OK, and it signs what node:crypto verifies', () => {
      const d = privateExponentWith(rsa) as Buffer;
      const key = create([
        ...rsaPrivateTemplate(rsa).slice(0, 4),
        { type: C.CKA_PRIVATE_EXPONENT, value: d },
      ]);
      assert.ok(verify('sha256', DATA, rsa.publicKey, signWith(C.CKM_SHA256_RSA_PKCS, key)));
    });

    it('an RSA private key of n, e and d alone where d·e − 1 has a single factor 2 → CKR_OK', () => {
      const d = privateExponentWith(odd, 1) as Buffer;
      assert.ok(d, 'the test key admits such a d');
      create([...rsaPrivateTemplate(odd).slice(0, 4), { type: C.CKA_PRIVATE_EXPONENT, value: d }]);
    });

    it('EC P-256 keys from node:crypto → CKR_OK: signatures cross-verify; CKA_EC_POINT reads back as given', () => {
      const pub = create(ecPublicTemplate(ec));
      const priv = create(ecPrivateTemplate(ec));
      assert.deepEqual(attr(m.p11, s, pub, C.CKA_EC_POINT), ec.point);
      assert.deepEqual(attr(m.p11, s, priv, C.CKA_EC_PARAMS), ec.params);
      const sig = signWith(C.CKM_ECDSA_SHA256, priv);
      assert.ok(verify('sha256', DATA, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
      const theirs = sign('sha256', DATA, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(verifyWith(C.CKM_ECDSA_SHA256, pub, theirs), true);
      // a raw (un-wrapped) point is accepted as well
      const raw = ec.point.subarray(2);
      create(
        ecPublicTemplate(ec).map((a) => (a.type === C.CKA_EC_POINT ? { ...a, value: raw } : a)),
      );
    });

    it('EC material that is not a key of the curve, or a curve of another family → CKR_ATTRIBUTE_VALUE_INVALID; an OID of no curve of the table → CKR_CURVE_NOT_SUPPORTED', () => {
      const bent = Buffer.from(ec.point);
      bent[bent.length - 1] = (bent[bent.length - 1] as number) ^ 1;
      assertRv(
        () => create(ecPublicTemplate({ ...ec, point: bent })),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      assertRv(
        () => create(ecPublicTemplate({ ...ec, point: tlv(0x04, Buffer.alloc(10, 4)) })),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      assertRv(
        () => create(ecPrivateTemplate({ ...ec, d: Buffer.alloc(40, 1) })),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      // Ed25519 is a curve of the token, but not one a CKK_EC key can have: the value is invalid for the
      // key type (CKK_EC_EDWARDS takes it, edwards-montgomery.test.ts)
      assertRv(
        () => create(ecPublicTemplate({ ...ec, params: Buffer.from('06032b6570', 'hex') })),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      // secp224k1 (1.3.132.0.32) is a well-formed OID of no curve of the table: every path answers
      // CKR_CURVE_NOT_SUPPORTED
      assertRv(
        () => create(ecPublicTemplate({ ...ec, params: Buffer.from('06052b81040020', 'hex') })),
        C.CKR_CURVE_NOT_SUPPORTED,
      );
    });

    it('AES keys of 16, 24 and 32 bytes with CKA_VALUE_LEN derived; other lengths → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      for (const n of [16, 24, 32]) {
        const o = create(secretTemplate(C.CKK_AES, Buffer.alloc(n, 7)));
        assert.equal(attrUlong(m.p11, s, o, C.CKA_VALUE_LEN), n);
        m.p11.C_SignInit(s, { mechanism: C.CKM_AES_CMAC }, o);
        assert.equal(m.p11.C_Sign(s, DATA, Buffer.alloc(16)).length, 16);
      }
      for (const n of [0, 15, 17, 33]) {
        assertRv(
          () => create(secretTemplate(C.CKK_AES, Buffer.alloc(n, 7))),
          C.CKR_ATTRIBUTE_VALUE_INVALID,
        );
      }
    });

    it('generic secret and CKK_SHA256_HMAC keys → CKR_OK: CKM_SHA256_HMAC equals node:crypto HMAC', () => {
      const value = Buffer.from('a generic secret of any length, here 44 bytes');
      for (const kt of [C.CKK_GENERIC_SECRET, C.CKK_SHA256_HMAC]) {
        const o = create(secretTemplate(kt, value));
        assert.equal(attrUlong(m.p11, s, o, C.CKA_VALUE_LEN), value.length);
        assert.deepEqual(
          signWith(C.CKM_SHA256_HMAC, o),
          createHmac('sha256', value).update(DATA).digest(),
        );
      }
    });

    it('CKA_CHECK_VALUE is derived (AES: ECB of a zero block; generic, HMAC, certificate: SHA-1); a wrong one → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const aesCheck = (key: Buffer) =>
        createCipheriv(`aes-${key.length * 8}-ecb`, key, null)
          .update(Buffer.alloc(16))
          .subarray(0, 3);
      const sha1Check = (v: Buffer) => createHash('sha1').update(v).digest().subarray(0, 3);
      // FIPS-197 style known answer: AES-128 under the zero key encrypts the zero block to 66e94bd4…
      const zero = create(secretTemplate(C.CKK_AES, Buffer.alloc(16)));
      assert.equal(attr(m.p11, s, zero, C.CKA_CHECK_VALUE).toString('hex'), '66e94b');
      for (const n of [24, 32]) {
        const key = Buffer.alloc(n, n);
        const o = create(secretTemplate(C.CKK_AES, key));
        assert.deepEqual(attr(m.p11, s, o, C.CKA_CHECK_VALUE), aesCheck(key));
      }
      const secret = Buffer.from('a generic secret');
      for (const kt of [C.CKK_GENERIC_SECRET, C.CKK_SHA256_HMAC]) {
        const o = create(secretTemplate(kt, secret));
        assert.deepEqual(attr(m.p11, s, o, C.CKA_CHECK_VALUE), sha1Check(secret));
      }
      const c = create(certTemplate(cert));
      assert.deepEqual(attr(m.p11, s, c, C.CKA_CHECK_VALUE), sha1Check(cert.der));
      // given: the right value is accepted, an empty one asks for none, a wrong one is refused
      const key = Buffer.alloc(16, 9);
      const given = (value: Buffer) => [
        ...secretTemplate(C.CKK_AES, key),
        { type: C.CKA_CHECK_VALUE, value },
      ];
      create(given(aesCheck(key)));
      const none = create(given(Buffer.alloc(0)));
      assert.equal(attr(m.p11, s, none, C.CKA_CHECK_VALUE).length, 0);
      assertRv(() => create(given(Buffer.from('abc'))), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(
        () => create(certTemplate(cert, [{ type: C.CKA_CHECK_VALUE, value: Buffer.from('abc') }])),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      // a generated key gets one too (made readable here to check it)
      const generated = m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
        { type: C.CKA_VALUE_LEN, value: 32 },
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ]);
      const value = attr(m.p11, s, generated, C.CKA_VALUE);
      assert.deepEqual(attr(m.p11, s, generated, C.CKA_CHECK_VALUE), aesCheck(value));
    });

    it('an object kind the token does not support → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const x942Params: Template = [
        { type: C.CKA_CLASS, value: C.CKO_DOMAIN_PARAMETERS },
        { type: C.CKA_KEY_TYPE, value: C.CKK_X9_42_DH },
      ];
      assertRv(() => create(x942Params), C.CKR_ATTRIBUTE_VALUE_INVALID);
      assertRv(
        () => create(secretTemplate(C.CKK_RC4, Buffer.alloc(16, 1))),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
    });

    it('a complete hardware-feature template (CKO_HW_FEATURE, CKA_HW_FEATURE_TYPE) → CKR_ATTRIBUTE_VALUE_INVALID, not TEMPLATE_INCOMPLETE', () => {
      const clock: Template = [
        { type: C.CKA_CLASS, value: C.CKO_HW_FEATURE },
        { type: C.CKA_HW_FEATURE_TYPE, value: C.CKH_CLOCK },
      ];
      assertRv(() => create(clock), C.CKR_ATTRIBUTE_VALUE_INVALID);
    });

    it('an attribute type the spec does not define → CKR_ATTRIBUTE_TYPE_INVALID', () => {
      const before = count();
      assertRv(
        () => create(dataTemplate('x', [{ type: VENDOR_ATTRIBUTE, value: Buffer.of(1) }])),
        C.CKR_ATTRIBUTE_TYPE_INVALID,
      );
      assert.equal(count(), before, 'nothing was created');
    });

    it('an attribute of another kind of object (CKA_MODULUS on an AES key) → CKR_TEMPLATE_INCONSISTENT', () => {
      assertRv(
        () =>
          create(
            secretTemplate(C.CKK_AES, Buffer.alloc(16), [{ type: C.CKA_MODULUS, value: rsa.n }]),
          ),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
    });

    it('an invalid value for a valid attribute → CKR_ATTRIBUTE_VALUE_INVALID', () => {
      const bad: [string, Template][] = [
        ['two-byte CK_BBOOL', dataTemplate('x', [{ type: C.CKA_TOKEN, value: Buffer.of(1, 0) }])],
        ['three-byte CKA_CLASS', [{ type: C.CKA_CLASS, value: Buffer.of(0, 0, 0) }]],
        ['CK_DATE not digits', dataTemplate('x', [{ type: C.CKA_START_DATE, value: 'yyyymmdd' }])],
        ['CKA_EC_PARAMS not DER', ecPublicTemplate({ ...ec, params: Buffer.from('garbage') })],
        [
          'nested template on CKA_LABEL',
          dataTemplate('x', [{ type: C.CKA_LABEL, value: [{ type: C.CKA_TOKEN, value: true }] }]),
        ],
      ];
      for (const [what, t] of bad) {
        assert.doesNotThrow(() => assertRv(() => create(t), C.CKR_ATTRIBUTE_VALUE_INVALID), what);
      }
      // Shorter than YYYYMMDD: pkcs11js refuses it before the token sees it (a TypeError); the token's
      // own answer, for callers that reach it another way (RPC), is CKR_ATTRIBUTE_VALUE_INVALID.
      const short = dataTemplate('x', [{ type: C.CKA_START_DATE, value: '202401' }]);
      assert.throws(() => create(short), TypeError);
      assertRv(
        () => m.engine.createObject(fromHandle(s), toTemplate(short)),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
    });

    it('an attribute that must not be given to C_CreateObject → CKR_ATTRIBUTE_READ_ONLY', () => {
      const ro: [string, Template][] = [
        [
          'CKA_LOCAL',
          secretTemplate(C.CKK_AES, Buffer.alloc(16), [{ type: C.CKA_LOCAL, value: false }]),
        ],
        [
          'CKA_ALWAYS_SENSITIVE',
          ecPrivateTemplate(ec, [{ type: C.CKA_ALWAYS_SENSITIVE, value: true }]),
        ],
        [
          'CKA_NEVER_EXTRACTABLE',
          ecPrivateTemplate(ec, [{ type: C.CKA_NEVER_EXTRACTABLE, value: true }]),
        ],
        [
          'CKA_KEY_GEN_MECHANISM',
          ecPublicTemplate(ec, [{ type: C.CKA_KEY_GEN_MECHANISM, value: C.CKM_EC_KEY_PAIR_GEN }]),
        ],
        [
          'CKA_VALUE_LEN',
          secretTemplate(C.CKK_AES, Buffer.alloc(16), [{ type: C.CKA_VALUE_LEN, value: 16 }]),
        ],
        ['CKA_MODULUS_BITS', rsaPublicTemplate(rsa, [{ type: C.CKA_MODULUS_BITS, value: 2048 }])],
        [
          'CKA_TRUSTED true by the user',
          certTemplate(cert, [{ type: C.CKA_TRUSTED, value: true }]),
        ],
      ];
      for (const [what, t] of ro) {
        assert.doesNotThrow(() => assertRv(() => create(t), C.CKR_ATTRIBUTE_READ_ONLY), what);
      }
    });

    it('a template missing a required attribute → CKR_TEMPLATE_INCOMPLETE', () => {
      const without = (t: Template, type: number) => t.filter((a) => a.type !== type);
      const incomplete: [string, Template][] = [
        ['CKA_CLASS', without(dataTemplate('x'), C.CKA_CLASS)],
        ['CKA_KEY_TYPE', without(secretTemplate(C.CKK_AES, Buffer.alloc(16)), C.CKA_KEY_TYPE)],
        ['CKA_CERTIFICATE_TYPE', without(certTemplate(cert), C.CKA_CERTIFICATE_TYPE)],
        ['certificate CKA_VALUE', without(certTemplate(cert), C.CKA_VALUE)],
        ['secret CKA_VALUE', without(secretTemplate(C.CKK_AES, Buffer.alloc(16)), C.CKA_VALUE)],
        ['CKA_MODULUS', without(rsaPublicTemplate(rsa), C.CKA_MODULUS)],
        ['CKA_PUBLIC_EXPONENT', without(rsaPublicTemplate(rsa), C.CKA_PUBLIC_EXPONENT)],
        ['CKA_PRIVATE_EXPONENT', without(rsaPrivateTemplate(rsa), C.CKA_PRIVATE_EXPONENT)],
        ['CKA_EC_POINT', without(ecPublicTemplate(ec), C.CKA_EC_POINT)],
        ['CKA_EC_PARAMS', without(ecPrivateTemplate(ec), C.CKA_EC_PARAMS)],
        ['EC CKA_VALUE', without(ecPrivateTemplate(ec), C.CKA_VALUE)],
      ];
      for (const [what, t] of incomplete) {
        assert.doesNotThrow(() => assertRv(() => create(t), C.CKR_TEMPLATE_INCOMPLETE), what);
      }
    });

    it('an attribute given twice with different values → CKR_TEMPLATE_INCONSISTENT; with the same value it is accepted', () => {
      assertRv(
        () => create([...dataTemplate('x'), { type: C.CKA_LABEL, value: 'y' }]),
        C.CKR_TEMPLATE_INCONSISTENT,
      );
      const o = create([...dataTemplate('x'), { type: C.CKA_LABEL, value: 'x' }]);
      assert.equal(attr(m.p11, s, o, C.CKA_LABEL).toString(), 'x');
    });

    it('several problems at once → one of the codes that apply (v2.40 §4.1.1), and nothing is created', () => {
      const before = count();
      const cases: [string, Template, number[]][] = [
        [
          'unknown type + bad value',
          dataTemplate('x', [
            { type: VENDOR_ATTRIBUTE, value: 1 },
            { type: C.CKA_TOKEN, value: Buffer.of(1, 1) },
          ]),
          [C.CKR_ATTRIBUTE_TYPE_INVALID, C.CKR_ATTRIBUTE_VALUE_INVALID],
        ],
        [
          'bad value + read-only',
          secretTemplate(C.CKK_AES, Buffer.alloc(16), [
            { type: C.CKA_LOCAL, value: true },
            { type: C.CKA_SIGN, value: Buffer.of(1, 1) },
          ]),
          [C.CKR_ATTRIBUTE_VALUE_INVALID, C.CKR_ATTRIBUTE_READ_ONLY],
        ],
        [
          'read-only + incomplete',
          [
            { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
            { type: C.CKA_LOCAL, value: true },
          ],
          [C.CKR_ATTRIBUTE_READ_ONLY, C.CKR_TEMPLATE_INCOMPLETE],
        ],
        [
          'incomplete + inconsistent',
          [
            { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
            { type: C.CKA_LABEL, value: 'a' },
            { type: C.CKA_LABEL, value: 'b' },
          ],
          [C.CKR_TEMPLATE_INCOMPLETE, C.CKR_TEMPLATE_INCONSISTENT],
        ],
        [
          'unknown type + no CKA_CLASS',
          [
            { type: VENDOR_ATTRIBUTE, value: 1 },
            { type: C.CKA_LABEL, value: 'x' },
          ],
          [C.CKR_ATTRIBUTE_TYPE_INVALID, C.CKR_TEMPLATE_INCOMPLETE],
        ],
      ];
      for (const [what, t, codes] of cases) {
        assert.throws(
          () => create(t),
          (e) => isPkcs11Error(e) && codes.includes(e.code),
          `${what}: one of ${codes.map(ckrName).join(', ')}`,
        );
      }
      assert.equal(count(), before);
    });
  });
}
