/**
 * Minimal DER reading and writing, the one copy for the tree: TLVs, INTEGERs and OIDs, the ECDSA
 * signature forms (DER ⇄ raw r‖s) and the X.509 certificate fields. Every read is bounds-checked;
 * malformed input throws DerError, which callers map to the CKR code that fits their context. Layer L1.
 * @module
 */
import { concat } from './bytes.js';

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_PRINTABLE_STRING = 0x13;
export const TAG_SEQUENCE = 0x30;

/** One TLV: `value` is a view into the input. */
export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** The whole encoding (tag, length and value). */
  encoded: Uint8Array;
}

/** Reads the TLV at `offset`. Only single-byte tags and definite lengths up to 2^32 (DER). */
export function readTlv(input: Uint8Array, offset = 0): Tlv {
  const tag = input[offset];
  let lenByte = input[offset + 1];
  if (tag === undefined || lenByte === undefined) throw new DerError('truncated TLV header');
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  let pos = offset + 2;
  let length = lenByte;
  if (lenByte & 0x80) {
    const n = lenByte & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length encoding');
    length = 0;
    for (let i = 0; i < n; i++) {
      lenByte = input[pos++];
      if (lenByte === undefined) throw new DerError('truncated length');
      length = length * 256 + lenByte;
    }
    if (length < 0x80 || (n > 1 && length < 256 ** (n - 1)))
      throw new DerError('non-minimal length');
  }
  const end = pos + length;
  if (end > input.length) throw new DerError('TLV runs past the end of its input');
  return { tag, value: input.subarray(pos, end), encoded: input.subarray(offset, end) };
}

/** Reads exactly one TLV that spans the whole input. */
export function readSingle(input: Uint8Array, expectedTag?: number): Tlv {
  const tlv = readTlv(input, 0);
  if (tlv.encoded.length !== input.length) throw new DerError('trailing bytes after DER value');
  if (expectedTag !== undefined && tlv.tag !== expectedTag) {
    throw new DerError(`expected tag 0x${expectedTag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  }
  return tlv;
}

/** The TLVs inside a constructed value. */
export function readChildren(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < value.length) {
    const tlv = readTlv(value, off);
    out.push(tlv);
    off += tlv.encoded.length;
  }
  return out;
}

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), encodeLength(value.length), value);
}

export function encodeSequence(...items: Uint8Array[]): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concat(...items));
}

/** DER INTEGER from unsigned big-endian bytes (minimal, with a 0x00 pad when the top bit is set). */
export function encodeUnsignedInteger(be: Uint8Array): Uint8Array {
  let i = 0;
  while (i < be.length - 1 && be[i] === 0) i++;
  let v = be.subarray(i);
  if (v.length === 0) v = Uint8Array.of(0);
  if ((v[0] as number) & 0x80) v = concat(Uint8Array.of(0), v);
  return encodeTlv(TAG_INTEGER, v);
}

/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the AlgorithmIdentifier and the key as a BIT STRING. */
export function encodeSubjectPublicKeyInfo(algorithm: Uint8Array, key: Uint8Array): Uint8Array {
  return encodeSequence(algorithm, encodeTlv(TAG_BIT_STRING, concat(Uint8Array.of(0), key)));
}

/** PKCS#8 PrivateKeyInfo (RFC 5208 §5), version 0: the AlgorithmIdentifier and the key's encoding. */
export function encodePrivateKeyInfo(algorithm: Uint8Array, key: Uint8Array): Uint8Array {
  return encodeSequence(
    encodeUnsignedInteger(Uint8Array.of(0)),
    algorithm,
    encodeTlv(TAG_OCTET_STRING, key),
  );
}

/** The unsigned big-endian magnitude of a non-negative DER INTEGER value. */
export function decodeUnsignedInteger(value: Uint8Array): Uint8Array {
  if (value.length === 0) throw new DerError('empty INTEGER');
  if ((value[0] as number) & 0x80) throw new DerError('negative INTEGER');
  if (value.length > 1 && value[0] === 0 && !((value[1] as number) & 0x80)) {
    throw new DerError('non-minimal INTEGER');
  }
  return value[0] === 0 && value.length > 1 ? value.subarray(1) : value;
}

/** Dotted OID string from its DER value bytes. */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  let acc = 0;
  for (const b of value) {
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large');
    if (!(b & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  if ((value[value.length - 1] as number) & 0x80) throw new DerError('truncated OID');
  const first = parts.shift() as number;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/** DER encoding (tag 0x06 included) of a dotted OID string. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((s) => Number.parseInt(s, 10));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new DerError(`invalid OID ${oid}`);
  }
  const bytes: number[] = [];
  const push = (n: number) => {
    const group: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128))
      group.unshift((v & 0x7f) | 0x80);
    bytes.push(...group);
  };
  push((arcs[0] as number) * 40 + (arcs[1] as number));
  for (const a of arcs.slice(2)) push(a);
  return encodeTlv(TAG_OID, Uint8Array.from(bytes));
}

/**
 * DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3) → raw r‖s with each half
 * right-aligned in `width` bytes. Only minimal DER with two non-negative INTEGERs that fit is read.
 */
export function ecdsaSignatureToRaw(der: Uint8Array, width: number): Uint8Array {
  const items = readChildren(readSingle(der, TAG_SEQUENCE).value);
  if (items.length !== 2) throw new DerError(`the SEQUENCE holds ${items.length} values, not 2`);
  const out = new Uint8Array(2 * width);
  items.forEach((item, i) => {
    const what = i === 0 ? 'r' : 's';
    if (item.tag !== TAG_INTEGER) throw new DerError(`${what} is not an INTEGER`);
    const v = decodeUnsignedInteger(item.value);
    const value = v.length === 1 && v[0] === 0 ? v.subarray(1) : v;
    if (value.length > width) {
      throw new DerError(`${what} is ${value.length} bytes, more than ${width}`);
    }
    out.set(value, (i + 1) * width - value.length);
  });
  return out;
}

/** Raw r‖s (two halves of equal length) → minimal DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new DerError('a raw ECDSA signature is two halves of equal length');
  }
  const half = raw.length / 2;
  return encodeSequence(
    encodeUnsignedInteger(raw.subarray(0, half)),
    encodeUnsignedInteger(raw.subarray(half)),
  );
}

/**
 * The TBSCertificate fields of an X.509 certificate (RFC 5280 §4.1), as TLVs into its DER. The token
 * needs only the identifying three; validity and subjectPublicKeyInfo are there when well placed.
 */
export interface CertificateTlvs {
  serialNumber: Tlv;
  issuer: Tlv;
  subject: Tlv;
  validity: Tlv | undefined;
  subjectPublicKeyInfo: Tlv | undefined;
}

/** Walks a DER certificate to its TBSCertificate fields; DerError when it is not a certificate. */
export function readCertificate(der: Uint8Array): CertificateTlvs {
  const top = readChildren(readSingle(der, TAG_SEQUENCE).value);
  const tbs = top[0];
  if (top.length !== 3 || tbs?.tag !== TAG_SEQUENCE) throw new DerError('not an X.509 certificate');
  const f = readChildren(tbs.value);
  // version is an optional [0] EXPLICIT field before the serial number
  const [serialNumber, , issuer, validity, subject, spki] = f.slice(f[0]?.tag === 0xa0 ? 1 : 0);
  if (
    serialNumber?.tag !== TAG_INTEGER ||
    issuer?.tag !== TAG_SEQUENCE ||
    subject?.tag !== TAG_SEQUENCE
  ) {
    throw new DerError('not an X.509 certificate (TBSCertificate fields out of place)');
  }
  const sequence = (t: Tlv | undefined) => (t?.tag === TAG_SEQUENCE ? t : undefined);
  return {
    serialNumber,
    issuer,
    subject,
    validity: sequence(validity),
    subjectPublicKeyInfo: sequence(spki),
  };
}
