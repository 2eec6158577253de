/**
 * Provisioning: certificates, private keys and public keys onto the token with the attributes PKCS#11
 * clients look for. A key pair and its certificate share CKA_ID (by default the SHA-1 of the subject
 * public key, RFC 5280 §4.2.1.2 method 1, so they pair up even when imported separately); certificates
 * carry CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER; private keys are private, sensitive and never
 * extractable. Several objects are created all-or-nothing, and a replaced object is destroyed only after
 * its successor is stored. Layer L7.
 * @module
 */

import { curve as curveRow } from '../crypto/curves.js';
import { ecKeyTypeOf as ecKeyType } from '../objects/key-material.js';
import {
  CKA_BASE,
  CKA_CERTIFICATE_TYPE,
  CKA_CLASS,
  CKA_COEFFICIENT,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ENCRYPT,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_ISSUER,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_PRIME,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_PRIVATE,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE,
  CKA_SERIAL_NUMBER,
  CKA_SIGN,
  CKA_SUBJECT,
  CKA_SUBPRIME,
  CKA_TOKEN,
  CKA_VALUE,
  CKA_VERIFY,
  CKC_X_509,
  CKK_DSA,
  CKK_RSA,
  CKM_SHA_1,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
} from '../pkcs11/constants.js';
import { encodeTlv, TAG_OCTET_STRING } from '../util/der.js';
import { findObjects } from './core.js';
import { type CredentialInput, type ReadOptions, readOne } from './credentials.js';
import {
  ecParamsOf,
  type PrivateKeyData,
  type PublicKeyData,
  publicKeyOf,
  subjectPublicKeyBits,
  withPublicPoint,
} from './keys.js';
import { badInput, type Handle, outputBuffer, type Pkcs11Module, type Template } from './module.js';
import type { CertificateInfo } from './x509.js';

export interface ObjectOptions {
  /** CKA_LABEL. */
  label: string;
  /** CKA_ID (default: the SHA-1 of the subject public key). */
  id?: Uint8Array;
  /** A token object (default) or a session object. */
  token?: boolean;
  /** What to do with objects of the same class already under this label (default 'keep'). */
  existing?: 'keep' | 'replace' | 'error';
}

/** The default CKA_ID: SHA-1 of the subjectPublicKey bits, computed on the token. */
export function keyIdOf(p11: Pkcs11Module, session: Handle, key: PublicKeyData): Uint8Array {
  p11.C_DigestInit(session, { mechanism: CKM_SHA_1 });
  return Uint8Array.from(
    p11.C_Digest(session, Buffer.from(subjectPublicKeyBits(key)), outputBuffer(20)),
  );
}

const bytes = (v: Uint8Array) => Buffer.from(v);

function common(cls: number, o: ObjectOptions, id: Uint8Array): Template {
  return [
    { type: CKA_CLASS, value: cls },
    { type: CKA_TOKEN, value: o.token ?? true },
    { type: CKA_LABEL, value: o.label },
    { type: CKA_ID, value: bytes(id) },
  ];
}

/**
 * The key type and public parameters of a key (curve, DSA domain, RSA modulus and exponent): what both
 * halves of a pair carry.
 */
function publicParameters(key: PublicKeyData | PrivateKeyData): Template {
  if (key.kind === 'ec') {
    return [
      { type: CKA_KEY_TYPE, value: ecKeyType(key.curve) },
      { type: CKA_EC_PARAMS, value: bytes(ecParamsOf(key.curve)) },
    ];
  }
  if (key.kind === 'dsa') {
    return [
      { type: CKA_KEY_TYPE, value: CKK_DSA },
      { type: CKA_PRIME, value: bytes(key.p) },
      { type: CKA_SUBPRIME, value: bytes(key.q) },
      { type: CKA_BASE, value: bytes(key.g) },
    ];
  }
  return [
    { type: CKA_KEY_TYPE, value: CKK_RSA },
    { type: CKA_MODULUS, value: bytes(key.n) },
    { type: CKA_PUBLIC_EXPONENT, value: bytes(key.e) },
  ];
}

/** X25519 and X448 keys agree on secrets; every other key signs, and RSA keys also encrypt. */
function usesOf(key: PublicKeyData | PrivateKeyData): { sign: boolean; crypt: boolean } {
  const agree = key.kind === 'ec' && curveRow(key.curve).family === 'montgomery';
  return { sign: !agree, crypt: key.kind === 'rsa' };
}

/** The C_CreateObject template of a private key: private, sensitive, not extractable, for signing. */
export function privateKeyTemplate(
  key: PrivateKeyData,
  o: ObjectOptions,
  id: Uint8Array,
): Template {
  const { sign, crypt } = usesOf(key);
  const secret: Template =
    key.kind === 'rsa'
      ? [
          { type: CKA_PRIVATE_EXPONENT, value: bytes(key.d) },
          { type: CKA_PRIME_1, value: bytes(key.p) },
          { type: CKA_PRIME_2, value: bytes(key.q) },
          { type: CKA_EXPONENT_1, value: bytes(key.dp) },
          { type: CKA_EXPONENT_2, value: bytes(key.dq) },
          { type: CKA_COEFFICIENT, value: bytes(key.qi) },
        ]
      : [{ type: CKA_VALUE, value: bytes(key.kind === 'ec' ? key.d : key.x) }];
  return [
    ...common(CKO_PRIVATE_KEY, o, id),
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_SIGN, value: sign },
    { type: CKA_DECRYPT, value: crypt },
    ...(key.kind === 'ec' ? [{ type: CKA_DERIVE, value: !sign }] : []),
    ...publicParameters(key),
    ...secret,
  ];
}

/** The template of a public key object: public, for verification (and encryption for RSA). */
export function publicKeyTemplate(key: PublicKeyData, o: ObjectOptions, id: Uint8Array): Template {
  const { sign, crypt } = usesOf(key);
  const value: Template =
    key.kind === 'ec'
      ? [{ type: CKA_EC_POINT, value: bytes(encodeTlv(TAG_OCTET_STRING, key.point)) }]
      : key.kind === 'dsa'
        ? [{ type: CKA_VALUE, value: bytes(key.y) }]
        : [];
  return [
    ...common(CKO_PUBLIC_KEY, o, id),
    { type: CKA_PRIVATE, value: false },
    { type: CKA_VERIFY, value: sign },
    { type: CKA_ENCRYPT, value: crypt },
    ...publicParameters(key),
    ...value,
  ];
}

/** The template of an X.509 certificate object, with the fields PKCS#11 clients search by. */
export function certificateTemplate(
  cert: CertificateInfo,
  o: ObjectOptions,
  id: Uint8Array,
): Template {
  return [
    ...common(CKO_CERTIFICATE, o, id),
    { type: CKA_PRIVATE, value: false },
    { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
    { type: CKA_SUBJECT, value: bytes(cert.subject) },
    { type: CKA_ISSUER, value: bytes(cert.issuer) },
    { type: CKA_SERIAL_NUMBER, value: bytes(cert.serialNumber) },
    { type: CKA_VALUE, value: bytes(cert.der) },
  ];
}

/** A template's class and label, for finding the objects it would replace. */
function identity(t: Template): { cls: number; label: string } {
  const cls = t.find((a) => a.type === CKA_CLASS)?.value as number;
  const label = t.find((a) => a.type === CKA_LABEL)?.value as string;
  return { cls, label };
}

/**
 * Creates every template or none: when one fails, the objects already created are destroyed and the
 * error is thrown. Objects of the same class and label that existed before are then handled per
 * `existing`: kept, destroyed (only after all new objects are stored), or refused up front.
 */
export function createObjects(
  p11: Pkcs11Module,
  session: Handle,
  templates: Template[],
  existing: 'keep' | 'replace' | 'error' = 'keep',
): Handle[] {
  const old: Handle[] = [];
  if (existing !== 'keep') {
    for (const t of templates) {
      const { cls, label } = identity(t);
      const found = findObjects(p11, session, [
        { type: CKA_CLASS, value: cls },
        { type: CKA_LABEL, value: label },
      ]);
      if (found.length > 0 && existing === 'error') {
        throw badInput(`an object of this class labelled '${label}' already exists`);
      }
      old.push(...found);
    }
  }
  const made: Handle[] = [];
  try {
    for (const t of templates) made.push(p11.C_CreateObject(session, t));
  } catch (e) {
    for (const h of made.reverse()) {
      try {
        p11.C_DestroyObject(session, h);
      } catch {
        // keep the first error: it says why provisioning failed
      }
    }
    throw e;
  }
  for (const h of old) p11.C_DestroyObject(session, h);
  return made;
}

export interface PrivateKeyOptions extends ObjectOptions, Pick<ReadOptions, 'passphrase'> {
  /** CKA_LABEL of the public key object made alongside (default: `label`); null makes none. */
  publicKeyLabel?: string | null;
}

export interface ProvisionedKey {
  privateKey: Handle;
  publicKey: Handle | null;
  id: Uint8Array;
}

/**
 * xProvisionPrivateKey, generalised: a PEM/DER private key (PKCS#8, encrypted PKCS#8 with
 * `passphrase`, SEC1, PKCS#1) or parsed key data → a private key object and, unless `publicKeyLabel`
 * is null, its public key object, both with the same CKA_ID.
 */
export function provisionPrivateKey(
  p11: Pkcs11Module,
  session: Handle,
  input: CredentialInput | PrivateKeyData,
  options: PrivateKeyOptions,
): ProvisionedKey {
  const read = isKeyData(input) ? input : readOne(input, 'private-key', options).key;
  const key = read.kind === 'ec' ? withPublicPoint(read) : read;
  const pub = publicKeyOf(key);
  const id = options.id ?? keyIdOf(p11, session, pub as PublicKeyData);
  const templates = [privateKeyTemplate(key, options, id)];
  const publicLabel = options.publicKeyLabel === undefined ? options.label : options.publicKeyLabel;
  if (pub && publicLabel !== null) {
    templates.push(publicKeyTemplate(pub, { ...options, label: publicLabel }, id));
  }
  const [privateKey, publicKey] = createObjects(p11, session, templates, options.existing);
  return { privateKey: privateKey as Handle, publicKey: publicKey ?? null, id };
}

/** xProvisionPublicKey, generalised: a PEM/DER public key (or the public half of a private key). */
export function provisionPublicKey(
  p11: Pkcs11Module,
  session: Handle,
  input: CredentialInput | PublicKeyData,
  options: ObjectOptions,
): { publicKey: Handle; id: Uint8Array } {
  const key = isKeyData(input) ? input : readOne(input, 'public-key').key;
  const id = options.id ?? keyIdOf(p11, session, key);
  const [publicKey] = createObjects(
    p11,
    session,
    [publicKeyTemplate(key, options, id)],
    options.existing,
  );
  return { publicKey: publicKey as Handle, id };
}

/** xProvisionCertificate, generalised: a PEM/DER X.509 certificate → a certificate object. */
export function provisionCertificate(
  p11: Pkcs11Module,
  session: Handle,
  input: CredentialInput | CertificateInfo,
  options: ObjectOptions,
): { certificate: Handle; id: Uint8Array } {
  const cert = isCertificateInfo(input) ? input : readOne(input, 'certificate').certificate;
  const id =
    options.id ?? (cert.publicKey ? keyIdOf(p11, session, cert.publicKey) : new Uint8Array(0));
  const [certificate] = createObjects(
    p11,
    session,
    [certificateTemplate(cert, options, id)],
    options.existing,
  );
  return { certificate: certificate as Handle, id };
}

function isKeyData(v: unknown): v is PrivateKeyData | PublicKeyData {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'kind' in v;
}

function isCertificateInfo(v: unknown): v is CertificateInfo {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'spki' in v;
}
