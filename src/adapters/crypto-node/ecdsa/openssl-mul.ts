/**
 * Scalar multiplications done by OpenSSL through node:crypto's ECDH object: `setPrivateKey(k)` computes
 * k·G with OpenSSL's constant-time fixed-base code (the same routine its own ECDSA uses for the
 * nonce), `computeSecret(T)` returns x(k·T). These are the only EC operations on secrets.
 * @module
 */
import { createECDH, ECDH } from 'node:crypto';
import { Pkcs11Error } from '../../../errors.js';
import { CKR_FUNCTION_FAILED } from '../../../pkcs11/constants.js';
import { bytesToBigInt } from '../../../util/bigint.js';
import type { CurveParams } from './curves.js';
import { type AffinePoint, encodeUncompressed } from './point.js';

export class OpensslMultiplier {
  readonly #params: CurveParams;
  readonly #ecdh: ECDH;

  constructor(params: CurveParams) {
    this.#params = params;
    this.#ecdh = createECDH(params.opensslName);
  }

  /** x(k·G) as `size` big-endian bytes; k is `size` bytes in [1, n − 1]. The view is valid until the next call. */
  baseX(k: Uint8Array): Uint8Array {
    try {
      this.#ecdh.setPrivateKey(k);
      return this.#ecdh.getPublicKey(null, 'compressed').subarray(1);
    } catch (cause) {
      throw failed('k·G', cause);
    }
  }

  /** k·G as an affine point. */
  basePoint(k: Uint8Array): AffinePoint {
    const size = this.#params.size;
    try {
      this.#ecdh.setPrivateKey(k);
      const pub = this.#ecdh.getPublicKey();
      return { x: bytesToBigInt(pub, 1, size), y: bytesToBigInt(pub, 1 + size, size) };
    } catch (cause) {
      throw failed('k·G', cause);
    }
  }

  /** x(k·T) as `size` bytes, for a point T on the curve (OpenSSL checks it again). */
  productX(k: Uint8Array, t: AffinePoint): Uint8Array {
    try {
      this.#ecdh.setPrivateKey(k);
      return this.#ecdh.computeSecret(encodeUncompressed(this.#params, t));
    } catch (cause) {
      throw failed('k·T', cause);
    }
  }

  /** 04‖X‖Y for a SEC 1 compressed point (02/03‖X), or undefined when OpenSSL rejects it. */
  decompress(point: Uint8Array): Uint8Array | undefined {
    try {
      const out = ECDH.convertKey(
        point,
        this.#params.opensslName,
        undefined,
        undefined,
        'uncompressed',
      );
      return typeof out === 'string' ? undefined : out;
    } catch {
      return undefined;
    }
  }
}

function failed(what: string, cause: unknown): Pkcs11Error {
  return new Pkcs11Error(CKR_FUNCTION_FAILED, `OpenSSL ${what} failed`, { cause });
}
