/**
 * Authenticated encryption: CKM_AES_GCM (v2.40 mechanisms §2.14.6), CKM_AES_CCM (§2.14.7) and
 * CKM_CHACHA20_POLY1305 (PKCS#11 3.0 §2.46, RFC 8439). Encryption appends the tag; decryption checks it
 * before releasing a byte, so the whole input is held (bounded) and the backend runs once at the end.
 *
 * Each mode is split in two so the message-based API of PKCS#11 3.0 (C_EncryptMessage, one IV and AAD
 * per message under one key) can reuse it: `AEAD_MODES` gives, per mechanism, the key check and the
 * parser of its parameters into an AeadCall, and `sealOrOpen` runs one message. C_Encrypt/C_Decrypt
 * (aeadCipher) is those two plus the bounded input. Layer L4.
 * @module
 */
import type { AeadAlgorithm, CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type {
  CcmParams,
  ChaCha20Poly1305Params,
  GcmParams,
  RawMechanism,
} from '../pkcs11/types.js';
import { wholeInputCipher } from './block-modes.js';
import { bytesField, MAX_WHOLE_INPUT, secretKeyOf, structuredParam } from './common.js';
import type { CipherOperation, KeyRef, Mechanism } from './types.js';

const PARAM = C.CKR_MECHANISM_PARAM_INVALID;

/** One message's worth of AEAD parameters. */
export interface AeadCall {
  algorithm: AeadAlgorithm;
  iv: Uint8Array;
  aad: Uint8Array;
  tagLength: number;
  /** CCM: the plaintext length the parameters announced (the tag covers it). */
  dataLength?: number;
}

export interface AeadMode {
  readonly type: number;
  readonly keyTypes: readonly number[];
  readonly keySizes: readonly number[];
  /** The parameters of one message (CKR_MECHANISM_PARAM_INVALID when malformed). */
  params(m: RawMechanism): AeadCall;
}

function gcm(m: RawMechanism): AeadCall {
  const p = structuredParam<GcmParams>(m, 'CK_GCM_PARAMS');
  const tagBits = p.tagBits ?? 128;
  if (!(p.iv instanceof Uint8Array) || p.iv.length < 1 || p.iv.length > 256) {
    throw new Pkcs11Error(PARAM, 'GCM: an IV of 1..256 bytes');
  }
  if (![32, 64, 96, 104, 112, 120, 128].includes(tagBits)) {
    throw new Pkcs11Error(PARAM, 'GCM: a tag of 32, 64 or 96..128 bits');
  }
  return { algorithm: 'aes-gcm', iv: p.iv, aad: bytesField(p.aad, 'aad'), tagLength: tagBits / 8 };
}

/** CK_CCM_PARAMS (SP 800-38C): nonce 7..13 bytes, an even MAC length 4..16, the plaintext length. */
function ccm(m: RawMechanism): AeadCall {
  const p = structuredParam<CcmParams>(m, 'CK_CCM_PARAMS');
  const nonce = p.nonce;
  if (!(nonce instanceof Uint8Array) || nonce.length < 7 || nonce.length > 13) {
    throw new Pkcs11Error(PARAM, 'CCM: a nonce of 7..13 bytes');
  }
  const macLen = p.macLen ?? 16;
  if (![4, 6, 8, 10, 12, 14, 16].includes(macLen)) {
    throw new Pkcs11Error(PARAM, 'CCM: a MAC of 4, 6, …, 16 bytes');
  }
  const dataLen = p.dataLen;
  // The length field holds 15 - nonce bytes: the plaintext must fit it (and our input bound).
  const fieldBits = 8 * (15 - nonce.length);
  if (
    typeof dataLen !== 'number' ||
    !Number.isInteger(dataLen) ||
    dataLen < 0 ||
    dataLen > MAX_WHOLE_INPUT ||
    (fieldBits < 53 && dataLen >= 2 ** fieldBits)
  ) {
    throw new Pkcs11Error(PARAM, 'CCM: dataLen does not fit the nonce length');
  }
  return {
    algorithm: 'aes-ccm',
    iv: nonce,
    aad: bytesField(p.aad, 'aad'),
    tagLength: macLen,
    dataLength: dataLen,
  };
}

/** CK_SALSA20_CHACHA20_POLY1305_PARAMS: RFC 8439's 96-bit nonce (node:crypto has no 64-bit form). */
function chacha(m: RawMechanism): AeadCall {
  const p = structuredParam<ChaCha20Poly1305Params>(m, 'CK_SALSA20_CHACHA20_POLY1305_PARAMS');
  if (!(p.nonce instanceof Uint8Array) || p.nonce.length !== 12) {
    throw new Pkcs11Error(PARAM, 'ChaCha20-Poly1305: a 96-bit nonce (RFC 8439)');
  }
  return {
    algorithm: 'chacha20-poly1305',
    iv: p.nonce,
    aad: bytesField(p.aad, 'aad'),
    tagLength: 16,
  };
}

export const AEAD_MODES: readonly AeadMode[] = [
  { type: C.CKM_AES_GCM, keyTypes: [C.CKK_AES], keySizes: [16, 24, 32], params: gcm },
  { type: C.CKM_AES_CCM, keyTypes: [C.CKK_AES], keySizes: [16, 24, 32], params: ccm },
  { type: C.CKM_CHACHA20_POLY1305, keyTypes: [C.CKK_CHACHA20], keySizes: [32], params: chacha },
];

/** The key of an AEAD mode (CKR_KEY_SIZE_RANGE for a value of another size). */
export function aeadKey(mode: AeadMode, key: KeyRef): Uint8Array {
  const v = secretKeyOf(key);
  if (!mode.keySizes.includes(v.length)) {
    throw new Pkcs11Error(C.CKR_KEY_SIZE_RANGE, `a ${v.length}-byte key does not suit this mode`);
  }
  return v;
}

/**
 * One message: encrypt (ciphertext ‖ tag) or check and decrypt. A CCM message must be the announced
 * length (CKR_DATA_LEN_RANGE / CKR_ENCRYPTED_DATA_LEN_RANGE); a wrong tag is CKR_ENCRYPTED_DATA_INVALID.
 */
export function sealOrOpen(
  backend: CryptoBackend,
  call: AeadCall,
  key: Uint8Array,
  encrypt: boolean,
  data: Uint8Array,
): Uint8Array {
  if (!encrypt && data.length < call.tagLength) {
    throw new Pkcs11Error(C.CKR_ENCRYPTED_DATA_LEN_RANGE, 'shorter than the tag');
  }
  const plain = encrypt ? data.length : data.length - call.tagLength;
  if (call.dataLength !== undefined && plain !== call.dataLength) {
    throw new Pkcs11Error(
      encrypt ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE,
      `CCM: ${plain} bytes of plaintext, the parameters announced ${call.dataLength}`,
    );
  }
  return backend.aead({ ...call, key, encrypt }, data);
}

/** C_Encrypt/C_Decrypt with an AEAD mode: the input held whole (bounded), one backend call at the end. */
function aeadCipher(
  backend: CryptoBackend,
  call: AeadCall,
  key: Uint8Array,
  encrypt: boolean,
): CipherOperation {
  const tag = call.tagLength;
  return wholeInputCipher(
    encrypt,
    MAX_WHOLE_INPUT + (encrypt ? 0 : tag),
    (n) => (encrypt ? n + tag : Math.max(0, n - tag)),
    (data) => sealOrOpen(backend, call, key, encrypt, data),
  );
}

const WRAP = C.CKF_WRAP | C.CKF_UNWRAP;

export const AEAD_MECHANISMS: Mechanism[] = AEAD_MODES.map((mode) => ({
  type: mode.type,
  keyTypes: mode.keyTypes,
  info: {
    minKeySize: Math.min(...mode.keySizes),
    maxKeySize: Math.max(...mode.keySizes),
    // The AES modes wrap and unwrap secret keys, as every AES mode does here; ChaCha20 encrypts only.
    flags: C.CKF_ENCRYPT | C.CKF_DECRYPT | (mode.keyTypes.includes(C.CKK_AES) ? WRAP : 0),
  },
  encrypt: (backend, m, key) => aeadCipher(backend, mode.params(m), aeadKey(mode, key), true),
  decrypt: (backend, m, key) => aeadCipher(backend, mode.params(m), aeadKey(mode, key), false),
}));
