/**
 * X.509 certificate fields the token fills in when a caller leaves them out: CKA_SUBJECT, CKA_ISSUER and
 * CKA_SERIAL_NUMBER are DER copies of the certificate's own fields (RFC 5280 §4.1). Layer L3.
 * @module
 */
import { readChildren, readSingle, TAG_INTEGER, TAG_SEQUENCE } from '../util/der.js';

export interface CertificateFields {
  serialNumber: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
}

/** Reads the identifying fields of a DER certificate; throws DerError when it is not one. */
export function certificateFields(der: Uint8Array): CertificateFields {
  const cert = readChildren(readSingle(der, TAG_SEQUENCE).value);
  const tbs = cert[0];
  if (!tbs || tbs.tag !== TAG_SEQUENCE || cert.length !== 3)
    throw new Error('not an X.509 certificate');
  const fields = readChildren(tbs.value);
  // version is an optional [0] EXPLICIT field before the serial number
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[start];
  const issuer = fields[start + 2];
  const subject = fields[start + 4];
  if (
    serial?.tag !== TAG_INTEGER ||
    issuer?.tag !== TAG_SEQUENCE ||
    subject?.tag !== TAG_SEQUENCE
  ) {
    throw new Error('not an X.509 certificate');
  }
  return { serialNumber: serial.encoded, issuer: issuer.encoded, subject: subject.encoded };
}
