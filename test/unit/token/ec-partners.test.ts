import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import type { Handle } from '../../../src/api/convert.js';
import { PKCS11 } from '../../../src/api/pkcs11.js';
import type { CryptoBackend } from '../../../src/crypto/backend.js';
import { Application } from '../../../src/token/application.js';
import { EcPartners, pointKey } from '../../../src/token/ec-partners.js';
import { Token } from '../../../src/token/token.js';
import { freshKeyPair } from '../../helpers/keypair.js';
import { EC_PARAMS } from '../../helpers/keys.js';
import { assertRv, C, SO_PIN, TEST_TOKEN_OPTIONS, USER_PIN } from '../../helpers/token.js';

type Curve = keyof typeof EC_PARAMS;
const HASH: Record<Curve, string> = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' };

/** A token whose backend records, for every verification, whether it ran on a private key. */
function spiedToken() {
  const base = createNodeCrypto();
  const usedPrivate: boolean[] = [];
  const crypto: CryptoBackend = {
    ...base,
    verify(key, scheme, data, signature) {
      usedPrivate.push(key.isPrivate);
      return base.verify(key, scheme, data, signature);
    },
  };
  const token = new Token(createMemoryPal(), crypto, TEST_TOKEN_OPTIONS);
  const open = () => {
    const p11 = new PKCS11();
    p11.attach(new Application(token));
    p11.C_Initialize();
    return p11;
  };
  const p11 = open();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  p11.C_InitToken(slot, SO_PIN, 'partners');
  const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(so, C.CKU_SO, SO_PIN);
  p11.C_InitPIN(so, USER_PIN);
  p11.C_Logout(so);
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(s, C.CKU_USER, USER_PIN);
  return { token, p11, slot, s, usedPrivate, open };
}

function generate(p11: PKCS11, s: Handle, curve: Curve, token = false) {
  return p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: EC_PARAMS[curve] },
      { type: C.CKA_VERIFY, value: true },
      { type: C.CKA_TOKEN, value: token },
    ],
    [
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_PRIVATE, value: true },
      { type: C.CKA_TOKEN, value: token },
    ],
  );
}

function signDigest(p11: PKCS11, s: Handle, key: Handle, digest: Buffer): Buffer {
  p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, key);
  return Buffer.from(p11.C_Sign(s, digest, Buffer.alloc(132)));
}

function verifies(p11: PKCS11, s: Handle, key: Handle, digest: Buffer, sig: Buffer): boolean {
  p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, key);
  try {
    p11.C_Verify(s, digest, sig);
    return true;
  } catch (e) {
    if ((e as { code?: number }).code === C.CKR_SIGNATURE_INVALID) return false;
    throw e;
  }
}

const digestOf = (curve: Curve, text: string) =>
  createHash(HASH[curve]).update(text).digest() as Buffer;

describe('CKM_ECDSA verification with the private half (ec-partners)', () => {
  for (const curve of Object.keys(EC_PARAMS) as Curve[]) {
    it(`${curve}: a generated pair verifies with d, and the verdicts match → CKR_OK / CKR_SIGNATURE_INVALID`, () => {
      const { p11, s, usedPrivate } = spiedToken();
      const kp = generate(p11, s, curve);
      const other = generate(p11, s, curve);
      const digest = digestOf(curve, 'message');
      const sig = signDigest(p11, s, kp.privateKey, digest);
      const bad = Buffer.from(sig);
      bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
      assert.equal(verifies(p11, s, kp.publicKey, digest, sig), true);
      assert.equal(verifies(p11, s, kp.publicKey, digest, bad), false);
      assert.equal(verifies(p11, s, kp.publicKey, digestOf(curve, 'other'), sig), false);
      assert.equal(verifies(p11, s, other.publicKey, digest, sig), false);
      assert.deepEqual(usedPrivate, [true, true, true, true]);
    });
  }

  it('imported keys: OpenSSL signatures verify with d; CKM_ECDSA_SHA256 too → CKR_OK', () => {
    const { p11, s, usedPrivate } = spiedToken();
    const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const b = (x?: string) => Buffer.from(x ?? '', 'base64url');
    const point = Buffer.concat([Buffer.from([4]), b(jwk.x), b(jwk.y)]);
    const pub = p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
      { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
      { type: C.CKA_EC_POINT, value: Buffer.concat([Buffer.from([4, 65]), point]) },
      { type: C.CKA_VERIFY, value: true },
    ]);
    p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
      { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
      { type: C.CKA_VALUE, value: b(jwk.d) },
      { type: C.CKA_SIGN, value: true },
    ]);
    const msg = Buffer.from('signed by OpenSSL');
    const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(verifies(p11, s, pub, createHash('sha256').update(msg).digest(), sig), true);
    p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, pub);
    p11.C_Verify(s, msg, sig);
    p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, pub);
    assertRv(() => p11.C_Verify(s, Buffer.from('another message'), sig), C.CKR_SIGNATURE_INVALID);
    assert.deepEqual(usedPrivate, [true, true, true]);
    assert.ok(publicKey);
  });

  it('after C_Logout the private key is invisible: the public key is used, same verdict → CKR_OK', () => {
    const { p11, s, usedPrivate } = spiedToken();
    const kp = generate(p11, s, 'P-256', true);
    const digest = digestOf('P-256', 'm');
    const sig = signDigest(p11, s, kp.privateKey, digest);
    p11.C_Logout(s);
    assert.equal(verifies(p11, s, kp.publicKey, digest, sig), true);
    assert.equal(verifies(p11, s, kp.publicKey, digestOf('P-256', 'x'), sig), false);
    assert.deepEqual(usedPrivate, [false, false]);
  });

  it('a destroyed private key is not used → CKR_OK with the public key', () => {
    const { p11, s, usedPrivate } = spiedToken();
    const kp = generate(p11, s, 'P-256');
    const digest = digestOf('P-256', 'm');
    const sig = signDigest(p11, s, kp.privateKey, digest);
    p11.C_DestroyObject(s, kp.privateKey);
    assert.equal(verifies(p11, s, kp.publicKey, digest, sig), true);
    assert.deepEqual(usedPrivate, [false]);
  });

  it("another application's session key is never used; its token keys only once logged in", () => {
    const { p11, s, usedPrivate, open } = spiedToken();
    const session = generate(p11, s, 'P-256');
    const onToken = generate(p11, s, 'P-256', true);
    const digest = digestOf('P-256', 'm');
    const sig1 = signDigest(p11, s, session.privateKey, digest);
    const sig2 = signDigest(p11, s, onToken.privateKey, digest);
    const pubPoint = p11.C_GetAttributeValue(s, session.publicKey, [{ type: C.CKA_EC_POINT }]);
    const other = open();
    const s2 = other.C_OpenSession(other.C_GetSlotList(true)[0] as Handle, C.CKF_SERIAL_SESSION);
    const pub1 = other.C_CreateObject(s2, [
      { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
      { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
      { type: C.CKA_EC_POINT, value: pubPoint[0]?.value as Buffer },
      { type: C.CKA_VERIFY, value: true },
    ]);
    other.C_FindObjectsInit(s2, [
      { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
      { type: C.CKA_TOKEN, value: true },
    ]);
    const pub2 = other.C_FindObjects(s2) as Handle;
    other.C_FindObjectsFinal(s2);
    assert.equal(verifies(other, s2, pub1, digest, sig1), true);
    assert.equal(verifies(other, s2, pub2, digest, sig2), true);
    other.C_Login(s2, C.CKU_USER, USER_PIN);
    assert.equal(verifies(other, s2, pub1, digest, sig1), true);
    assert.equal(verifies(other, s2, pub2, digest, sig2), true);
    assert.deepEqual(usedPrivate, [false, false, false, true]);
  });

  it('a wrong index entry costs only the fast path: the verdict stays right → CKR_OK', () => {
    const { token, p11, s, usedPrivate } = spiedToken();
    const a = generate(p11, s, 'P-256', true);
    const b = generate(p11, s, 'P-256', true);
    const digest = digestOf('P-256', 'm');
    const sigA = signDigest(p11, s, a.privateKey, digest);
    const sigB = signDigest(p11, s, b.privateKey, digest);
    const der = p11.C_GetAttributeValue(s, a.publicKey, [{ type: C.CKA_EC_POINT }])[0]
      ?.value as Buffer;
    const privates = [...token.candidates(new Map())].filter(
      (o) => o.objectClass === C.CKO_PRIVATE_KEY,
    );
    // Point A's public key at each private key in turn: only A's own may be used.
    for (const priv of privates) {
      token.ecPartners.remember(pointKey(der.subarray(2)), priv);
      assert.equal(verifies(p11, s, a.publicKey, digest, sigA), true);
      assert.equal(verifies(p11, s, a.publicKey, digest, sigB), false);
    }
    assert.equal(privates.length, 2);
    assert.deepEqual(usedPrivate.filter(Boolean).length, 2);
  });
});

describe('EcPartners', () => {
  it('holds its entries weakly: a collected object is forgotten', async () => {
    const index = new EcPartners();
    const key = pointKey(Uint8Array.of(4, 1, 2));
    assert.equal(key, '040102');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Each step runs in its own task: V8 keeps a WeakRef's target alive until the task that made or
    // read it ends.
    const later = <T>(fn: () => T) => new Promise<T>((r) => setTimeout(() => r(fn()), 1));
    await later(() => index.remember(key, { label: 'short-lived' } as never));
    assert.equal(await later(() => index.lookup(key) !== undefined), true);
    for (let i = 0; i < 10 && (await later(() => index.lookup(key))) !== undefined; i++) {
      await later(gc);
    }
    assert.equal(await later(() => index.lookup(key)), undefined);
  });
});
