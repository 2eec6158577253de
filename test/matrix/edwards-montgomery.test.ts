import assert from 'node:assert/strict';
import { createHash, diffieHellman, generateKeyPairSync, sign, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { CK_PARAMS_EDDSA } from '../../src/pkcs11/params.js';
import { EC_PARAMS as ECDSA_PARAMS, ecPair, OKP_PARAMS, publicKeyOf } from '../helpers/keys.js';

const EC_PARAMS = { ...ECDSA_PARAMS, ...OKP_PARAMS };

import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';
import { hex, loadVectors } from '../helpers/vectors.js';

interface EddsaFile {
  source: string;
  vectors: {
    name: string;
    curve: 'Ed25519' | 'Ed448';
    secret: string;
    public: string;
    message: string;
    signature: string;
  }[];
}
interface EcdhFile {
  source: string;
  vectors: {
    name: string;
    curve: 'X25519' | 'X448';
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  }[];
}

const EDDSA = loadVectors<EddsaFile>('rfc8032/eddsa.json');
const ECDH = loadVectors<EcdhFile>('rfc7748/ecdh.json');
/** DER OCTET STRING around a raw public key, as CKA_EC_POINT holds it (PKCS#11 3.0). */
const octets = (raw: Buffer) => Buffer.concat([Buffer.from([0x04, raw.length]), raw]);
const SECRET_TEMPLATE = [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
  { type: C.CKA_SENSITIVE, value: false },
  { type: C.CKA_EXTRACTABLE, value: true },
];

for (const port of PAL_PORTS) {
  describe(`Edwards and Montgomery keys [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
    });
    after(() => m.cleanup());

    const value = (h: Handle, type: number) =>
      m.p11.C_GetAttributeValue(s, h, [{ type }])[0]?.value as Buffer;
    const ulong = (h: Handle, type: number) => value(h, type).readUInt32LE(0);
    const signWith = (key: Handle, data: Buffer, parameter?: object) => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_EDDSA, parameter: parameter as never }, key);
      return m.p11.C_Sign(s, data, Buffer.alloc(114));
    };
    const verifyWith = (key: Handle, data: Buffer, sig: Buffer) => {
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_EDDSA }, key);
      return m.p11.C_Verify(s, data, sig);
    };
    const importPair = (
      keyType: number,
      curve: keyof typeof EC_PARAMS,
      secret: string,
      pub: string,
      token = false,
    ) => ({
      privateKey: m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
        { type: C.CKA_KEY_TYPE, value: keyType },
        { type: C.CKA_EC_PARAMS, value: EC_PARAMS[curve] },
        { type: C.CKA_VALUE, value: hex(secret) },
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_DERIVE, value: true },
        { type: C.CKA_TOKEN, value: token },
      ]),
      publicKey: m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
        { type: C.CKA_KEY_TYPE, value: keyType },
        { type: C.CKA_EC_PARAMS, value: EC_PARAMS[curve] },
        { type: C.CKA_EC_POINT, value: octets(hex(pub)) },
        { type: C.CKA_VERIFY, value: true },
        { type: C.CKA_TOKEN, value: token },
      ]),
    });
    const generate = (mechanism: number, curve: keyof typeof EC_PARAMS, params?: Buffer) =>
      m.p11.C_GenerateKeyPair(
        s,
        { mechanism },
        [{ type: C.CKA_EC_PARAMS, value: params ?? EC_PARAMS[curve] }],
        [
          { type: C.CKA_SIGN, value: mechanism === C.CKM_EC_EDWARDS_KEY_PAIR_GEN },
          { type: C.CKA_DERIVE, value: mechanism === C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN },
        ],
      );

    for (const v of EDDSA.vectors) {
      it(`CKM_EDDSA signs RFC 8032 ${v.name} exactly and verifies it`, () => {
        const k = importPair(C.CKK_EC_EDWARDS, v.curve, v.secret, v.public);
        assert.equal(signWith(k.privateKey, hex(v.message)).toString('hex'), v.signature);
        assert.equal(verifyWith(k.publicKey, hex(v.message), hex(v.signature)), true);
      });
    }

    it('CKM_EDDSA with a changed message or signature → CKR_SIGNATURE_INVALID', () => {
      const v = EDDSA.vectors[1] as EddsaFile['vectors'][number];
      const k = importPair(C.CKK_EC_EDWARDS, v.curve, v.secret, v.public);
      assertRv(
        () => verifyWith(k.publicKey, Buffer.from('73', 'hex'), hex(v.signature)),
        C.CKR_SIGNATURE_INVALID,
      );
      const bad = hex(v.signature);
      bad[40] = (bad[40] as number) ^ 1;
      assertRv(() => verifyWith(k.publicKey, hex(v.message), bad), C.CKR_SIGNATURE_INVALID);
      assertRv(
        () => verifyWith(k.publicKey, hex(v.message), bad.subarray(1)),
        C.CKR_SIGNATURE_LEN_RANGE,
      );
    });

    for (const curve of ['Ed25519', 'Ed448'] as const) {
      it(`CKM_EC_EDWARDS_KEY_PAIR_GEN ${curve}: CKK_EC_EDWARDS keys whose signatures node:crypto verifies`, () => {
        const k = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, curve);
        assert.equal(ulong(k.publicKey, C.CKA_KEY_TYPE), C.CKK_EC_EDWARDS);
        assert.equal(ulong(k.privateKey, C.CKA_KEY_TYPE), C.CKK_EC_EDWARDS);
        assert.equal(ulong(k.privateKey, C.CKA_KEY_GEN_MECHANISM), C.CKM_EC_EDWARDS_KEY_PAIR_GEN);
        // PKCS#11 3.0: CKA_EC_POINT is the DER OCTET STRING of the RFC 8032 public key.
        assert.equal(value(k.publicKey, C.CKA_EC_POINT).length, curve === 'Ed25519' ? 34 : 59);
        const data = Buffer.from(`message for ${curve}`);
        const sig = signWith(k.privateKey, data);
        assert.equal(sig.length, curve === 'Ed25519' ? 64 : 114);
        assert.ok(verify(null, data, publicKeyOf(m.p11, s, k.publicKey), sig));
        assert.equal(verifyWith(k.publicKey, data, sig), true);
      });
    }

    it('CKM_EDDSA verifies what node:crypto signed, with a raw CKA_EC_POINT (PKCS#11 3.1 form)', () => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
      const pub = m.p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_EC_EDWARDS },
        { type: C.CKA_EC_PARAMS, value: EC_PARAMS.Ed25519 },
        { type: C.CKA_EC_POINT, value: raw },
      ]);
      const data = Buffer.from('signed by OpenSSL');
      assert.equal(verifyWith(pub, data, sign(null, data, privateKey)), true);
    });

    it('CKA_EC_PARAMS as a PrintableString curve name (edwards25519, curve25519) is accepted', () => {
      const printable = (name: string) =>
        Buffer.concat([Buffer.from([0x13, name.length]), Buffer.from(name, 'ascii')]);
      const ed = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'Ed25519', printable('edwards25519'));
      // The token stores the OID form it understands best.
      assert.deepEqual(value(ed.publicKey, C.CKA_EC_PARAMS), EC_PARAMS.Ed25519);
      const x = generate(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 'X25519', printable('curve25519'));
      assert.equal(ulong(x.publicKey, C.CKA_KEY_TYPE), C.CKK_EC_MONTGOMERY);
    });

    it('CKM_EDDSA parameters: pure Ed448 with phFlag false is accepted; Ed25519ph, Ed25519ctx and Ed448ph → CKR_MECHANISM_PARAM_INVALID', () => {
      const ed25519 = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'Ed25519');
      const ed448 = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'Ed448');
      const data = Buffer.from('parameters');
      const pure448 = signWith(ed448.privateKey, data, { type: CK_PARAMS_EDDSA, phFlag: false });
      assert.ok(verify(null, data, publicKeyOf(m.p11, s, ed448.publicKey), pure448));
      const refused: [Handle, object][] = [
        [ed25519.privateKey, { type: CK_PARAMS_EDDSA, phFlag: true }],
        [ed25519.privateKey, { type: CK_PARAMS_EDDSA, phFlag: false }],
        [
          ed25519.privateKey,
          { type: CK_PARAMS_EDDSA, phFlag: false, contextData: Buffer.from('foo') },
        ],
        [ed448.privateKey, { type: CK_PARAMS_EDDSA, phFlag: true }],
        [
          ed448.privateKey,
          { type: CK_PARAMS_EDDSA, phFlag: false, contextData: Buffer.from('foo') },
        ],
        [ed25519.privateKey, Buffer.from([1, 2, 3])],
      ];
      for (const [key, parameter] of refused) {
        assertRv(
          () => m.p11.C_SignInit(s, { mechanism: C.CKM_EDDSA, parameter: parameter as never }, key),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      }
    });

    it('CKM_EDDSA is one-part: C_SignUpdate → CKR_FUNCTION_NOT_SUPPORTED', () => {
      const k = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'Ed25519');
      m.p11.C_SignInit(s, { mechanism: C.CKM_EDDSA }, k.privateKey);
      assertRv(() => m.p11.C_SignUpdate(s, Buffer.from('part')), C.CKR_FUNCTION_NOT_SUPPORTED);
    });

    it('curve and family mismatches → CKR_CURVE_NOT_SUPPORTED, CKR_ATTRIBUTE_VALUE_INVALID, CKR_KEY_TYPE_INCONSISTENT', () => {
      assertRv(() => generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'P-256'), C.CKR_CURVE_NOT_SUPPORTED);
      assertRv(() => generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'X25519'), C.CKR_CURVE_NOT_SUPPORTED);
      assertRv(() => generate(C.CKM_EC_KEY_PAIR_GEN, 'Ed25519'), C.CKR_CURVE_NOT_SUPPORTED);
      assertRv(
        () => generate(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 'Ed448'),
        C.CKR_CURVE_NOT_SUPPORTED,
      );
      const v = EDDSA.vectors[0] as EddsaFile['vectors'][number];
      assertRv(
        () => importPair(C.CKK_EC, 'Ed25519', v.secret, v.public),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      // RFC 8032 keys are exactly 32 / 57 bytes: leading zeros are part of them.
      assertRv(
        () => importPair(C.CKK_EC_EDWARDS, 'Ed25519', v.secret.slice(2), v.public),
        C.CKR_ATTRIBUTE_VALUE_INVALID,
      );
      const ec = ecPair(m.p11, s, 'P-256', { private: [{ type: C.CKA_SIGN, value: true }] });
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_EDDSA }, ec.privateKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
      const ed = generate(C.CKM_EC_EDWARDS_KEY_PAIR_GEN, 'Ed25519');
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ed.privateKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('a private key whose public key does not match its secret → CKR_ATTRIBUTE_VALUE_INVALID on use', () => {
      // Private key objects carry no point: the token computes it, so only the public half can disagree.
      const [a, b] = EDDSA.vectors as [EddsaFile['vectors'][number], EddsaFile['vectors'][number]];
      const k = importPair(C.CKK_EC_EDWARDS, 'Ed25519', a.secret, b.public);
      const sig = signWith(k.privateKey, hex(a.message));
      assert.equal(sig.toString('hex'), a.signature);
      assertRv(() => verifyWith(k.publicKey, hex(a.message), sig), C.CKR_SIGNATURE_INVALID);
    });

    for (const v of ECDH.vectors) {
      it(`CKM_ECDH1_DERIVE on CKK_EC_MONTGOMERY keys gives RFC 7748 ${v.name}'s shared secret on both sides`, () => {
        const alice = importPair(C.CKK_EC_MONTGOMERY, v.curve, v.alicePrivate, v.alicePublic);
        const bob = importPair(C.CKK_EC_MONTGOMERY, v.curve, v.bobPrivate, v.bobPublic);
        const derive = (priv: Handle, peer: string, raw: boolean) =>
          m.p11.C_DeriveKey(
            s,
            {
              mechanism: C.CKM_ECDH1_DERIVE,
              parameter: {
                type: C.CK_PARAMS_EC_DH,
                kdf: C.CKD_NULL,
                publicData: raw ? hex(peer) : octets(hex(peer)),
              },
            },
            priv,
            SECRET_TEMPLATE,
          );
        assert.equal(
          value(derive(alice.privateKey, v.bobPublic, true), C.CKA_VALUE).toString('hex'),
          v.shared,
        );
        assert.equal(
          value(derive(bob.privateKey, v.alicePublic, false), C.CKA_VALUE).toString('hex'),
          v.shared,
        );
      });
    }

    for (const curve of ['X25519', 'X448'] as const) {
      it(`CKM_EC_MONTGOMERY_KEY_PAIR_GEN ${curve}: the token and node:crypto derive the same secret`, () => {
        const k = generate(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, curve);
        assert.equal(ulong(k.privateKey, C.CKA_KEY_TYPE), C.CKK_EC_MONTGOMERY);
        const other =
          curve === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('x448');
        const otherRaw = Buffer.from(
          other.publicKey.export({ format: 'jwk' }).x as string,
          'base64url',
        );
        const derived = m.p11.C_DeriveKey(
          s,
          {
            mechanism: C.CKM_ECDH1_DERIVE,
            parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_SHA256_KDF, publicData: otherRaw },
          },
          k.privateKey,
          [...SECRET_TEMPLATE, { type: C.CKA_VALUE_LEN, value: 32 }],
        );
        const z = diffieHellman({
          privateKey: other.privateKey,
          publicKey: publicKeyOf(m.p11, s, k.publicKey),
        });
        // ANSI X9.63 KDF, one block: SHA-256(Z ‖ 00000001).
        const expected = createHash('sha256')
          .update(z)
          .update(Buffer.from([0, 0, 0, 1]))
          .digest();
        assert.deepEqual(value(derived, C.CKA_VALUE), expected);
      });
    }

    it('CKM_ECDH1_DERIVE with a small-order X25519 point → CKR_MECHANISM_PARAM_INVALID', () => {
      const k = generate(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 'X25519');
      assertRv(
        () =>
          m.p11.C_DeriveKey(
            s,
            {
              mechanism: C.CKM_ECDH1_DERIVE,
              parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: Buffer.alloc(32) },
            },
            k.privateKey,
            SECRET_TEMPLATE,
          ),
        C.CKR_MECHANISM_PARAM_INVALID,
      );
    });

    it('Montgomery keys do not sign and Edwards keys do not derive → CKR_KEY_TYPE_INCONSISTENT', () => {
      const x = generate(C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 'X25519');
      assertRv(
        () => m.p11.C_SignInit(s, { mechanism: C.CKM_EDDSA }, x.privateKey),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
      const ed = importPair(
        C.CKK_EC_EDWARDS,
        'Ed25519',
        (EDDSA.vectors[0] as EddsaFile['vectors'][number]).secret,
        (EDDSA.vectors[0] as EddsaFile['vectors'][number]).public,
      );
      assertRv(
        () =>
          m.p11.C_DeriveKey(
            s,
            {
              mechanism: C.CKM_ECDH1_DERIVE,
              parameter: {
                type: C.CK_PARAMS_EC_DH,
                kdf: C.CKD_NULL,
                publicData: Buffer.alloc(32, 9),
              },
            },
            ed.privateKey,
            SECRET_TEMPLATE,
          ),
        C.CKR_KEY_TYPE_INCONSISTENT,
      );
    });

    it('token Edwards keys survive a restart and sign the same (deterministic) signature', () => {
      const v = EDDSA.vectors[2] as EddsaFile['vectors'][number];
      importPair(C.CKK_EC_EDWARDS, v.curve, v.secret, v.public, true);
      const again = m.restart();
      {
        const s2 = userSession(again);
        again.p11.C_FindObjectsInit(s2, [
          { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
          { type: C.CKA_KEY_TYPE, value: C.CKK_EC_EDWARDS },
        ]);
        const [key] = again.p11.C_FindObjects(s2, 10);
        again.p11.C_FindObjectsFinal(s2);
        assert.ok(key);
        again.p11.C_SignInit(s2, { mechanism: C.CKM_EDDSA }, key);
        assert.equal(
          again.p11.C_Sign(s2, hex(v.message), Buffer.alloc(64)).toString('hex'),
          v.signature,
        );
      }
    });
  });
}
