/**
 * The shapes of a block cipher's operations, for every cipher that has them (AES here, DES and 3DES in
 * des.ts): block modes that need whole blocks (ECB, CBC) or pad (CBC_PAD), stream modes whose output
 * follows the input byte for byte (CFB, OFB), and modes that act once on the whole input (key wrap,
 * XTS). Each turns a backend CipherStream into the CipherOperation the token drives. Layer L4.
 * @module
 */
import type { CipherSpec, CipherStream, CryptoBackend } from '../crypto/backend.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { RawMechanism } from '../pkcs11/types.js';
import { Collected, requireNoParameter } from './common.js';
import type { CipherOperation } from './types.js';

export function lengthCode(encrypt: boolean): number {
  return encrypt ? C.CKR_DATA_LEN_RANGE : C.CKR_ENCRYPTED_DATA_LEN_RANGE;
}

export function lengthError(encrypt: boolean, why: string): Pkcs11Error {
  return new Pkcs11Error(lengthCode(encrypt), why);
}

/** The IV parameter of a mode: exactly `size` bytes. */
export function ivParam(m: RawMechanism, size: number): Uint8Array {
  const p = m.parameter;
  if (!(p instanceof Uint8Array) || p.length !== size) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, `the parameter is a ${size}-byte IV`);
  }
  return p;
}

export type BlockMode = 'ecb' | 'cbc' | 'cbc-pad';

/**
 * ECB, CBC or CBC_PAD of `cipher` (AES unless named) with `key`: ECB takes no parameter, CBC a
 * `block`-byte IV.
 */
export function blockModeCipher(
  backend: CryptoBackend,
  m: RawMechanism,
  cipher: Pick<CipherSpec, 'cipher' | 'key'>,
  mode: BlockMode,
  block: number,
  encrypt: boolean,
): CipherOperation {
  const padding = mode === 'cbc-pad';
  if (mode === 'ecb') requireNoParameter(m);
  const iv = mode === 'ecb' ? {} : { iv: ivParam(m, block) };
  const cbcOrEcb = mode === 'ecb' ? 'ecb' : 'cbc';
  const stream = backend.createCipher({ ...cipher, mode: cbcOrEcb, ...iv, padding, encrypt });
  return blockCipher(stream, encrypt, padding, block);
}

/**
 * Bytes a block-cipher stream has released after `total` input bytes: whole blocks, except that a
 * padded decryption keeps the last block back until finish (it holds the padding).
 */
function released(total: number, block: number, holdLast: boolean): number {
  if (!holdLast) return total - (total % block);
  return Math.max(0, Math.ceil(total / block) - 1) * block;
}

/**
 * ECB, CBC and CBC_PAD: a stream that checks block alignment where the mode has no padding. Length
 * queries are exact (64 bytes of AES-ECB are 64), except a padded decryption's last block, whose padding
 * is only known once decrypted: up to a block less one byte.
 */
export function blockCipher(
  stream: CipherStream,
  encrypt: boolean,
  padded: boolean,
  block: number,
): CipherOperation {
  let seen = 0;
  const holdLast = padded && !encrypt;
  return {
    updateBound: (n) => released(seen + n, block, holdLast) - released(seen, block, holdLast),
    finishBound(pending) {
      const total = seen + pending;
      if (!padded) return 0;
      // Encryption ends with one whole padded block; decryption with the data of the last block.
      if (encrypt) return block;
      return total === 0 ? 0 : block - 1;
    },
    update(d) {
      seen += d.length;
      return stream.update(d);
    },
    finish() {
      if ((!padded || !encrypt) && seen % block !== 0) {
        throw lengthError(encrypt, `the input is not a whole number of ${block}-byte blocks`);
      }
      return stream.finish();
    },
  };
}

/** CFB and OFB: as many bytes out as in, at once. */
export function streamCipher(stream: CipherStream): CipherOperation {
  return {
    updateBound: (n) => n,
    finishBound: () => 0,
    update: (d) => stream.update(d),
    finish: () => stream.finish(),
  };
}

/**
 * A mode that acts once on its whole input (key wrap, XTS): collected, bounded (`max`), handed to `run`
 * at the end. `finishLength` is the output length for an input length.
 */
export function wholeInputCipher(
  encrypt: boolean,
  max: number,
  finishLength: (n: number) => number,
  run: (data: Uint8Array) => Uint8Array,
): CipherOperation {
  const input = new Collected(max, lengthCode(encrypt));
  let total = 0;
  return {
    updateBound: () => 0,
    finishBound: (pending) => finishLength(total + pending),
    update(d) {
      input.add(d);
      total += d.length;
      return new Uint8Array(0);
    },
    finish: () => run(input.take()),
  };
}
