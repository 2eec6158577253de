/**
 * Private EC keys by their public point, so that verifying with a public key whose private half the
 * application can use runs with d. The prehashed verifier (crypto-node/ecdsa/ecdsa-key.ts) then needs
 * two fixed-base products from OpenSSL instead of a variable-base one through ECDH, whose key-pair
 * re-validation makes it ~0.45x `crypto.verify`; with d it is ~1.5x. The verdict is the same either way (u·G with
 * u = (e + r·d)/s is (e/s)·G + (r/s)·Q), and d only enters blinded arithmetic.
 *
 * Entries are weak: the index never keeps a destroyed or forgotten object alive, and the caller checks
 * that the application may use the object it gets back. Layer L5.
 * @module
 */
import type { TokenObject } from '../objects/object.js';

export class EcPartners {
  readonly #byPoint = new Map<string, WeakRef<TokenObject>>();
  readonly #gone = new FinalizationRegistry<string>((point) => {
    if (this.#byPoint.get(point)?.deref() === undefined) this.#byPoint.delete(point);
  });

  /** Records `privateKey` as holding the scalar of the public point `point` (a key from pointKey). */
  remember(point: string, privateKey: TokenObject): void {
    if (this.#byPoint.get(point)?.deref() === privateKey) return;
    this.#byPoint.set(point, new WeakRef(privateKey));
    this.#gone.register(privateKey, point);
  }

  /** The private key last recorded for `point`, if it still exists in memory. */
  lookup(point: string): TokenObject | undefined {
    return this.#byPoint.get(point)?.deref();
  }

  /** Entries held (for tests). */
  get size(): number {
    return this.#byPoint.size;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The index key of an uncompressed EC point (its length tells the curve apart). */
export function pointKey(point: Uint8Array): string {
  let s = '';
  for (const b of point) s += HEX[b];
  return s;
}
