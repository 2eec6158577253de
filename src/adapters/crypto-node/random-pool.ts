/**
 * Random bytes for small requests, drawn from a pool the CSPRNG refills 4 KiB at a time:
 * `randomFillSync` costs ~1.9 µs a call here whatever the size up to a few hundred bytes, the pool
 * ~0.1 µs. Every byte is handed out once and zeroed in the pool as it is taken, and a pool filled in
 * another process (a fork) is discarded, never shared. Larger requests go to the CSPRNG directly.
 *
 * C_SeedRandom's seed is mixed in, never trusted as entropy: every seed is hashed into a 256-bit key, and
 * from then on every draw from the CSPRNG is encrypted under it (AES-256-CTR, a fresh counter block per
 * draw), i.e. XORed with a keystream the seeds determine. The OS CSPRNG stays the source: its output
 * XOR anything independent of it is as unpredictable as it was, whatever a caller seeds.
 * @module
 */
import { createCipheriv, createHash, randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
/** Requests above this size are filled directly. */
const POOLED_MAX = 256;

export class RandomPool {
  readonly #pool = new Uint8Array(POOL_SIZE);
  readonly #fill: (buffer: Uint8Array) => void;
  #position = POOL_SIZE;
  #pid = -1;
  /** SHA-256 chain of every seed mixed in; none until the first. */
  #mixKey: Buffer | undefined;
  /** Counter blocks used so far under #mixKey: no keystream block is ever used twice. */
  #blocks = 0n;

  /** `fill` is the CSPRNG unless a test needs to watch it. */
  constructor(fill: (buffer: Uint8Array) => void = (b) => randomFillSync(b)) {
    this.#fill = fill;
  }

  /** Mixes a caller's seed into every byte drawn from now on (the pool left from before is dropped). */
  mix(seed: Uint8Array): void {
    const h = createHash('sha256');
    if (this.#mixKey) h.update(this.#mixKey);
    this.#mixKey = h.update(seed).digest();
    this.#blocks = 0n;
    this.#pool.fill(0);
    this.#position = POOL_SIZE;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    if (length > POOLED_MAX) {
      // randomFillSync is limited to 2^31-1 bytes per call; callers bound lengths far below that.
      this.#draw(out);
      return out;
    }
    if (this.#position + length > POOL_SIZE || this.#pid !== process.pid) {
      this.#draw(this.#pool);
      this.#position = 0;
      this.#pid = process.pid;
    }
    const end = this.#position + length;
    out.set(this.#pool.subarray(this.#position, end));
    this.#pool.fill(0, this.#position, end);
    this.#position = end;
    return out;
  }

  /** Fills `buffer` from the CSPRNG, then applies the seeds' keystream when there are seeds. */
  #draw(buffer: Uint8Array): void {
    this.#fill(buffer);
    const key = this.#mixKey;
    if (!key || buffer.length === 0) return;
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(this.#blocks, 8);
    this.#blocks += BigInt(Math.ceil(buffer.length / 16));
    const mixed = createCipheriv('aes-256-ctr', key, iv).update(buffer);
    buffer.set(mixed);
    mixed.fill(0);
  }
}
