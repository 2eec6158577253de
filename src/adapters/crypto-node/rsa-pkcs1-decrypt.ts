/**
 * RSAES-PKCS1-v1_5 decryption with implicit rejection (draft-irtf-cfrg-rsa-guidance §7, as OpenSSL 3.2+
 * does it in rsa_ossl_private_decrypt and ossl_rsa_padding_check_PKCS1_type_2): a ciphertext whose
 * padding is wrong does not fail. It decrypts to a pseudo-random message derived from the ciphertext
 * and a key-derived secret, of a pseudo-random length, so the answer carries no padding oracle (the
 * Bleichenbacher and Marvin attacks). Node 20 refuses PKCS#1 v1.5 in privateDecrypt and Node 22/24
 * use OpenSSL's implicit rejection; doing the depadding here over a raw (blinded, constant-time)
 * OpenSSL RSA decryption gives the same answer on all of them, the one the draft's vectors fix.
 *
 * Timing: the padding check and the choice between the real and the synthetic message are
 * branch-free integer arithmetic that reads every byte of both whatever the outcome; JavaScript gives
 * no constant-time guarantee, but nothing here branches or indexes on the check's result. The length of
 * the message returned is not a signal: an invalid padding yields a random length too.
 * @module
 */
import { constants, createHash, createHmac, privateDecrypt } from 'node:crypto';
import { CKR_ENCRYPTED_DATA_INVALID } from '../../pkcs11/constants.js';
import { onInput } from './input.js';
import type { RsaKey } from './rsa.js';

/** Candidate lengths drawn for the synthetic message (2^-128 chance that none fits, then 0). */
const LENGTH_TRIES = 128;

/** SHA-256(d written out to `width` bytes): the HMAC key of the key-derivation key (RsaKey.rejectionKey). */
export function rejectionKeyOf(d: Uint8Array, width: number): Uint8Array {
  const padded = new Uint8Array(width);
  padded.set(d.subarray(Math.max(0, d.length - width)), Math.max(0, width - d.length));
  const out = new Uint8Array(createHash('sha256').update(padded).digest());
  padded.fill(0);
  return out;
}

/** The draft's PRF: HMAC-SHA256(kdk, be16(i) ‖ label ‖ be16(bits)) for i = 0, 1, …, cut to bits / 8. */
function prf(kdk: Uint8Array, label: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const bits = Uint8Array.of((bytes * 8) >>> 8, (bytes * 8) & 0xff);
  for (let i = 0, pos = 0; pos < bytes; i++, pos += 32) {
    const h = createHmac('sha256', kdk);
    h.update(Uint8Array.of(i >>> 8, i & 0xff))
      .update(label)
      .update(bits);
    out.set(h.digest().subarray(0, Math.min(32, bytes - pos)), pos);
  }
  return out;
}

// Branch-free helpers over small non-negative integers (< 2^31): each answers 0 or 1.
const isZero = (x: number) => (x - 1) >>> 31;
const lessThan = (a: number, b: number) => (a - b) >>> 31;
/** a when bit is 1, b when 0. */
const select = (bit: number, a: number, b: number) => (a & -bit) | (b & (bit - 1));

/** The length of the synthetic message: the last candidate below the largest message length. */
function syntheticLength(kdk: Uint8Array, k: number): number {
  const candidates = prf(kdk, 'length', 2 * LENGTH_TRIES);
  const max = k - 2 - 8;
  let mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  let length = 0;
  for (let i = 0; i < 2 * LENGTH_TRIES; i += 2) {
    const candidate = (((candidates[i] as number) << 8) | (candidates[i + 1] as number)) & mask;
    length = select(lessThan(candidate, max), candidate, length);
  }
  return length;
}

/** The raw RSA decryption of `c` (the encoded message), the refusal it may give being public. */
export const RAW_REFUSAL = [
  CKR_ENCRYPTED_DATA_INVALID,
  'the ciphertext is not below the modulus',
] as const;

/**
 * PKCS#1 v1.5 decryption of `c` (exactly the modulus width) under a private key. A ciphertext that is
 * not below the modulus is refused (CKR_ENCRYPTED_DATA_INVALID: that is public); any other decrypts.
 */
export function pkcs1Decrypt(key: RsaKey, c: Uint8Array): Uint8Array {
  const em = onInput(
    ...RAW_REFUSAL,
    () => new Uint8Array(privateDecrypt({ key: key.object, padding: constants.RSA_NO_PADDING }, c)),
  );
  return pkcs1Unpad(key, c, em);
}

/**
 * The message of `em` = RSA⁻¹(c), or the synthetic message when its padding is wrong (implicit
 * rejection); `em` is wiped. Split from pkcs1Decrypt so the raw decryption may run in the RSA worker.
 */
export function pkcs1Unpad(key: RsaKey, c: Uint8Array, em: Uint8Array): Uint8Array {
  const k = key.bytes;
  try {
    const kdk = new Uint8Array(
      createHmac('sha256', key.rejectionKey ?? new Uint8Array(32))
        .update(c)
        .digest(),
    );
    const synthetic = prf(kdk, 'message', k);
    const syntheticIndex = k - syntheticLength(kdk, k);
    kdk.fill(0);
    // 00 02 PS 00 M with at least 8 bytes of PS: the separator is the first zero from index 2.
    let good = isZero(em[0] as number) & isZero((em[1] as number) ^ 2);
    let zeroIndex = 0;
    let found = 0;
    for (let i = 2; i < k; i++) {
      const zero = isZero(em[i] as number);
      zeroIndex = select(zero & (found ^ 1), i, zeroIndex);
      found |= zero;
    }
    good &= found & (lessThan(zeroIndex, 10) ^ 1);
    const start = select(good, zeroIndex + 1, syntheticIndex);
    const out = new Uint8Array(k - start);
    for (let i = start; i < k; i++) {
      out[i - start] = select(good, em[i] as number, synthetic[i] as number);
    }
    synthetic.fill(0);
    return out;
  } finally {
    em.fill(0);
  }
}
