/**
 * The X.509 certificate fields provisioning needs (RFC 5280 §4.1): the DER serial number, issuer and
 * subject a PKCS#11 certificate object carries, the validity, and the subject public key, so a
 * certificate can share CKA_ID with its key pair. Layer L7.
 * @module
 */

import { Pkcs11Error } from '../errors.js';
import { fromUtf8 } from '../util/bytes.js';
import { DerError, readCertificate, readChildren, type Tlv } from '../util/der.js';
import { type PublicKeyData, parseSpki, parsing } from './keys.js';
import { badInput } from './module.js';

export interface CertificateInfo {
  der: Uint8Array;
  /** DER INTEGER (tag included), as CKA_SERIAL_NUMBER holds it. */
  serialNumber: Uint8Array;
  /** DER Name of the issuer (CKA_ISSUER) and subject (CKA_SUBJECT). */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** The DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  /** The subject's key, or undefined for algorithms the token cannot hold (the certificate still can). */
  publicKey: PublicKeyData | undefined;
}

function time(tlv: Tlv | undefined): Date {
  if (!tlv || (tlv.tag !== 0x17 && tlv.tag !== 0x18))
    throw badInput('certificate validity is not a time');
  const s = fromUtf8(tlv.value);
  const m =
    tlv.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw badInput(`certificate time '${s}' is not in DER form`);
  const n = m.slice(1).map(Number) as [number, number, number, number, number, number];
  // RFC 5280 §4.1.2.5.1: two-digit years 50–99 are 19xx.
  const year = tlv.tag === 0x17 ? (n[0] >= 50 ? 1900 + n[0] : 2000 + n[0]) : n[0];
  return new Date(Date.UTC(year, n[1] - 1, n[2], n[3], n[4], n[5]));
}

/** Reads a DER X.509 certificate; CKR_ARGUMENTS_BAD when it is not one. */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  return parsing('X.509 certificate', () => {
    const c = readCertificate(der);
    const spki = c.subjectPublicKeyInfo;
    if (!c.validity || !spki) throw new DerError('TBSCertificate fields out of place');
    const [notBefore, notAfter] = readChildren(c.validity.value);
    let publicKey: PublicKeyData | undefined;
    try {
      publicKey = parseSpki(spki.encoded);
    } catch (e) {
      if (!(e instanceof Pkcs11Error)) throw e;
      publicKey = undefined;
    }
    return {
      der,
      serialNumber: c.serialNumber.encoded,
      issuer: c.issuer.encoded,
      subject: c.subject.encoded,
      notBefore: time(notBefore),
      notAfter: time(notAfter),
      spki: spki.encoded,
      publicKey,
    };
  });
}
