/**
 * The hashes PKCS#11 3.0 added (SHA-3) and the SHA-512/t pair, through every mechanism that names a hash:
 * digests against the FIPS 180-4 / FIPS 202 examples, HMACs against node:crypto, ECDSA and RSA
 * signatures verified by node:crypto (and node:crypto's verified by the token), MGF1 and OAEP with
 * SHA-3, and the SHA-3 KDFs of CKM_ECDH1_DERIVE.
 * @module
 */
import assert from 'node:assert/strict';
import {
  constants,
  createECDH,
  createHash,
  createHmac,
  publicEncrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import { freshKeyPair } from '../helpers/keypair.js';
import { ecPair, ecPointOf, ecPublicObject, publicKeyOf, rsaPair } from '../helpers/keys.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  type TestModule,
  userSession,
} from '../helpers/token.js';
import { hex, loadVectors } from '../helpers/vectors.js';

const DIGESTS = loadVectors<{
  source: string;
  vectors: { hash: string; message: string; digest: string }[];
}>('fips/digests.json');

/** A constant of constants.ts by name; a name it does not have is an error, not undefined. */
function constant(name: string): number {
  const v = (C as unknown as Record<string, unknown>)[name];
  if (typeof v !== 'number') throw new Error(`constants.ts has no ${name}`);
  return v;
}

/** A new hash: node:crypto's name, the digest, the HMAC pair and its key type (CKM_SHA512_224 …). */
function row(name: string, node: string, ck: string) {
  return {
    name,
    node,
    digest: constant(`CKM_${ck}`),
    hmac: [constant(`CKM_${ck}_HMAC`), constant(`CKM_${ck}_HMAC_GENERAL`)] as const,
    key: constant(`CKK_${ck}_HMAC`),
  };
}

/** SHA3-n: its row and the 3.0 numbers of ECDSA, RSA PKCS#1 and PSS, MGF1 and the X9.63 KDF. */
function sha3(n: 224 | 256 | 384 | 512) {
  const ck = `SHA3_${n}`;
  return {
    ...row(`SHA3-${n}`, `sha3-${n}`, ck),
    ecdsa: constant(`CKM_ECDSA_${ck}`),
    rsa: [constant(`CKM_${ck}_RSA_PKCS`), constant(`CKM_${ck}_RSA_PKCS_PSS`)] as const,
    mgf: constant(`CKG_MGF1_${ck}`),
    kdf: constant(`CKD_${ck}_KDF`),
  };
}

const SHA3 = [sha3(224), sha3(256), sha3(384), sha3(512)];
/** The new hashes: SHA-512/224, SHA-512/256 and SHA-3. */
const NEW = [
  row('SHA-512/224', 'sha512-224', 'SHA512_224'),
  row('SHA-512/256', 'sha512-256', 'SHA512_256'),
  ...SHA3,
];
const DATA = Buffer.from('The quick brown fox jumps over the lazy dog');

for (const port of PAL_PORTS) {
  describe(`SHA-3 and SHA-512/t mechanisms [${port.name}]`, () => {
    let m: TestModule;
    let s: Handle;
    let rsa: { publicKey: Handle; privateKey: Handle };
    let ec: { publicKey: Handle; privateKey: Handle };
    before(() => {
      m = initializedModule(port);
      s = userSession(m);
      const on = (...types: number[]) => types.map((type) => ({ type, value: true }));
      rsa = rsaPair(m.p11, s, 2048, {
        public: on(C.CKA_ENCRYPT),
        private: on(C.CKA_SIGN, C.CKA_DECRYPT),
      });
      ec = ecPair(m.p11, s, 'P-384', { private: on(C.CKA_SIGN, C.CKA_DERIVE) });
    });
    after(() => m.cleanup());

    const digest = (mechanism: number, data: Buffer, parts = 1) => {
      m.p11.C_DigestInit(s, { mechanism });
      if (parts === 1) return m.p11.C_Digest(s, data, Buffer.alloc(64));
      const cut = Math.floor(data.length / 2);
      m.p11.C_DigestUpdate(s, data.subarray(0, cut));
      m.p11.C_DigestUpdate(s, data.subarray(cut));
      return m.p11.C_DigestFinal(s, Buffer.alloc(64));
    };
    const signWith = (
      mechanism: number,
      key: Handle,
      data: Buffer,
      parameter?: object,
      parts = 1,
    ) => {
      m.p11.C_SignInit(s, { mechanism, parameter: parameter as never }, key);
      if (parts === 1) return m.p11.C_Sign(s, data, Buffer.alloc(512));
      m.p11.C_SignUpdate(s, data.subarray(0, 7));
      m.p11.C_SignUpdate(s, data.subarray(7));
      return m.p11.C_SignFinal(s, Buffer.alloc(512));
    };
    const verifyWith = (
      mechanism: number,
      key: Handle,
      data: Buffer,
      sig: Buffer,
      parameter?: object,
    ) => {
      m.p11.C_VerifyInit(s, { mechanism, parameter: parameter as never }, key);
      return m.p11.C_Verify(s, data, sig);
    };

    for (const v of DIGESTS.vectors) {
      it(`${v.hash}(${JSON.stringify(v.message)}) is the FIPS example value, in one part and in two`, () => {
        const h = NEW.find((x) => x.name === v.hash);
        assert.ok(h, v.hash);
        const data = Buffer.from(v.message, 'ascii');
        assert.equal(digest(h.digest, data).toString('hex'), v.digest);
        assert.equal(digest(h.digest, data, 2).toString('hex'), v.digest);
      });
    }

    for (const h of NEW) {
      it(`${h.name}: digests of 1 MiB, HMAC and HMAC_GENERAL equal node:crypto's; a CKK_*_HMAC key works`, () => {
        const big = randomBytes(1 << 20);
        assert.deepEqual(digest(h.digest, big, 2), createHash(h.node).update(big).digest());
        const secret = randomBytes(40);
        const key = m.p11.C_CreateObject(s, [
          { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
          { type: C.CKA_KEY_TYPE, value: h.key },
          { type: C.CKA_VALUE, value: secret },
          { type: C.CKA_SIGN, value: true },
          { type: C.CKA_VERIFY, value: true },
        ]);
        const mac = createHmac(h.node, secret).update(DATA).digest();
        assert.deepEqual(signWith(h.hmac[0], key, DATA, undefined, 2), mac);
        assert.deepEqual(signWith(h.hmac[1], key, DATA, 12 as never), mac.subarray(0, 12));
        assert.equal(verifyWith(h.hmac[0], key, DATA, mac), true);
        assertRv(
          () => verifyWith(h.hmac[1], key, DATA, mac.subarray(0, 11), 12 as never),
          C.CKR_SIGNATURE_LEN_RANGE,
        );
      });
    }

    for (const h of SHA3) {
      it(`${h.name}: ECDSA (one and two parts) verified by node:crypto, and node:crypto's signature by the token`, () => {
        const pub = publicKeyOf(m.p11, s, ec.publicKey);
        for (const parts of [1, 2]) {
          const sig = signWith(h.ecdsa, ec.privateKey, DATA, undefined, parts);
          assert.equal(sig.length, 96);
          assert.ok(verify(h.node, DATA, { key: pub, dsaEncoding: 'ieee-p1363' }, sig));
        }
        const theirs = freshKeyPair('ec', { namedCurve: 'P-256' });
        // CKA_EC_POINT as the raw point
        const foreign = ecPublicObject(m.p11, s, 'P-256', ecPointOf(theirs.publicKey));
        const sig = sign(h.node, DATA, { key: theirs.privateKey, dsaEncoding: 'ieee-p1363' });
        assert.equal(verifyWith(h.ecdsa, foreign, DATA, sig), true);
        assertRv(
          () => verifyWith(h.ecdsa, foreign, Buffer.from('other'), sig),
          C.CKR_SIGNATURE_INVALID,
        );
      });

      it(`${h.name}: RSA PKCS#1 v1.5 and PSS (MGF1-${h.name}) verified by node:crypto`, () => {
        const pub = publicKeyOf(m.p11, s, rsa.publicKey);
        const [pkcs, pss] = h.rsa;
        for (const parts of [1, 2]) {
          assert.ok(
            verify(h.node, DATA, pub, signWith(pkcs, rsa.privateKey, DATA, undefined, parts)),
          );
        }
        const saltLen = createHash(h.node).digest().length;
        const params = { type: C.CK_PARAMS_RSA_PSS, hashAlg: h.digest, mgf: h.mgf, saltLen };
        for (const parts of [1, 2]) {
          const sig = signWith(pss, rsa.privateKey, DATA, params, parts);
          assert.ok(
            verify(
              h.node,
              DATA,
              { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLen },
              sig,
            ),
          );
          assert.equal(verifyWith(pss, rsa.publicKey, DATA, sig, params), true);
        }
        // CKM_RSA_PKCS_PSS over a digest the caller computed with this hash.
        const sig = signWith(
          C.CKM_RSA_PKCS_PSS,
          rsa.privateKey,
          createHash(h.node).update(DATA).digest(),
          params,
        );
        assert.ok(
          verify(
            h.node,
            DATA,
            { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLen },
            sig,
          ),
        );
        assertRv(
          () =>
            m.p11.C_SignInit(
              s,
              { mechanism: pss, parameter: { ...params, hashAlg: C.CKM_SHA256 } as never },
              rsa.privateKey,
            ),
          C.CKR_MECHANISM_PARAM_INVALID,
        );
      });

      it(`${h.name}: RSA-OAEP with ${h.name} decrypts what node:crypto encrypted`, () => {
        const pub = publicKeyOf(m.p11, s, rsa.publicKey);
        const c = publicEncrypt(
          { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: h.node },
          DATA,
        );
        const oaep = {
          type: C.CK_PARAMS_RSA_OAEP,
          hashAlg: h.digest,
          mgf: h.mgf,
          source: C.CKZ_DATA_SPECIFIED,
        };
        m.p11.C_DecryptInit(s, { mechanism: C.CKM_RSA_PKCS_OAEP, parameter: oaep }, rsa.privateKey);
        assert.deepEqual(m.p11.C_Decrypt(s, c, Buffer.alloc(256)), DATA);
      });

      it(`${h.name}: CKM_ECDH1_DERIVE with the ${h.name} X9.63 KDF equals the KDF over node:crypto's Z`, () => {
        const peer = createECDH('secp384r1');
        const peerPoint = peer.generateKeys();
        const derived = m.p11.C_DeriveKey(
          s,
          {
            mechanism: C.CKM_ECDH1_DERIVE,
            parameter: { type: C.CK_PARAMS_EC_DH, kdf: h.kdf, publicData: peerPoint },
          },
          ec.privateKey,
          [
            { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
            { type: C.CKA_VALUE_LEN, value: 80 },
            { type: C.CKA_SENSITIVE, value: false },
            { type: C.CKA_EXTRACTABLE, value: true },
          ],
        );
        const point = m.p11.C_GetAttributeValue(s, ec.publicKey, [{ type: C.CKA_EC_POINT }])[0]
          ?.value as Buffer;
        const z = peer.computeSecret(point.subarray(point.length - 97));
        const blocks = [1, 2, 3, 4].map((i) =>
          createHash(h.node)
            .update(z)
            .update(Buffer.from([0, 0, 0, i]))
            .digest(),
        );
        const value = m.p11.C_GetAttributeValue(s, derived, [{ type: C.CKA_VALUE }])[0]
          ?.value as Buffer;
        assert.deepEqual(value, Buffer.concat(blocks).subarray(0, 80));
      });
    }

    it("the DigestInfo OIDs of the SHA-3 PKCS#1 v1.5 mechanisms are RFC 8017 / NIST's (2.16.840.1.101.3.4.2.7–10)", () => {
      // A raw RSA "decryption" of the signature shows the DigestInfo the token built.
      const pub = publicKeyOf(m.p11, s, rsa.publicKey);
      for (const [i, h] of SHA3.entries()) {
        const sig = signWith(h.rsa[0], rsa.privateKey, DATA);
        const em = publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, sig);
        const oid = Buffer.from([
          0x06,
          0x09,
          0x60,
          0x86,
          0x48,
          0x01,
          0x65,
          0x03,
          0x04,
          0x02,
          7 + i,
        ]);
        assert.ok(em.includes(oid), h.name);
        assert.ok(
          em
            .subarray(em.length - hex(createHash(h.node).update(DATA).digest('hex')).length)
            .equals(createHash(h.node).update(DATA).digest()),
        );
      }
    });
  });
}
