/**
 * PKCS#10 certification requests (RFC 2986) signed on the token: the subject public key comes from the
 * key pair's public key object (or an RSA private key itself), the signature from C_Sign with
 * CKM_ECDSA_SHA* (converted to DER) or CKM_SHA*_RSA_PKCS. `openssl req -verify` accepts the result.
 * Layer L7.
 * @module
 */
import {
  CKA_KEY_TYPE,
  CKK_EC,
  CKK_RSA,
  CKM_ECDSA_SHA256,
  CKM_ECDSA_SHA384,
  CKM_ECDSA_SHA512,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA384_RSA_PKCS,
  CKM_SHA512_RSA_PKCS,
} from '../pkcs11/constants.js';
import { concat } from '../util/bytes.js';
import { encodeOid, encodeSequence, encodeTlv, TAG_BIT_STRING, TAG_NULL } from '../util/der.js';
import { findPublicKeyFor, readPublicKey } from './keygen.js';
import { encodeSpki, keyBits, type PublicKeyData } from './keys.js';
import {
  badInput,
  type Handle,
  outputBuffer,
  type Pkcs11Module,
  readUlongAttribute,
} from './module.js';
import { parseSubject } from './names.js';
import { ecdsaRawToDer } from './pki.js';

export type CsrHash = 'sha256' | 'sha384' | 'sha512';

const EC_SIG: Record<CsrHash, [number, string]> = {
  sha256: [CKM_ECDSA_SHA256, '1.2.840.10045.4.3.2'],
  sha384: [CKM_ECDSA_SHA384, '1.2.840.10045.4.3.3'],
  sha512: [CKM_ECDSA_SHA512, '1.2.840.10045.4.3.4'],
};
const RSA_SIG: Record<CsrHash, [number, string]> = {
  sha256: [CKM_SHA256_RSA_PKCS, '1.2.840.113549.1.1.11'],
  sha384: [CKM_SHA384_RSA_PKCS, '1.2.840.113549.1.1.12'],
  sha512: [CKM_SHA512_RSA_PKCS, '1.2.840.113549.1.1.13'],
};

export interface CsrOptions {
  /** The private key object that signs the request. */
  privateKey: Handle;
  /** Its public key: a handle or key data (default: the public key object with the same CKA_ID). */
  publicKey?: Handle | PublicKeyData;
  /** OpenSSL syntax (`/CN=device/O=Acme`) or a DER Name. */
  subject: string | Uint8Array;
  /** Default: SHA-256, SHA-384 for P-384, SHA-512 for P-521. */
  hash?: CsrHash;
}

function publicKeyFor(p11: Pkcs11Module, session: Handle, o: CsrOptions): PublicKeyData {
  if (o.publicKey && !(o.publicKey instanceof Uint8Array)) return o.publicKey;
  if (o.publicKey) return readPublicKey(p11, session, o.publicKey);
  if (readUlongAttribute(p11, session, o.privateKey, CKA_KEY_TYPE) === CKK_RSA) {
    return readPublicKey(p11, session, o.privateKey);
  }
  const pub = findPublicKeyFor(p11, session, o.privateKey);
  if (!pub) throw badInput('no public key object pairs with this private key (same CKA_ID)');
  return readPublicKey(p11, session, pub);
}

/** Builds and signs a certification request; returns its DER (wrap with encodePem for a .csr file). */
export function createCsr(p11: Pkcs11Module, session: Handle, options: CsrOptions): Uint8Array {
  const pub = publicKeyFor(p11, session, options);
  const keyType = readUlongAttribute(p11, session, options.privateKey, CKA_KEY_TYPE);
  if (keyType !== (pub.kind === 'ec' ? CKK_EC : CKK_RSA)) {
    throw badInput('the public key is not of the private key type');
  }
  const subject =
    typeof options.subject === 'string' ? parseSubject(options.subject) : options.subject;
  const info = encodeSequence(
    Uint8Array.of(0x02, 0x01, 0x00),
    subject,
    encodeSpki(pub),
    Uint8Array.of(0xa0, 0x00),
  );
  const bits = keyBits(pub);
  const hash =
    options.hash ??
    (pub.kind === 'ec' && bits > 256 ? (bits > 384 ? 'sha512' : 'sha384') : 'sha256');
  const [mechanism, oid] = (pub.kind === 'ec' ? EC_SIG : RSA_SIG)[hash];
  p11.C_SignInit(session, { mechanism }, options.privateKey);
  const raw = p11.C_Sign(session, Buffer.from(info), outputBuffer(pub.kind === 'ec' ? 132 : 2048));
  const signature = pub.kind === 'ec' ? ecdsaRawToDer(raw) : Uint8Array.from(raw);
  const algorithm =
    pub.kind === 'ec'
      ? encodeSequence(encodeOid(oid))
      : encodeSequence(encodeOid(oid), encodeTlv(TAG_NULL, new Uint8Array(0)));
  return encodeSequence(
    info,
    algorithm,
    encodeTlv(TAG_BIT_STRING, concat(Uint8Array.of(0), signature)),
  );
}
