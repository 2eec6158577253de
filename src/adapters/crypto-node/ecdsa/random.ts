/**
 * Random blinding values for the ECDSA arithmetic, drawn from the CSPRNG in chunks so one signature
 * does not pay for a `randomFillSync` call. Every byte is handed out once and zeroed when taken; a
 * chunk filled in another process (fork, snapshot) is thrown away, not reused.
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { bytesToBigInt } from '../../../util/bigint.js';
import type { CurveParams } from './curves.js';

/** Fills a buffer with cryptographically secure random bytes. */
export type FillRandom = (buffer: Uint8Array) => void;

export const fillFromCsprng: FillRandom = (buffer) => {
  randomFillSync(buffer);
};

/** Values per chunk: one chunk serves 64 signatures' worth of blinding. */
const CHUNK_VALUES = 128;
/** Extra random bits beyond the order, so reducing mod n leaves a bias below 2^-64. */
const EXTRA_BYTES = 8;

export class BlindingSource {
  readonly #n: bigint;
  readonly #width: number;
  readonly #fill: FillRandom;
  readonly #buffer: Uint8Array;
  #position: number;
  #pid = -1;

  constructor(params: CurveParams, fill: FillRandom = fillFromCsprng) {
    this.#n = params.n;
    this.#width = params.size + EXTRA_BYTES;
    this.#fill = fill;
    this.#buffer = new Uint8Array(CHUNK_VALUES * this.#width);
    this.#position = this.#buffer.length;
  }

  /** Bytes of a `wide()` value: 8·(size + 8) random bits. */
  get wideBits(): number {
    return 8 * this.#width;
  }

  /** A uniform integer in [0, 2^wideBits): an additive mask, used unreduced. */
  wide(): bigint {
    if (this.#position === this.#buffer.length || this.#pid !== process.pid) this.#refill();
    const x = bytesToBigInt(this.#buffer, this.#position, this.#width);
    this.#buffer.fill(0, this.#position, this.#position + this.#width);
    this.#position += this.#width;
    return x;
  }

  /** A (statistically) uniform scalar in [1, n − 1]. */
  scalar(): bigint {
    for (;;) {
      const x = this.wide() % this.#n;
      if (x !== 0n) return x;
    }
  }

  #refill(): void {
    this.#fill(this.#buffer);
    this.#position = 0;
    this.#pid = process.pid;
  }
}
