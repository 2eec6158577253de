/**
 * ECDSA nonces, prepared in batches so that the modular inversion — the costliest BigInt step — is
 * paid once per batch (Montgomery's trick) and never touches an unblinded nonce.
 *
 * Each nonce k is drawn from the CSPRNG and rejection-sampled into [1, n − 1]. The batch keeps k as
 * bytes (for OpenSSL's constant-time k·G at signing time) together with a fresh random β and
 * w = (k·β)⁻¹ mod n. Only the products k·β — uniform and independent of k — go through the prefix
 * products and the single inversion. A nonce is moved out exactly once (its bytes are zeroed in the
 * pool as it is taken), and a batch filled in another process is discarded, so neither a fork nor a
 * restored snapshot can replay one.
 * @module
 */
import { bytesToBigInt, modInverse } from '../../../util/bigint.js';
import type { CurveParams } from './curves.js';
import type { BlindingSource, FillRandom } from './random.js';
import { fillFromCsprng } from './random.js';

export interface NoncePoolOptions {
  /** Nonces prepared per inversion. */
  readonly batch?: number;
  /** Source of nonce candidates; the CSPRNG unless a test replays known nonces. */
  readonly drawNonce?: FillRandom;
}

/** The blinded inverse that goes with a nonce: w = (k·β)⁻¹ mod n. */
export interface BlindedNonce {
  readonly w: bigint;
  readonly beta: bigint;
}

export const DEFAULT_BATCH = 64;

export class NoncePool {
  readonly #params: CurveParams;
  readonly #blinds: BlindingSource;
  readonly #drawNonce: FillRandom;
  readonly #batch: number;
  readonly #topMask: number;
  /** batch·size bytes; each slot is zeroed when its nonce is taken. */
  readonly #k: Uint8Array;
  readonly #w: bigint[];
  readonly #beta: bigint[];
  #next: number;
  #pid = -1;

  constructor(params: CurveParams, blinds: BlindingSource, options: NoncePoolOptions = {}) {
    const batch = options.batch ?? DEFAULT_BATCH;
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError('batch must be a positive integer');
    this.#params = params;
    this.#blinds = blinds;
    this.#drawNonce = options.drawNonce ?? fillFromCsprng;
    this.#batch = batch;
    this.#topMask = 0xff >> (params.size * 8 - params.orderBits);
    this.#k = new Uint8Array(batch * params.size);
    this.#w = new Array<bigint>(batch).fill(0n);
    this.#beta = new Array<bigint>(batch).fill(0n);
    this.#next = batch;
  }

  /** Nonces left before the next batch is prepared (for tests and diagnostics). */
  get remaining(): number {
    return this.#pid === process.pid ? this.#batch - this.#next : 0;
  }

  /**
   * Moves the next unused nonce into `k` (exactly `size` bytes, big-endian) and returns its blinded
   * inverse. The pool forgets the nonce: it is never handed out again.
   */
  take(k: Uint8Array): BlindedNonce {
    if (this.#next === this.#batch || this.#pid !== process.pid) this.#refill();
    const i = this.#next++;
    const size = this.#params.size;
    k.set(this.#k.subarray(i * size, (i + 1) * size));
    this.#k.fill(0, i * size, (i + 1) * size);
    const nonce = { w: this.#w[i] ?? 0n, beta: this.#beta[i] ?? 0n };
    this.#w[i] = 0n;
    this.#beta[i] = 0n;
    return nonce;
  }

  #refill(): void {
    const { n, lengthPad } = this.#params;
    const batch = this.#batch;
    this.#drawNonce(this.#k);
    // u_i = (k_i + pad)·β_i ≡ k_i·β_i: uniform, so everything below sees only masked values.
    const u = new Array<bigint>(batch);
    for (let i = 0; i < batch; i++) {
      const beta = this.#blinds.scalar();
      this.#beta[i] = beta;
      u[i] = ((this.#sample(i) + lengthPad) * beta) % n;
    }
    // Montgomery's trick: one inversion of the product, then two multiplications per element.
    const prefix = new Array<bigint>(batch);
    let acc = 1n;
    for (let i = 0; i < batch; i++) {
      acc = (acc * (u[i] ?? 1n)) % n;
      prefix[i] = acc;
    }
    let inverse = modInverse(acc, n);
    for (let i = batch - 1; i > 0; i--) {
      this.#w[i] = (inverse * (prefix[i - 1] ?? 1n)) % n;
      inverse = (inverse * (u[i] ?? 1n)) % n;
    }
    this.#w[0] = inverse;
    this.#next = 0;
    this.#pid = process.pid;
  }

  /** Rejection sampling of slot i into [1, n − 1] (FIPS 186-4 B.5.2 style, whole candidates redrawn). */
  #sample(i: number): bigint {
    const { n, size } = this.#params;
    const slot = this.#k.subarray(i * size, (i + 1) * size);
    for (;;) {
      slot[0] = (slot[0] ?? 0) & this.#topMask;
      const k = bytesToBigInt(slot);
      if (k !== 0n && k < n) return k;
      this.#drawNonce(slot);
    }
  }
}
