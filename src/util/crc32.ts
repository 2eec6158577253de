/**
 * CRC-32 (IEEE 802.3, reflected, as zlib computes it): detects torn or corrupted records in storage.
 * Not a defence against tampering (that is the job of the MAC and AEAD on protected records). Two
 * helpers read damaged storage without guessing: `crc32BitError` locates the one flipped bit that
 * explains a mismatch (unique for the short lengths where CRC-32 has distance ≥ 3, else none is
 * named), and `crc32Suffix` finds the 4 bytes that complete a prefix to a given CRC (how a flash entry
 * whose sector header is unreadable still names its sector's sequence number). Layer L1.
 * @module
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** TABLE index by the entry's top byte (all 256 top bytes differ, which makes the CRC invertible). */
const BY_TOP = (() => {
  const t = new Uint8Array(256);
  for (let n = 0; n < 256; n++) t[(TABLE[n] as number) >>> 24] = n;
  return t;
})();

export function crc32(data: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const b of data) c = (TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** The 4 bytes `s` with crc32(s, prefixCrc) === target (there is always exactly one). */
export function crc32Suffix(prefixCrc: number, target: number): Uint8Array {
  // Walk back from the final register: its top byte names the table entry each step used.
  const idx = new Uint8Array(4);
  let reg = ~target >>> 0;
  for (let k = 3; k >= 0; k--) {
    const i = BY_TOP[reg >>> 24] as number;
    idx[k] = i;
    reg = ((reg ^ (TABLE[i] as number)) << 8) >>> 0;
  }
  const out = new Uint8Array(4);
  reg = ~prefixCrc >>> 0;
  for (let k = 0; k < 4; k++) {
    out[k] = ((idx[k] as number) ^ reg) & 0xff;
    reg = ((TABLE[idx[k] as number] as number) ^ (reg >>> 8)) >>> 0;
  }
  return out;
}

/** Where one flipped bit explains a CRC mismatch. */
export type BitError = { byte: number; bit: number } | 'crc';

/**
 * The single flipped bit that makes `data` (its first `searchBytes` bytes; the rest is known good)
 * miss `expected`: a bit of the data, or 'crc' when the data is right and one bit of the stored CRC
 * flipped. Undefined when the CRC already matches, when no single bit explains it, or when two would
 * (possible past ~11 KiB, where CRC-32's distance drops to 2): then nothing is corrected.
 */
export function crc32BitError(
  data: Uint8Array,
  expected: number,
  searchBytes = data.length,
  seed = 0,
): BitError | undefined {
  // For equal lengths crc(a) ^ crc(b) is the zero-initialised CRC of a ^ b: a flip of bit `bit` in
  // byte j gives TABLE[1 << bit] carried through the data.length - 1 - j zero bytes after it.
  const syndrome = (crc32(data, seed) ^ expected) >>> 0;
  if (syndrome === 0) return undefined;
  if ((syndrome & (syndrome - 1)) === 0) return 'crc';
  const regs = Array.from({ length: 8 }, (_, b) => TABLE[1 << b] as number);
  let found: BitError | undefined;
  for (let j = data.length - 1; j >= 0; j--) {
    for (let b = 0; b < 8; b++) {
      const r = regs[b] as number;
      if (r === syndrome && j < searchBytes) {
        if (found) return undefined;
        found = { byte: j, bit: b };
      }
      regs[b] = ((TABLE[r & 0xff] as number) ^ (r >>> 8)) >>> 0;
    }
  }
  return found;
}

/** A copy of `data` with the bit of `e` flipped (data unchanged for a 'crc' error). */
export function withBitFlipped(data: Uint8Array, e: BitError): Uint8Array {
  const out = data.slice();
  if (e !== 'crc') out[e.byte] = (out[e.byte] as number) ^ (1 << e.bit);
  return out;
}
