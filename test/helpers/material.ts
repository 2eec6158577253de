/**
 * Test material made outside the token: RSA and EC keys from node:crypto, a small DER writer and a real
 * self-signed X.509 certificate built with it (node:crypto cannot issue certificates), the object
 * templates for every class the token supports, and short readers for attributes and find results.
 * @module
 */
import { type KeyObject, sign } from 'node:crypto';
import type { Handle, Template } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import * as C from '../../src/pkcs11/constants.js';
import { freshKeyPair } from './keypair.js';
import { EC_PARAMS } from './keys.js';

/** The number inside an API handle (the engine's handle). */
export function num(h: Handle): number {
  return Number(h.readBigUInt64LE(0));
}

/** An API handle for an engine handle number. */
export function handle(n: number): Handle {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

// --- a minimal DER writer, independent of the token's own (src/util/der.ts) ---

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), len(body.length), body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const a of arcs.slice(2)) {
    const group = [a & 0x7f];
    for (let v = a >>> 7; v > 0; v >>>= 7) group.unshift((v & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}
function name(cn: string, org: string): Buffer {
  const rdn = (o: string, v: string) => tlv(0x31, seq(oid(o), tlv(0x0c, Buffer.from(v, 'utf8'))));
  return seq(rdn('2.5.4.10', org), rdn('2.5.4.3', cn));
}

export interface Certificate {
  der: Buffer;
  /** DER Name of the subject and issuer, and the DER INTEGER of the serial (CKA_SERIAL_NUMBER form). */
  subject: Buffer;
  issuer: Buffer;
  serial: Buffer;
  publicKey: KeyObject;
}

/** A self-signed ECDSA P-256 certificate (or signed by `issuerKey` under `issuerCn`). */
export function makeCertificate(
  cn: string,
  opts: { serial?: Buffer; issuerCn?: string; issuerKey?: KeyObject } = {},
): Certificate {
  const keys = freshKeyPair('ec', { namedCurve: 'P-256' });
  const subject = name(cn, 'corepkcs11 tests');
  const issuer = name(opts.issuerCn ?? cn, 'corepkcs11 tests');
  const serial = tlv(0x02, opts.serial ?? Buffer.from('0123456789abcdef01', 'hex'));
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const utc = (s: string) => tlv(0x17, Buffer.from(s, 'ascii'));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.of(2))),
    serial,
    ecdsaSha256,
    issuer,
    seq(utc('250101000000Z'), utc('350101000000Z')),
    subject,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, opts.issuerKey ?? keys.privateKey);
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.of(0), signature));
  return { der, subject, issuer, serial, publicKey: keys.publicKey };
}

// --- key material ---

const b64 = (s: string | undefined) => Buffer.from(s as string, 'base64url');

export interface EcMaterial {
  privateKey: KeyObject;
  publicKey: KeyObject;
  params: Buffer;
  /** CKA_EC_POINT: the uncompressed point in a DER OCTET STRING. */
  point: Buffer;
  d: Buffer;
}

export function ecMaterial(): EcMaterial {
  const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.of(4), b64(jwk.x), b64(jwk.y)]);
  return {
    privateKey,
    publicKey,
    params: EC_PARAMS['P-256'],
    point: tlv(0x04, raw),
    d: b64(jwk.d),
  };
}

export interface RsaMaterial {
  privateKey: KeyObject;
  publicKey: KeyObject;
  n: Buffer;
  e: Buffer;
  d: Buffer;
  p: Buffer;
  q: Buffer;
  dp: Buffer;
  dq: Buffer;
  qi: Buffer;
}

/** A new RSA key of `bits` with its components. */
export function freshRsaMaterial(bits: number): RsaMaterial {
  const { privateKey, publicKey } = freshKeyPair('rsa', { modulusLength: bits });
  const j = privateKey.export({ format: 'jwk' });
  return {
    privateKey,
    publicKey,
    n: b64(j.n),
    e: b64(j.e),
    d: b64(j.d),
    p: b64(j.p),
    q: b64(j.q),
    dp: b64(j.dp),
    dq: b64(j.dq),
    qi: b64(j.qi),
  };
}

let rsaCache: RsaMaterial | undefined;
/** One RSA-2048 key per test process (generating it is the slow part). */
export function rsaMaterial(): RsaMaterial {
  rsaCache ??= freshRsaMaterial(2048);
  return rsaCache;
}

const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const toBuffer = (v: bigint) => {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
};
const twos = (v: bigint) => {
  let t = 0;
  for (let x = v; x % 2n === 0n; x /= 2n) t++;
  return t;
};
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/**
 * A private exponent d' ≡ d (mod λ(n)), so a valid one for the same key, whose d'·e − 1 has exactly
 * `twosWanted` factors of 2 (1 needs p ≡ q ≡ 3 mod 4) or, with undefined, at least 2. Undefined when
 * the key cannot have it.
 */
export function privateExponentWith(m: RsaMaterial, twosWanted?: number): Buffer | undefined {
  const [p, q, e, d] = [big(m.p), big(m.q), big(m.e), big(m.d)];
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  for (let k = 0n; k < 8n; k++) {
    const candidate = d + k * lambda;
    const t = twos(candidate * e - 1n);
    if (twosWanted === undefined ? t >= 2 : t === twosWanted) return toBuffer(candidate);
  }
  return undefined;
}

/** An RSA key (of `bits`) whose primes are both 3 mod 4, so a d with d·e − 1 ≡ 2 (mod 4) exists. */
export function rsaMaterialWithPrimes3Mod4(bits: number): RsaMaterial {
  for (;;) {
    const m = freshRsaMaterial(bits);
    if (big(m.p) % 4n === 3n && big(m.q) % 4n === 3n) return m;
  }
}

// --- templates ---

/**
 * A data object, public unless `extra` says otherwise (a `compatible` token makes data objects private
 * by default); an attribute in `extra` replaces the one here.
 */
export const dataTemplate = (label: string, extra: Template = []): Template => {
  const t: Template = [
    { type: C.CKA_CLASS, value: C.CKO_DATA },
    { type: C.CKA_PRIVATE, value: false },
    { type: C.CKA_LABEL, value: label },
    { type: C.CKA_APPLICATION, value: 'corepkcs11 tests' },
    { type: C.CKA_VALUE, value: Buffer.from(`value of ${label}`) },
    ...extra,
  ];
  return [...new Map(t.map((a) => [a.type, a])).values()];
};

export const certTemplate = (cert: Certificate, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE },
  { type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509 },
  { type: C.CKA_VALUE, value: cert.der },
  ...extra,
];

export const ecPublicTemplate = (m: EcMaterial, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
  { type: C.CKA_EC_PARAMS, value: m.params },
  { type: C.CKA_EC_POINT, value: m.point },
  ...extra,
];

export const ecPrivateTemplate = (m: EcMaterial, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_EC },
  { type: C.CKA_EC_PARAMS, value: m.params },
  { type: C.CKA_VALUE, value: m.d },
  ...extra,
];

export const rsaPublicTemplate = (m: RsaMaterial, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
  { type: C.CKA_MODULUS, value: m.n },
  { type: C.CKA_PUBLIC_EXPONENT, value: m.e },
  ...extra,
];

export const rsaPrivateTemplate = (m: RsaMaterial, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_RSA },
  { type: C.CKA_MODULUS, value: m.n },
  { type: C.CKA_PUBLIC_EXPONENT, value: m.e },
  { type: C.CKA_PRIVATE_EXPONENT, value: m.d },
  { type: C.CKA_PRIME_1, value: m.p },
  { type: C.CKA_PRIME_2, value: m.q },
  { type: C.CKA_EXPONENT_1, value: m.dp },
  { type: C.CKA_EXPONENT_2, value: m.dq },
  { type: C.CKA_COEFFICIENT, value: m.qi },
  ...extra,
];

export const secretTemplate = (keyType: number, value: Buffer, extra: Template = []): Template => [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: keyType },
  { type: C.CKA_VALUE, value },
  ...extra,
];

// --- reading back ---

/** One attribute's value (throws the call's CKR like pkcs11js). */
export function attr(p11: PKCS11, s: Handle, o: Handle, type: number): Buffer {
  const [a] = p11.C_GetAttributeValue(s, o, [{ type }]);
  return a?.value as Buffer;
}
export const attrBool = (p11: PKCS11, s: Handle, o: Handle, type: number): boolean =>
  attr(p11, s, o, type)[0] === 1;
export const attrUlong = (p11: PKCS11, s: Handle, o: Handle, type: number): number =>
  Number(attr(p11, s, o, type).readBigUInt64LE(0));

/** Every handle matching `template`, fetched `step` at a time. */
export function findAll(p11: PKCS11, s: Handle, template: Template, step = 100): Handle[] {
  p11.C_FindObjectsInit(s, template);
  const out: Handle[] = [];
  for (;;) {
    const part = p11.C_FindObjects(s, step);
    out.push(...part);
    if (part.length < step) break;
  }
  p11.C_FindObjectsFinal(s);
  return out;
}

/** The CKA_LABELs of every object matching `template`, sorted. */
export function labelsOf(p11: PKCS11, s: Handle, template: Template = []): string[] {
  return findAll(p11, s, template)
    .map((o) => attr(p11, s, o, C.CKA_LABEL).toString('utf8'))
    .sort();
}
