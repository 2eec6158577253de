/**
 * RSA encryption and decryption over node:crypto: OAEP, PKCS#1 v1.5 (encryption only) and raw RSA, the
 * decryption also in the RSA worker for C_DecryptAsync.
 * @module
 */
import { constants, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { RsaCipherScheme } from '../../crypto/backend.js';
import {
  CKR_DATA_INVALID,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
} from '../../pkcs11/constants.js';
import { onInput, refused } from './input.js';
import { leftPad, NO_PADDING, PKCS1, type RsaKey } from './rsa.js';
import { privateOpAsync } from './rsa-worker.js';

export function rsaEncrypt(key: RsaKey, s: RsaCipherScheme, data: Uint8Array): Uint8Array {
  const options =
    s.type === 'oaep'
      ? { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: s.hash, oaepLabel: s.label }
      : { padding: s.type === 'pkcs1' ? PKCS1 : NO_PADDING };
  const input = s.type === 'raw' ? leftPad(data, key.bytes) : data;
  return onInput(
    CKR_DATA_INVALID,
    'the data does not fit this key and scheme',
    () => new Uint8Array(publicEncrypt({ key: key.publicObject, ...options }, input)),
  );
}

/** The private-key options of a decryption, after refusing what the token does not decrypt. */
function decryption(key: RsaKey, s: RsaCipherScheme, data: Uint8Array) {
  if (s.type === 'pkcs1') {
    throw refused(
      CKR_ENCRYPTED_DATA_INVALID,
      'PKCS#1 v1.5 decryption is not offered (Marvin timing attack)',
    );
  }
  if (data.length !== key.bytes)
    throw refused(CKR_ENCRYPTED_DATA_LEN_RANGE, 'ciphertext length differs from the modulus size');
  return s.type === 'oaep'
    ? { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: s.hash, oaepLabel: s.label }
    : { padding: NO_PADDING };
}

const UNDECRYPTABLE = 'the ciphertext does not decrypt';

/**
 * RSA decryption. PKCS#1 v1.5 decryption is refused: its padding check leaks through timing (the
 * Marvin attack), and Node disables it for that reason; OAEP and raw RSA are offered instead.
 */
export function rsaDecrypt(key: RsaKey, s: RsaCipherScheme, data: Uint8Array): Uint8Array {
  const options = decryption(key, s, data);
  return onInput(
    CKR_ENCRYPTED_DATA_INVALID,
    UNDECRYPTABLE,
    () => new Uint8Array(privateDecrypt({ key: key.object, ...options }, data)),
  );
}

/** As rsaDecrypt, with the private-key operation in the RSA worker. */
export async function rsaDecryptAsync(
  key: RsaKey,
  s: RsaCipherScheme,
  data: Uint8Array,
): Promise<Uint8Array> {
  const options = decryption(key, s, data);
  return privateOpAsync(true, key.object, options, data, [
    CKR_ENCRYPTED_DATA_INVALID,
    UNDECRYPTABLE,
  ]);
}
