/**
 * Keys generated on the token with the provisioning attributes — key pairs of every type key-types.ts
 * names (EC, Edwards, Montgomery, RSA, DSA on fresh domain parameters) and secret keys — and reading a
 * key's public half back from the token. Layer L7.
 * @module
 */
import { curve as curveRow } from '../crypto/curves.js';
import { EC_KEY_TYPES } from '../objects/key-material.js';
import {
  CKA_BASE,
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PRIME,
  CKA_PRIME_BITS,
  CKA_PRIVATE,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_SUBPRIME,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VALUE_LEN,
  CKA_VERIFY,
  CKK_DSA,
  CKK_RSA,
  CKM_DSA_KEY_PAIR_GEN,
  CKM_DSA_PARAMETER_GEN,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN,
  CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
} from '../pkcs11/constants.js';
import { DerError, readSingle, TAG_OCTET_STRING } from '../util/der.js';
import { findObjects } from './core.js';
import type { KeyTypeSpec, SecretKeySpec } from './key-types.js';
import { curveOfEcParams, ecParamsOf, type PublicKeyData } from './keys.js';
import {
  badInput,
  type Handle,
  type Pkcs11Module,
  readAttribute,
  readUlongAttribute,
  type Template,
} from './module.js';
import { keyIdOf } from './provision.js';

export interface GenerateOptions {
  keyType: KeyTypeSpec;
  label: string;
  /** CKA_LABEL of the public key (default: `label`). */
  publicKeyLabel?: string;
  /** CKA_ID of both keys (default: the SHA-1 of the public key, set once it exists). */
  id?: Uint8Array;
  /** Token objects (default) or session objects. */
  token?: boolean;
}

export interface GeneratedKeyPair {
  privateKey: Handle;
  publicKey: Handle;
  id: Uint8Array;
  publicKeyData: PublicKeyData;
}

const EC_KEYGEN: Readonly<Record<string, number>> = {
  weierstrass: CKM_EC_KEY_PAIR_GEN,
  edwards: CKM_EC_EDWARDS_KEY_PAIR_GEN,
  montgomery: CKM_EC_MONTGOMERY_KEY_PAIR_GEN,
};

/** Fresh DSA domain parameters of `bits` (a session object, read and destroyed again). */
function dsaParameters(p11: Pkcs11Module, session: Handle, bits: number): Template {
  const params = p11.C_GenerateKey(session, { mechanism: CKM_DSA_PARAMETER_GEN }, [
    { type: CKA_TOKEN, value: false },
    { type: CKA_PRIME_BITS, value: bits },
  ]);
  try {
    return [CKA_PRIME, CKA_SUBPRIME, CKA_BASE].map((type) => ({
      type,
      value: Buffer.from(readAttribute(p11, session, params, type) ?? []),
    }));
  } finally {
    p11.C_DestroyObject(session, params);
  }
}

/**
 * The mechanism, the attributes of each half that a key type adds to the common ones, and whether its
 * keys sign (X25519 and X448 keys agree on secrets instead).
 */
function pairSpec(
  p11: Pkcs11Module,
  session: Handle,
  k: KeyTypeSpec,
): { mechanism: number; pub: Template; priv: Template; signs: boolean } {
  if (k.kind === 'rsa') {
    return {
      mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN,
      pub: [
        { type: CKA_ENCRYPT, value: true },
        { type: CKA_MODULUS_BITS, value: k.bits },
        { type: CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      priv: [{ type: CKA_DECRYPT, value: true }],
      signs: true,
    };
  }
  if (k.kind === 'dsa') {
    return {
      mechanism: CKM_DSA_KEY_PAIR_GEN,
      pub: [{ type: CKA_ENCRYPT, value: false }, ...dsaParameters(p11, session, k.bits)],
      priv: [{ type: CKA_DECRYPT, value: false }],
      signs: true,
    };
  }
  // X25519 and X448 keys agree on secrets (CKM_ECDH1_DERIVE); every other curve's keys sign.
  const family = curveRow(k.curve).family;
  const agree = family === 'montgomery';
  return {
    mechanism: EC_KEYGEN[family] as number,
    pub: [
      { type: CKA_ENCRYPT, value: false },
      { type: CKA_EC_PARAMS, value: Buffer.from(ecParamsOf(k.curve)) },
    ],
    priv: [
      { type: CKA_DECRYPT, value: false },
      ...(agree ? [{ type: CKA_DERIVE, value: true }] : []),
    ],
    signs: !agree,
  };
}

/**
 * xProvisionGenerateKeyPairEC/RSA, generalised to every key-pair type of the token (RSA, the curves of
 * the table, DSA on fresh parameters): a key pair made on the token (the private key never leaves it).
 * Runs through C_GenerateKeyPairAsync so a long RSA generation does not block the caller.
 */
export async function generateKeyPair(
  p11: Pkcs11Module,
  session: Handle,
  options: GenerateOptions,
): Promise<GeneratedKeyPair> {
  const token = options.token ?? true;
  const id = options.id ? [{ type: CKA_ID, value: Buffer.from(options.id) }] : [];
  const spec = pairSpec(p11, session, options.keyType);
  const pub: Template = [
    { type: CKA_TOKEN, value: token },
    { type: CKA_PRIVATE, value: false },
    { type: CKA_VERIFY, value: spec.signs },
    { type: CKA_LABEL, value: options.publicKeyLabel ?? options.label },
    ...id,
    ...spec.pub,
  ];
  const priv: Template = [
    { type: CKA_TOKEN, value: token },
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_SIGN, value: spec.signs },
    { type: CKA_LABEL, value: options.label },
    ...id,
    ...spec.priv,
  ];
  const mechanism = spec.mechanism;
  const pair = await p11.C_GenerateKeyPairAsync(session, { mechanism }, pub, priv);
  try {
    const publicKeyData = readPublicKey(p11, session, pair.publicKey);
    let keyId = options.id;
    if (!keyId) {
      keyId = keyIdOf(p11, session, publicKeyData);
      for (const h of [pair.privateKey, pair.publicKey]) {
        p11.C_SetAttributeValue(session, h, [{ type: CKA_ID, value: Buffer.from(keyId) }]);
      }
    }
    return { ...pair, id: keyId, publicKeyData };
  } catch (e) {
    p11.C_DestroyObject(session, pair.privateKey);
    p11.C_DestroyObject(session, pair.publicKey);
    throw e;
  }
}

/**
 * The public key of a public key object, or of an RSA private key object (which carries its modulus
 * and exponent). EC private keys do not carry their point: pass the public key object.
 */
export function readPublicKey(p11: Pkcs11Module, session: Handle, key: Handle): PublicKeyData {
  const keyType = readUlongAttribute(p11, session, key, CKA_KEY_TYPE);
  const cls = readUlongAttribute(p11, session, key, CKA_CLASS);
  if (keyType === CKK_RSA) {
    const n = readAttribute(p11, session, key, CKA_MODULUS);
    const e = readAttribute(p11, session, key, CKA_PUBLIC_EXPONENT);
    if (!n || !e) throw badInput('the RSA key has no modulus or public exponent');
    return { kind: 'rsa', n: Uint8Array.from(n), e: Uint8Array.from(e) };
  }
  if (keyType === CKK_DSA && cls === CKO_PUBLIC_KEY) {
    const [p, q, g, y] = [CKA_PRIME, CKA_SUBPRIME, CKA_BASE, CKA_VALUE].map((t) =>
      readAttribute(p11, session, key, t),
    );
    if (!p || !q || !g || !y) throw badInput('the DSA public key lacks its parameters or value');
    return {
      kind: 'dsa',
      p: Uint8Array.from(p),
      q: Uint8Array.from(q),
      g: Uint8Array.from(g),
      y: Uint8Array.from(y),
    };
  }
  if (keyType !== undefined && EC_KEY_TYPES.has(keyType) && cls === CKO_PUBLIC_KEY) {
    const params = readAttribute(p11, session, key, CKA_EC_PARAMS);
    const point = readAttribute(p11, session, key, CKA_EC_POINT);
    if (!params || !point) throw badInput('the EC public key has no CKA_EC_PARAMS or CKA_EC_POINT');
    const curve = curveOfEcParams(params);
    // CKA_EC_POINT is a DER OCTET STRING (PKCS#11 3.0), or the bare key some tokens store (3.1).
    let raw: Uint8Array = point;
    if (point.length !== curveRow(curve).publicBytes) {
      try {
        raw = readSingle(point, TAG_OCTET_STRING).value;
      } catch (e) {
        if (!(e instanceof DerError)) throw e;
      }
    }
    return { kind: 'ec', curve, point: Uint8Array.from(raw) };
  }
  throw badInput('not an RSA key or an EC or DSA public key: no public key to read');
}

/** A secret key made on the token: sensitive and never extractable, for its type's uses. */
export function generateSecretKey(
  p11: Pkcs11Module,
  session: Handle,
  k: SecretKeySpec,
  options: { label: string; id?: Uint8Array; token?: boolean },
): Handle {
  return p11.C_GenerateKey(session, { mechanism: k.mechanism }, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: k.keyType },
    { type: CKA_TOKEN, value: options.token ?? true },
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_LABEL, value: options.label },
    ...(options.id ? [{ type: CKA_ID, value: Buffer.from(options.id) }] : []),
    ...(k.fixedLength ? [] : [{ type: CKA_VALUE_LEN, value: k.bytes }]),
  ]);
}

/**
 * The public key object that pairs with `privateKey`: same CKA_ID when it has one, else same CKA_LABEL;
 * null when there is none.
 */
export function findPublicKeyFor(
  p11: Pkcs11Module,
  session: Handle,
  privateKey: Handle,
): Handle | null {
  const id = readAttribute(p11, session, privateKey, CKA_ID);
  const label = readAttribute(p11, session, privateKey, CKA_LABEL);
  const by =
    id && id.length > 0
      ? { type: CKA_ID, value: Buffer.from(id) }
      : { type: CKA_LABEL, value: Buffer.from(label ?? []) };
  const [h] = findObjects(p11, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, by]);
  return h ?? null;
}

/** True for a private key object. */
export function isPrivateKey(p11: Pkcs11Module, session: Handle, h: Handle): boolean {
  return readUlongAttribute(p11, session, h, CKA_CLASS) === CKO_PRIVATE_KEY;
}
