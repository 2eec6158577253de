/**
 * What an object is, in a listing's terms: class, label, CKA_ID, key type and size, the usage and
 * protection flags, and for certificates the subject, issuer and validity. Only attributes that are
 * never sensitive are read, each class its own set, so this works on any object. Layer L7.
 * @module
 */
import { EC_KEY_TYPES } from '../objects/key-material.js';
import * as C from '../pkcs11/constants.js';
import { curveOfEcParams, keyBits } from './keys.js';
import { type Handle, type Pkcs11Module, ulongOf } from './module.js';
import { formatName } from './names.js';
import { URI_OBJECT_TYPES } from './uri.js';
import { parseCertificate } from './x509.js';

export interface ObjectDescription {
  handle: Handle;
  objectClass: number;
  /** The class as a PKCS#11 URI `type` (cert, private, public, secret-key, data). */
  type: string;
  label: string;
  id: Uint8Array;
  /** e.g. 'EC', 'RSA', 'AES', 'GENERIC_SECRET' (CKK_ without its prefix). */
  keyType?: string;
  /** RSA modulus bits, EC curve bits, secret key bits. */
  keyBits?: number;
  curve?: string;
  /** The true boolean attributes among token, private, sensitive, extractable, sign, verify, … */
  flags: string[];
  subject?: string;
  issuer?: string;
  notAfter?: Date;
}

const FLAG_ATTRIBUTES: ReadonlyArray<[number, string, readonly number[]]> = [
  [C.CKA_TOKEN, 'token', []],
  [C.CKA_PRIVATE, 'private', []],
  [C.CKA_MODIFIABLE, 'modifiable', []],
  [C.CKA_SENSITIVE, 'sensitive', [C.CKO_PRIVATE_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_EXTRACTABLE, 'extractable', [C.CKO_PRIVATE_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_NEVER_EXTRACTABLE, 'never-extractable', [C.CKO_PRIVATE_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_LOCAL, 'local', [C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_SIGN, 'sign', [C.CKO_PRIVATE_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_VERIFY, 'verify', [C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_ENCRYPT, 'encrypt', [C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_DECRYPT, 'decrypt', [C.CKO_PRIVATE_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_DERIVE, 'derive', [C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY]],
  [C.CKA_TRUSTED, 'trusted', [C.CKO_CERTIFICATE]],
];

function read(p11: Pkcs11Module, s: Handle, h: Handle, types: number[]): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (types.length === 0) return out;
  const answers = p11.C_GetAttributeValue(
    s,
    h,
    types.map((type) => ({ type })),
  );
  for (const a of answers) if (a.value instanceof Uint8Array) out.set(a.type, a.value);
  return out;
}

const isTrue = (v: Uint8Array | undefined) => v !== undefined && v.length > 0 && v[0] !== 0;

/** Describes one object (see ObjectDescription). */
export function describeObject(
  p11: Pkcs11Module,
  session: Handle,
  handle: Handle,
): ObjectDescription {
  const base = read(p11, session, handle, [C.CKA_CLASS, C.CKA_LABEL]);
  const objectClass = ulongOf(base.get(C.CKA_CLASS)) ?? -1;
  const isKey = [C.CKO_PRIVATE_KEY, C.CKO_PUBLIC_KEY, C.CKO_SECRET_KEY].includes(objectClass);
  const hasId = isKey || objectClass === C.CKO_CERTIFICATE;
  const flagTypes = FLAG_ATTRIBUTES.filter(
    ([, , only]) => only.length === 0 || only.includes(objectClass),
  );
  const attrs = read(p11, session, handle, [
    ...(hasId ? [C.CKA_ID] : []),
    ...(isKey ? [C.CKA_KEY_TYPE] : []),
    ...flagTypes.map(([t]) => t),
  ]);
  const type = Object.entries(URI_OBJECT_TYPES).find(([, c]) => c === objectClass)?.[0] ?? 'vendor';
  const d: ObjectDescription = {
    handle,
    objectClass,
    type,
    label: new TextDecoder().decode(base.get(C.CKA_LABEL) ?? new Uint8Array(0)),
    id: Uint8Array.from(attrs.get(C.CKA_ID) ?? []),
    flags: flagTypes.filter(([t]) => isTrue(attrs.get(t))).map(([, name]) => name),
  };
  if (isKey) describeKey(p11, session, d, ulongOf(attrs.get(C.CKA_KEY_TYPE)));
  if (objectClass === C.CKO_CERTIFICATE) describeCertificate(p11, session, d);
  return d;
}

function describeKey(
  p11: Pkcs11Module,
  s: Handle,
  d: ObjectDescription,
  keyType: number | undefined,
) {
  const name = keyType === undefined ? undefined : C.CKK_NAMES.get(keyType);
  d.keyType = name?.replace(/^CKK_/, '') ?? 'unknown';
  try {
    if (keyType !== undefined && EC_KEY_TYPES.has(keyType)) {
      const params = read(p11, s, d.handle, [C.CKA_EC_PARAMS]).get(C.CKA_EC_PARAMS);
      if (params) {
        const curve = curveOfEcParams(params);
        d.curve = curve;
        d.keyBits = keyBits({ kind: 'ec', curve, point: new Uint8Array(0) });
      }
    } else if (keyType === C.CKK_RSA) {
      const n = read(p11, s, d.handle, [C.CKA_MODULUS]).get(C.CKA_MODULUS);
      if (n) d.keyBits = keyBits({ kind: 'rsa', n, e: new Uint8Array(0) });
    } else if (keyType === C.CKK_DSA || keyType === C.CKK_DH) {
      const p = read(p11, s, d.handle, [C.CKA_PRIME]).get(C.CKA_PRIME);
      const none = new Uint8Array(0);
      if (p) d.keyBits = keyBits({ kind: 'dsa', p, q: none, g: none, y: none });
    } else if (d.objectClass === C.CKO_SECRET_KEY) {
      const len = ulongOf(read(p11, s, d.handle, [C.CKA_VALUE_LEN]).get(C.CKA_VALUE_LEN));
      if (len !== undefined) d.keyBits = len * 8;
    }
  } catch {
    // a key whose size cannot be read is still listed
  }
}

function describeCertificate(p11: Pkcs11Module, s: Handle, d: ObjectDescription) {
  try {
    const value = read(p11, s, d.handle, [C.CKA_VALUE]).get(C.CKA_VALUE);
    if (!value) return;
    const cert = parseCertificate(value);
    d.keyType = 'X.509';
    d.subject = formatName(cert.subject);
    d.issuer = formatName(cert.issuer);
    d.notAfter = cert.notAfter;
    if (cert.publicKey) {
      d.keyBits = keyBits(cert.publicKey);
      if (cert.publicKey.kind === 'ec') d.curve = cert.publicKey.curve;
    }
  } catch {
    // not DER X.509 (the token stores such values when CKA_SUBJECT is given)
  }
}
