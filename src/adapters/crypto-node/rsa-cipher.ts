/**
 * RSA encryption and decryption over node:crypto: OAEP, PKCS#1 v1.5 (its decryption with implicit
 * rejection, rsa-pkcs1-decrypt.ts) and raw RSA; the decryption also in the RSA worker for C_DecryptAsync.
 * @module
 */
import { constants, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { RsaCipherScheme } from '../../crypto/backend.js';
import {
  CKR_DATA_INVALID,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
} from '../../pkcs11/constants.js';
import { leftPad } from '../../util/bytes.js';
import { onInput, refused } from './input.js';
import { NO_PADDING, PKCS1, type RsaKey } from './rsa.js';
import { pkcs1Decrypt, pkcs1Unpad, RAW_REFUSAL } from './rsa-pkcs1-decrypt.js';
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

/** The private-key options of a decryption, after refusing a ciphertext of the wrong length. */
function decryption(key: RsaKey, s: RsaCipherScheme, data: Uint8Array) {
  if (data.length !== key.bytes)
    throw refused(CKR_ENCRYPTED_DATA_LEN_RANGE, 'ciphertext length differs from the modulus size');
  return s.type === 'oaep'
    ? { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: s.hash, oaepLabel: s.label }
    : { padding: NO_PADDING };
}

const UNDECRYPTABLE = 'the ciphertext does not decrypt';

/**
 * RSA decryption: OAEP and raw RSA through node:crypto; PKCS#1 v1.5 with implicit rejection, depadded
 * here over raw RSA (rsa-pkcs1-decrypt.ts) so that every Node version gives the same answer and a
 * wrong padding no timing or error oracle (the Marvin attack).
 */
export function rsaDecrypt(key: RsaKey, s: RsaCipherScheme, data: Uint8Array): Uint8Array {
  const options = decryption(key, s, data);
  if (s.type === 'pkcs1') return pkcs1Decrypt(key, data);
  return onInput(
    CKR_ENCRYPTED_DATA_INVALID,
    UNDECRYPTABLE,
    () => new Uint8Array(privateDecrypt({ key: key.object, ...options }, data)),
  );
}

/** As rsaDecrypt, with the private-key operation in the RSA worker (PKCS#1 v1.5's depadding here). */
export async function rsaDecryptAsync(
  key: RsaKey,
  s: RsaCipherScheme,
  data: Uint8Array,
): Promise<Uint8Array> {
  const options = decryption(key, s, data);
  if (s.type === 'pkcs1')
    return pkcs1Unpad(
      key,
      data,
      await privateOpAsync(true, key.object, options, data, RAW_REFUSAL),
    );
  return privateOpAsync(true, key.object, options, data, [
    CKR_ENCRYPTED_DATA_INVALID,
    UNDECRYPTABLE,
  ]);
}
