/**
 * Key pairs generated on the token (CKM_EC_KEY_PAIR_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN) with the provisioning
 * attributes, key-type specs in pkcs11-tool's spelling (`EC:prime256v1`, `rsa:2048`), and reading a
 * key's public half back from the token. Layer L7.
 * @module
 */
import { CURVES, curveNamed } from '../crypto/curves.js';
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ENCRYPT,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PRIVATE,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_VERIFY,
  CKK_EC,
  CKK_RSA,
  CKM_EC_KEY_PAIR_GEN,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
} from '../pkcs11/constants.js';
import { DerError, readSingle, TAG_OCTET_STRING } from '../util/der.js';
import { findObjects } from './core.js';
import { curveOfEcParams, ecParamsOf, type PublicKeyData } from './keys.js';
import {
  badInput,
  type Handle,
  type Pkcs11Module,
  readAttribute,
  readUlongAttribute,
  type Template,
} from './module.js';
import type { EcCurve } from './pki.js';
import { keyIdOf } from './provision.js';

export type KeyTypeSpec = { kind: 'ec'; curve: EcCurve } | { kind: 'rsa'; bits: number };

/** `EC:` and a curve name or alias of the curve table (`EC:prime256v1`, `EC:P-384`), `rsa:2048` (1024–16384, whole bytes). */
export function parseKeyType(spec: string): KeyTypeSpec {
  const m = /^(ec|rsa):(.+)$/i.exec(spec.trim());
  const kind = m?.[1]?.toLowerCase();
  const arg = m?.[2] ?? '';
  if (kind === 'ec') {
    const curve = curveNamed(arg);
    if (curve?.family === 'weierstrass') return { kind: 'ec', curve: curve.name };
  } else if (kind === 'rsa' && /^\d+$/.test(arg)) {
    const bits = Number(arg);
    if (bits >= 1024 && bits <= 16384 && bits % 8 === 0) return { kind: 'rsa', bits };
  }
  const curves = CURVES.filter((c) => c.family === 'weierstrass').map((c) => `EC:${c.openssl}`);
  throw badInput(`unknown key type '${spec}' (${curves.join(', ')}, rsa:2048, rsa:3072, rsa:4096)`);
}

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

/**
 * xProvisionGenerateKeyPairEC/RSA, generalised: a key pair made on the token (the private key never
 * leaves it). Runs through C_GenerateKeyPairAsync so a long RSA generation does not block the caller.
 */
export async function generateKeyPair(
  p11: Pkcs11Module,
  session: Handle,
  options: GenerateOptions,
): Promise<GeneratedKeyPair> {
  const token = options.token ?? true;
  const id = options.id ? [{ type: CKA_ID, value: Buffer.from(options.id) }] : [];
  const k = options.keyType;
  const pub: Template = [
    { type: CKA_TOKEN, value: token },
    { type: CKA_PRIVATE, value: false },
    { type: CKA_VERIFY, value: true },
    { type: CKA_LABEL, value: options.publicKeyLabel ?? options.label },
    ...id,
  ];
  const priv: Template = [
    { type: CKA_TOKEN, value: token },
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_SIGN, value: true },
    { type: CKA_LABEL, value: options.label },
    ...id,
  ];
  let mechanism: number;
  if (k.kind === 'ec') {
    mechanism = CKM_EC_KEY_PAIR_GEN;
    pub.push(
      { type: CKA_ENCRYPT, value: false },
      { type: CKA_EC_PARAMS, value: Buffer.from(ecParamsOf(k.curve)) },
    );
    priv.push({ type: CKA_DECRYPT, value: false });
  } else {
    mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
    pub.push(
      { type: CKA_ENCRYPT, value: true },
      { type: CKA_MODULUS_BITS, value: k.bits },
      { type: CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    );
    priv.push({ type: CKA_DECRYPT, value: true });
  }
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
  if (keyType === CKK_EC && cls === CKO_PUBLIC_KEY) {
    const params = readAttribute(p11, session, key, CKA_EC_PARAMS);
    const point = readAttribute(p11, session, key, CKA_EC_POINT);
    if (!params || !point) throw badInput('the EC public key has no CKA_EC_PARAMS or CKA_EC_POINT');
    const curve = curveOfEcParams(params);
    let raw: Uint8Array = point;
    try {
      raw = readSingle(point, TAG_OCTET_STRING).value;
    } catch (e) {
      if (!(e instanceof DerError)) throw e;
    }
    return { kind: 'ec', curve, point: Uint8Array.from(raw) };
  }
  throw badInput('not an RSA key or an EC public key: no public key to read');
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
