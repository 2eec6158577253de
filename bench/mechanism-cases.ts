/**
 * Benchmark cases for the PKCS#11 3.0 mechanisms (issue 15): Ed25519 sign and verify (CKM_EDDSA),
 * X25519 derive (CKM_ECDH1_DERIVE on a CKK_EC_MONTGOMERY key) and SHA3-256, each next to raw
 * node:crypto doing the same work from the same inputs. Results are checked with node:crypto once before
 * timing, so nothing fast-but-wrong is measured.
 * @module
 */
import {
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import type { Handle } from '../src/api/convert.js';
import * as C from '../src/pkcs11/constants.js';
import type { BenchCase } from './harness.js';
import { digesting, hashing, joinCases, type Ops, signing, verifying } from './operations.js';
import type { Target } from './targets.js';

const ED25519 = Buffer.from('06032b6570', 'hex');
const X25519 = Buffer.from('06032b656e', 'hex');
const MSG32 = randomBytes(32);
const SHA3_SIZES = [
  ['64 B', 64],
  ['1 KiB', 1024],
] as const;
/** The peer of the X25519 derivation: a key the token never holds, given to it as raw bytes. */
const PEER = generateKeyPairSync('x25519');
const PEER_RAW = Buffer.from(PEER.publicKey.export({ format: 'jwk' }).x as string, 'base64url');

const rawPublic = (t: Target, h: Handle) => {
  const der = t.p11.C_GetAttributeValue(t.session, h, [{ type: C.CKA_EC_POINT }])[0]
    ?.value as Buffer;
  return der.subarray(der.length - 32);
};
const okp = (crv: string, raw: Buffer) =>
  createPublicKey({ key: { kty: 'OKP', crv, x: raw.toString('base64url') }, format: 'jwk' });

function operations(t: Target): Ops {
  const { p11, session: s } = t;
  const ops: Ops = {};
  const out64 = Buffer.alloc(64);
  try {
    const ed = p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_EDWARDS_KEY_PAIR_GEN },
      [
        { type: C.CKA_EC_PARAMS, value: ED25519 },
        { type: C.CKA_VERIFY, value: true },
      ],
      [
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_PRIVATE, value: true },
      ],
    );
    p11.C_SignInit(s, { mechanism: C.CKM_EDDSA }, ed.privateKey);
    const sig = Buffer.from(p11.C_Sign(s, MSG32, out64));
    if (!verify(null, MSG32, okp('Ed25519', rawPublic(t, ed.publicKey)), sig))
      throw new Error(`${t.name}: Ed25519 signature does not verify`);
    ops['Ed25519 sign (CKM_EDDSA, 32 B)'] = signing(t, C.CKM_EDDSA, ed.privateKey, MSG32, out64);
    ops['Ed25519 verify (CKM_EDDSA, 32 B)'] = verifying(t, C.CKM_EDDSA, ed.publicKey, MSG32, sig);
  } catch (e) {
    process.stderr.write(`${t.name}: no Ed25519 (${(e as Error).message})\n`);
  }
  try {
    const x = p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_MONTGOMERY_KEY_PAIR_GEN },
      [{ type: C.CKA_EC_PARAMS, value: X25519 }],
      [
        { type: C.CKA_DERIVE, value: true },
        { type: C.CKA_PRIVATE, value: true },
      ],
    );
    const mechanism = {
      mechanism: C.CKM_ECDH1_DERIVE,
      parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: PEER_RAW },
    };
    const template = [
      { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
      { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
      { type: C.CKA_SENSITIVE, value: false },
      { type: C.CKA_EXTRACTABLE, value: true },
    ];
    const first = p11.C_DeriveKey(s, mechanism, x.privateKey, template);
    const z = p11.C_GetAttributeValue(s, first, [{ type: C.CKA_VALUE }])[0]?.value as Buffer;
    p11.C_DestroyObject(s, first);
    const expected = diffieHellman({
      privateKey: PEER.privateKey,
      publicKey: okp('X25519', rawPublic(t, x.publicKey)),
    });
    if (!expected.equals(z)) throw new Error(`${t.name}: X25519 secrets differ`);
    // The derived key is a session object: destroyed again, so the session does not fill up.
    ops['X25519 derive (CKM_ECDH1_DERIVE) + destroy'] = () =>
      p11.C_DestroyObject(s, p11.C_DeriveKey(s, mechanism, x.privateKey, template));
  } catch (e) {
    process.stderr.write(`${t.name}: no X25519 (${(e as Error).message})\n`);
  }
  return { ...ops, ...digesting(t, C.CKM_SHA3_256, 'SHA3-256', SHA3_SIZES) };
}

function baselines(): Ops {
  const ed = generateKeyPairSync('ed25519');
  const sig = sign(null, MSG32, ed.privateKey);
  const x = generateKeyPairSync('x25519');
  const base: Ops = {
    'Ed25519 sign (CKM_EDDSA, 32 B)': () => sign(null, MSG32, ed.privateKey),
    'Ed25519 verify (CKM_EDDSA, 32 B)': () => verify(null, MSG32, ed.publicKey, sig),
    // The same work from the same inputs: a secret key (node:crypto's KeyObject; the token's object)
    // from a private key and the peer's raw public key.
    'X25519 derive (CKM_ECDH1_DERIVE) + destroy': () =>
      createSecretKey(
        diffieHellman({ privateKey: x.privateKey, publicKey: okp('X25519', PEER_RAW) }),
      ),
  };
  return { ...base, ...hashing('sha3-256', 'SHA3-256', SHA3_SIZES) };
}

export function mechanismCases(ours: Target, softhsm: Target | undefined): BenchCase[] {
  return joinCases(operations(ours), baselines(), softhsm ? operations(softhsm) : {});
}
