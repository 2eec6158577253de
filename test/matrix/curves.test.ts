/**
 * Every named curve node:crypto offers (issue 14 §2) through the token, per PAL port: key-pair
 * generation into token objects, CKM_ECDSA over a digest and CKM_ECDSA_SHA* (OpenSSL verifies what the
 * token signs, the token verifies what OpenSSL signs), import, ECDH against OpenSSL's published
 * answers, CKA_EC_PARAMS as OID, name and explicit parameters, CKR_CURVE_NOT_SUPPORTED on every path
 * for a curve the token does not have, and the strict profile's smaller set. The whole table runs on
 * the memory port; the file and flash ports run a few curves and a restart.
 * @module
 */
import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { CURVES, type Curve, curveNamed } from '../../src/crypto/curves.js';
import { readChildren, readSingle, TAG_SEQUENCE } from '../../src/util/der.js';
import { ecKeyParts, freshKeyPair } from '../helpers/keypair.js';
import { ecSpki, publicKeyOf } from '../helpers/keys.js';
import { tlv } from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const WEIERSTRASS = CURVES.filter((c) => c.family === 'weierstrass');
const SOME = ['P-224', 'secp256k1', 'brainpoolP320t1'];
const DATA = Buffer.from('every curve node:crypto offers');
const octet = (b: Uint8Array) => tlv(0x04, Buffer.from(b));
const printable = (name: string) => tlv(0x13, Buffer.from(name));

/** The explicit ECParameters OpenSSL writes for a curve (an SPKI made with paramEncoding explicit). */
function explicitParams(c: Curve): Buffer {
  const { publicKey } = generateKeyPairSync('ec', {
    namedCurve: c.openssl,
    paramEncoding: 'explicit',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const [algorithm] = readChildren(readSingle(publicKey, TAG_SEQUENCE).value);
  const [, params] = readChildren(algorithm?.value ?? new Uint8Array(0));
  assert.equal(params?.tag, TAG_SEQUENCE, 'OpenSSL wrote ECParameters');
  return Buffer.from(params?.encoded ?? []);
}

function generate(m: TestModule, s: Handle, params: Buffer, token = true) {
  return m.p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: params },
      { type: C.CKA_TOKEN, value: token },
    ],
    [
      { type: C.CKA_TOKEN, value: token },
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_DERIVE, value: true },
    ],
  );
}

/** Signs with the token (hashed and over a digest); OpenSSL and the token both verify. */
function roundTrip(
  m: TestModule,
  s: Handle,
  c: Curve,
  keys: { publicKey: Handle; privateKey: Handle },
) {
  const pub = publicKeyOf(m.p11, s, keys.publicKey);
  const size = 2 * c.orderBytes;
  m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, keys.privateKey);
  const hashed = m.p11.C_Sign(s, DATA, Buffer.alloc(size));
  assert.ok(verify('sha256', DATA, { key: pub, dsaEncoding: 'ieee-p1363' }, hashed), c.name);
  const digest = createHash('sha384').update(DATA).digest();
  m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, keys.privateKey);
  const raw = m.p11.C_Sign(s, digest, Buffer.alloc(size));
  assert.ok(verify('sha384', DATA, { key: pub, dsaEncoding: 'ieee-p1363' }, raw), c.name);
  m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, keys.publicKey);
  m.p11.C_Verify(s, digest, raw);
}

function ecdhValue(m: TestModule, s: Handle, privateKey: Handle, peer: Uint8Array): Buffer {
  const secret = m.p11.C_DeriveKey(
    s,
    {
      mechanism: C.CKM_ECDH1_DERIVE,
      parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: Buffer.from(peer) },
    },
    privateKey,
    [
      { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
      { type: C.CKA_SENSITIVE, value: false },
      { type: C.CKA_EXTRACTABLE, value: true },
    ],
  );
  const [v] = m.p11.C_GetAttributeValue(s, secret, [{ type: C.CKA_VALUE }]);
  return v?.value as Buffer;
}

function importPrivate(m: TestModule, s: Handle, c: Curve, d: Uint8Array, extra: Template = []) {
  return m.p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
    { type: C.CKA_EC_PARAMS, value: Buffer.from(c.ecParams) },
    { type: C.CKA_VALUE, value: Buffer.from(d) },
    { type: C.CKA_SIGN, value: true },
    { type: C.CKA_DERIVE, value: true },
    ...extra,
  ]);
}

const publicTemplate = (params: Buffer, point: Uint8Array): Template => [
  { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
  { type: C.CKA_EC_PARAMS, value: params },
  { type: C.CKA_EC_POINT, value: octet(point) },
];

for (const port of PAL_PORTS) {
  const curves =
    port.name === 'memory' ? WEIERSTRASS : WEIERSTRASS.filter((c) => SOME.includes(c.name));

  describe(`named curves [${port.name}]`, () => {
    let m: TestModule;
    afterEach(() => m?.cleanup());

    it('each curve: a token key pair by OID signs (CKM_ECDSA, CKM_ECDSA_SHA256) as OpenSSL verifies', () => {
      m = initializedModule(port);
      const s = userSession(m);
      for (const c of curves) roundTrip(m, s, c, generate(m, s, Buffer.from(c.ecParams)));
    });

    it('each curve: ECDH between two token keys gives the x-coordinate OpenSSL computes', () => {
      m = initializedModule(port);
      const s = userSession(m);
      for (const c of curves) {
        const a = generate(m, s, Buffer.from(c.ecParams), false);
        const peer = freshKeyPair('ec', { namedCurve: c.openssl });
        const { point } = ecKeyParts(peer.privateKey);
        const ours = ecdhValue(m, s, a.privateKey, point);
        const theirs = diffieHellman({
          privateKey: peer.privateKey,
          publicKey: publicKeyOf(m.p11, s, a.publicKey),
        });
        assert.equal(ours.toString('hex'), theirs.toString('hex'), c.name);
      }
    });

    it('imported keys: the token signs what OpenSSL verifies and verifies what OpenSSL signs', () => {
      m = initializedModule(port);
      const s = userSession(m);
      for (const c of curves) {
        const k = freshKeyPair('ec', { namedCurve: c.openssl });
        const { d, point } = ecKeyParts(k.privateKey);
        const priv = importPrivate(m, s, c, d, [{ type: C.CKA_TOKEN, value: true }]);
        const pub = m.p11.C_CreateObject(s, publicTemplate(Buffer.from(c.ecParams), point));
        roundTrip(m, s, c, { publicKey: pub, privateKey: priv });
        const sig = sign('sha512', DATA, { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
        m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA512 }, pub);
        m.p11.C_Verify(s, DATA, sig);
      }
    });

    it('a brainpool and a secp256k1 token key survive a restart and still sign', () => {
      m = initializedModule(port);
      let s = userSession(m);
      const made = ['brainpoolP256r1', 'secp256k1'].map((name) => {
        const c = curveNamed(name) as Curve;
        return { c, keys: generate(m, s, Buffer.from(c.ecParams)) };
      });
      const ids = made.map(({ keys }) =>
        m.p11.C_GetAttributeValue(s, keys.publicKey, [{ type: C.CKA_EC_POINT }]),
      );
      m = m.restart();
      s = userSession(m);
      for (const [i, { c }] of made.entries()) {
        m.p11.C_FindObjectsInit(s, [{ type: C.CKA_EC_PARAMS, value: Buffer.from(c.ecParams) }]);
        const found = m.p11.C_FindObjects(s, 10);
        m.p11.C_FindObjectsFinal(s);
        assert.equal(found.length, 2, c.name);
        const cls = (h: Handle) =>
          m.p11.C_GetAttributeValue(s, h, [{ type: C.CKA_CLASS }])[0]?.value as Buffer;
        const priv = found.find((h) => cls(h).readUInt32LE(0) === C.CKO_PRIVATE_KEY) as Handle;
        const pub = found.find((h) => cls(h).readUInt32LE(0) === C.CKO_PUBLIC_KEY) as Handle;
        assert.deepEqual(m.p11.C_GetAttributeValue(s, pub, [{ type: C.CKA_EC_POINT }]), ids[i]);
        roundTrip(m, s, c, { publicKey: pub, privateKey: priv });
      }
    });
  });
}

describe('CKA_EC_PARAMS forms', () => {
  let m: TestModule;
  afterEach(() => m?.cleanup());
  const port = PAL_PORTS[0] as (typeof PAL_PORTS)[number];

  it('a curve name as a PrintableString generates a key; CKA_EC_PARAMS reads back as the OID', () => {
    m = initializedModule(port);
    const s = userSession(m);
    for (const name of ['secp256k1', 'brainpoolP256r1', 'prime256v1', 'P-384']) {
      const c = curveNamed(name) as Curve;
      const keys = generate(m, s, printable(name), false);
      const [p] = m.p11.C_GetAttributeValue(s, keys.publicKey, [{ type: C.CKA_EC_PARAMS }]);
      assert.deepEqual(p?.value, Buffer.from(c.ecParams), name);
      roundTrip(m, s, c, keys);
    }
  });

  it('explicit parameters equal to a named curve (OpenSSL writes them) generate and import', () => {
    m = initializedModule(port);
    const s = userSession(m);
    for (const name of ['P-256', 'secp256k1', 'brainpoolP384t1', 'P-192']) {
      const c = curveNamed(name) as Curve;
      const explicit = explicitParams(c);
      roundTrip(m, s, c, generate(m, s, explicit, false));
      const k = freshKeyPair('ec', { namedCurve: c.openssl });
      const { point } = ecKeyParts(k.privateKey);
      const pub = m.p11.C_CreateObject(s, publicTemplate(explicit, point));
      // OpenSSL reads the same explicit parameters with this point
      createPublicKey({ key: Buffer.from(ecSpki(explicit, point)), format: 'der', type: 'spki' });
      const sig = sign('sha256', DATA, { key: k.privateKey, dsaEncoding: 'ieee-p1363' });
      m.p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, pub);
      m.p11.C_Verify(s, DATA, sig);
    }
  });

  it('explicit parameters with a compressed base point are the same curve; a wrong parity is not', () => {
    m = initializedModule(port);
    const s = userSession(m);
    const c = curveNamed('brainpoolP256t1') as Curve;
    const fields = readChildren(readSingle(explicitParams(c), TAG_SEQUENCE).value);
    const g = fields[3]?.value as Uint8Array;
    const gx = g.subarray(1, 1 + c.fieldBytes);
    const odd = BigInt(`0x${c.weierstrass?.gy}`) & 1n;
    const withBase = (prefix: number) =>
      tlv(
        0x30,
        ...fields.map((f, i) =>
          Buffer.from(i === 3 ? octet(Uint8Array.of(prefix, ...gx)) : f.encoded),
        ),
      );
    roundTrip(m, s, c, generate(m, s, withBase(odd ? 0x03 : 0x02), false));
    assertRv(() => generate(m, s, withBase(odd ? 0x02 : 0x03), false), C.CKR_CURVE_NOT_SUPPORTED);
  });

  it('a curve the token does not have → CKR_CURVE_NOT_SUPPORTED on generation and import', () => {
    m = initializedModule(port);
    const s = userSession(m);
    const sect163k1 = Buffer.from('06052b81040001', 'hex');
    const secp112r1 = Buffer.from('06052b81040006', 'hex');
    // P-256's explicit parameters with the order changed in its last bit: no curve of the table
    const fields = readChildren(
      readSingle(explicitParams(curveNamed('P-256') as Curve), TAG_SEQUENCE).value,
    );
    const n = Buffer.from(fields[4]?.value ?? []);
    n[n.length - 1] = (n.at(-1) ?? 0) ^ 2;
    const changed = tlv(
      0x30,
      ...fields.map((f, i) => Buffer.from(i === 4 ? tlv(0x02, n) : f.encoded)),
    );
    const k = freshKeyPair('ec', { namedCurve: 'prime256v1' });
    const { d, point } = ecKeyParts(k.privateKey);
    for (const params of [
      sect163k1,
      secp112r1,
      printable('curve25519x'),
      changed,
      Buffer.from('0500', 'hex'),
    ]) {
      assertRv(() => generate(m, s, params, false), C.CKR_CURVE_NOT_SUPPORTED);
      assertRv(
        () => m.p11.C_CreateObject(s, publicTemplate(params, point)),
        C.CKR_CURVE_NOT_SUPPORTED,
      );
      assertRv(
        () =>
          m.p11.C_CreateObject(s, [
            { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
            { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
            { type: C.CKA_EC_PARAMS, value: params },
            { type: C.CKA_VALUE, value: Buffer.from(d) },
          ]),
        C.CKR_CURVE_NOT_SUPPORTED,
      );
    }
  });

  it('malformed CKA_EC_PARAMS → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    m = initializedModule(port);
    const s = userSession(m);
    for (const bad of ['06', '0603', '06082a8648ce3d03010700', '0400', '3003020101']) {
      assertRv(() => generate(m, s, Buffer.from(bad, 'hex'), false), C.CKR_ATTRIBUTE_VALUE_INVALID);
    }
  });

  it('OpenSSL’s brainpool ECDH answers (evppkey_brainpool.txt) with an imported key', () => {
    m = initializedModule(port);
    const s = userSession(m);
    const file = new URL('../../../test/vectors/ecdh/openssl-brainpool.json', import.meta.url);
    const v = JSON.parse(readFileSync(file, 'utf8')) as {
      source: string;
      cases: { curve: string; alicePkcs8: string; bobSpki: string; sharedSecret: string }[];
    };
    assert.match(v.source, /evppkey_brainpool\.txt/);
    for (const t of v.cases) {
      const c = curveNamed(t.curve) as Curve;
      const der = Buffer.from(t.alicePkcs8, 'base64');
      const alice = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      const bob = readSingle(Buffer.from(t.bobSpki, 'base64'), TAG_SEQUENCE).value;
      const bobPoint = readSingle(
        readChildren(bob)[1]?.encoded ?? new Uint8Array(0),
      ).value.subarray(1);
      const priv = importPrivate(m, s, c, ecKeyParts(alice).d);
      assert.equal(ecdhValue(m, s, priv, bobPoint).toString('hex'), t.sharedSecret, t.curve);
    }
  });
});

describe('curves of the strict profile', () => {
  let m: TestModule;
  afterEach(() => m?.cleanup());

  for (const port of PAL_PORTS) {
    it(`[${port.name}] P-192 and brainpoolP160/192 → CKR_CURVE_NOT_SUPPORTED; P-224 is offered`, () => {
      m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, profile: 'strict' });
      const s = userSession(m);
      for (const name of ['P-192', 'brainpoolP160r1', 'brainpoolP192t1']) {
        const c = curveNamed(name) as Curve;
        assertRv(() => generate(m, s, Buffer.from(c.ecParams), false), C.CKR_CURVE_NOT_SUPPORTED);
        const { d } = ecKeyParts(freshKeyPair('ec', { namedCurve: c.openssl }).privateKey);
        assertRv(() => importPrivate(m, s, c, d), C.CKR_CURVE_NOT_SUPPORTED);
      }
      const p224 = curveNamed('P-224') as Curve;
      roundTrip(m, s, p224, generate(m, s, Buffer.from(p224.ecParams), false));
      const info = m.p11.C_GetMechanismInfo(m.slot, C.CKM_EC_KEY_PAIR_GEN);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [224, 521]);
    });
  }

  it('compatible reports the smallest curve (160 bits) and explicit parameters in its flags', () => {
    m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    for (const type of [
      C.CKM_EC_KEY_PAIR_GEN,
      C.CKM_ECDSA,
      C.CKM_ECDSA_SHA256,
      C.CKM_ECDH1_DERIVE,
    ]) {
      const info = m.p11.C_GetMechanismInfo(m.slot, type);
      assert.deepEqual([info.minKeySize, info.maxKeySize], [160, 521]);
      assert.ok(info.flags & C.CKF_EC_ECPARAMETERS && info.flags & C.CKF_EC_NAMEDCURVE);
    }
  });
});
