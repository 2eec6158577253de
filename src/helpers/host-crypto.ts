/**
 * node:crypto for reading the user's files on the host (reading a file is not token crypto): decrypting
 * an encrypted PKCS#8 key with its passphrase and computing an EC private key's public point. The one
 * module of helpers/ and cli/ that imports node:crypto; token crypto never passes through here (the
 * helpers still work over any pkcs11js-shaped module, native ones included). Layer L7.
 * @module
 */
import { createECDH, createPrivateKey, type KeyObject } from 'node:crypto';
import { type CurveName, curve } from '../crypto/curves.js';
import { badInput } from './module.js';

/** d·G as an uncompressed point; CKR_ARGUMENTS_BAD when d is not a scalar of the curve. */
export function ecPublicPoint(name: CurveName, d: Uint8Array): Uint8Array {
  const ecdh = createECDH(curve(name).openssl);
  try {
    ecdh.setPrivateKey(d);
  } catch (e) {
    throw badInput(`the private value is not a ${name} private key`, e);
  }
  return new Uint8Array(ecdh.getPublicKey());
}

/**
 * The PrivateKeyInfo inside an EncryptedPrivateKeyInfo (RFC 5958 §3), decrypted with `passphrase`
 * (PBES2 and the PBES1 schemes OpenSSL reads). A wrong passphrase or a damaged file is
 * CKR_ARGUMENTS_BAD saying so.
 */
export function decryptPkcs8(der: Uint8Array, passphrase: string): Uint8Array {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8', passphrase });
  } catch (e) {
    throw badInput('cannot decrypt the private key: wrong passphrase or damaged file', e);
  }
  return new Uint8Array(key.export({ type: 'pkcs8', format: 'der' }));
}
