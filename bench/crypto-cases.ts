/**
 * Crypto benchmark cases: each operation written once against the pkcs11js API, run on our token and
 * (with --vs-softhsm) on SoftHSMv2, next to raw node:crypto doing the same work. Signatures are checked
 * with node:crypto once before timing, so nothing fast-but-wrong is measured.
 * @module
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import type { Handle } from '../src/api/convert.js';
import * as C from '../src/pkcs11/constants.js';
import type { BenchCase } from './harness.js';
import { digesting, hashing, joinCases, type Ops, signing, verifying } from './operations.js';
import type { Target } from './targets.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const MSG32 = randomBytes(32);
const DIGEST = createHash('sha256').update(MSG32).digest();
const INFO = Buffer.concat([DIGEST_INFO, DIGEST]);
const SHA_SIZES = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['1 MiB', 1024 * 1024],
] as const;

/**
 * A P-256 key whose private half the token never sees, for verification with a public key alone (the
 * token otherwise verifies with the private half when it holds it). DER out of generateKeyPairSync: a
 * fresh KeyObject exported as JWK can deadlock Node 20 (see crypto-node/rsa.ts).
 */
const FOREIGN = (() => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  return {
    point: Buffer.concat([Buffer.from([0x04, 0x41]), publicKey.subarray(-65)]),
    signature: sign('sha256', MSG32, { key, dsaEncoding: 'ieee-p1363' }),
  };
})();

/** The operations of one target, keyed by case name. */
function operations(t: Target): Ops {
  const { p11, session: s } = t;
  const ec = p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: P256 },
      { type: C.CKA_VERIFY, value: true },
    ],
    [
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_PRIVATE, value: true },
    ],
  );
  const rsa = p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [
      { type: C.CKA_MODULUS_BITS, value: 2048 },
      { type: C.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      { type: C.CKA_VERIFY, value: true },
    ],
    [
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_PRIVATE, value: true },
    ],
  );
  const signWith = (mech: number, key: Handle, data: Buffer, size: number) => {
    p11.C_SignInit(s, { mechanism: mech }, key);
    return Buffer.from(p11.C_Sign(s, data, Buffer.alloc(size)));
  };
  const ecSig = signWith(C.CKM_ECDSA, ec.privateKey, DIGEST, 64);
  const rsaSig = signWith(C.CKM_RSA_PKCS, rsa.privateKey, INFO, 256);
  checkSignatures(t, ec.publicKey, rsa.publicKey, ecSig, rsaSig);
  const foreign = p11.C_CreateObject(s, [
    { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
    { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
    { type: C.CKA_EC_PARAMS, value: P256 },
    { type: C.CKA_EC_POINT, value: FOREIGN.point },
    { type: C.CKA_VERIFY, value: true },
  ]);
  const out64 = Buffer.alloc(64);
  const out256 = Buffer.alloc(256);
  const out32 = Buffer.alloc(32);
  return {
    'ECDSA P-256 sign (CKM_ECDSA)': () => signWith(C.CKM_ECDSA, ec.privateKey, DIGEST, 64),
    'ECDSA P-256 verify (CKM_ECDSA)': verifying(t, C.CKM_ECDSA, ec.publicKey, DIGEST, ecSig),
    'ECDSA P-256 sign (CKM_ECDSA_SHA256, 32 B)': signing(
      t,
      C.CKM_ECDSA_SHA256,
      ec.privateKey,
      MSG32,
      out64,
    ),
    'ECDSA P-256 verify (CKM_ECDSA_SHA256, 32 B)': verifying(
      t,
      C.CKM_ECDSA_SHA256,
      ec.publicKey,
      MSG32,
      ecSig,
    ),
    'ECDSA P-256 verify, public key only (CKM_ECDSA)': verifying(
      t,
      C.CKM_ECDSA,
      foreign,
      DIGEST,
      FOREIGN.signature,
    ),
    'ECDSA P-256 verify, public key only (CKM_ECDSA_SHA256)': verifying(
      t,
      C.CKM_ECDSA_SHA256,
      foreign,
      MSG32,
      FOREIGN.signature,
    ),
    'RSA-2048 sign (CKM_RSA_PKCS)': signing(t, C.CKM_RSA_PKCS, rsa.privateKey, INFO, out256),
    'RSA-2048 verify (CKM_RSA_PKCS)': verifying(t, C.CKM_RSA_PKCS, rsa.publicKey, INFO, rsaSig),
    'C_GenerateRandom 32 B': () => p11.C_GenerateRandom(s, out32),
    'C_GetAttributeValue(CKA_CLASS)': () =>
      p11.C_GetAttributeValue(s, ec.publicKey, [{ type: C.CKA_CLASS }]),
    ...digesting(t, C.CKM_SHA256, 'SHA-256', SHA_SIZES),
  };
}

function checkSignatures(
  t: Target,
  ecPub: Handle,
  rsaPub: Handle,
  ecSig: Buffer,
  rsaSig: Buffer,
): void {
  const get = (h: Handle, type: number) =>
    Buffer.from(t.p11.C_GetAttributeValue(t.session, h, [{ type }])[0]?.value as Buffer);
  const point = get(ecPub, C.CKA_EC_POINT).subarray(-65);
  const b64 = (b: Buffer) => b.toString('base64url');
  const ecKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) },
    format: 'jwk',
  });
  const rsaKey = createPublicKey({
    key: {
      kty: 'RSA',
      n: b64(get(rsaPub, C.CKA_MODULUS)),
      e: b64(get(rsaPub, C.CKA_PUBLIC_EXPONENT)),
    },
    format: 'jwk',
  });
  if (!verify('sha256', MSG32, { key: ecKey, dsaEncoding: 'ieee-p1363' }, ecSig)) {
    throw new Error(`${t.name}: ECDSA signature does not verify`);
  }
  if (!verify('sha256', MSG32, rsaKey, rsaSig))
    throw new Error(`${t.name}: RSA signature does not verify`);
}

function baselines(): Ops {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ecSig = sign('sha256', MSG32, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const rsaSig = privateEncrypt(
    { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING },
    INFO,
  );
  const ecSign = () => sign('sha256', MSG32, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const ecVerify = () =>
    verify('sha256', MSG32, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig);
  const base: Ops = {
    'ECDSA P-256 sign (CKM_ECDSA)': ecSign,
    'ECDSA P-256 verify (CKM_ECDSA)': () =>
      verify('sha256', MSG32, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig),
    'ECDSA P-256 sign (CKM_ECDSA_SHA256, 32 B)': ecSign,
    'ECDSA P-256 verify (CKM_ECDSA_SHA256, 32 B)': () =>
      verify('sha256', MSG32, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig),
    'ECDSA P-256 verify, public key only (CKM_ECDSA)': ecVerify,
    'ECDSA P-256 verify, public key only (CKM_ECDSA_SHA256)': ecVerify,
    'RSA-2048 sign (CKM_RSA_PKCS)': () =>
      privateEncrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING }, INFO),
    'RSA-2048 verify (CKM_RSA_PKCS)': () =>
      publicDecrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, rsaSig),
    'C_GenerateRandom 32 B': () => randomBytes(32),
  };
  return { ...base, ...hashing('sha256', 'SHA-256', SHA_SIZES) };
}

export function cryptoCases(ours: Target, softhsm: Target | undefined): BenchCase[] {
  return joinCases(operations(ours), baselines(), softhsm ? operations(softhsm) : {});
}
