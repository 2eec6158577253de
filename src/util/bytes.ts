/**
 * Byte helpers on Uint8Array (no Buffer below the API layer): concatenation, comparison, CK_ULONG and
 * CK_BBOOL encodings, hex, zeroization. Layer L1.
 * @module
 */

/** Size of CK_ULONG on the LP64 platforms we serve (Linux, macOS x86-64/arm64): 8 bytes, little-endian. */
export const ULONG_SIZE = 8;

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Byte equality (not constant-time; use the crypto backend's for secrets). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Encodes a CK_ULONG (an integer 0 ≤ v < 2^64) as 8 little-endian bytes. Byte by byte, not through a
 * DataView: a DataView over a fresh buffer costs ten times the whole encoding, and this runs for every
 * CK_ULONG attribute of every object made.
 */
export function encodeUlong(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** 64) throw new RangeError(`not a CK_ULONG: ${v}`);
  const out = new Uint8Array(ULONG_SIZE);
  if (v > Number.MAX_SAFE_INTEGER) {
    new DataView(out.buffer).setBigUint64(0, BigInt(v), true); // rare: no two-halves split is exact up there
    return out;
  }
  const low = v >>> 0;
  const high = Math.floor(v / 0x1_0000_0000);
  out[0] = low;
  out[1] = low >>> 8;
  out[2] = low >>> 16;
  out[3] = low >>> 24;
  out[4] = high;
  out[5] = high >>> 8;
  out[6] = high >>> 16;
  out[7] = high >>> 24;
  return out;
}

/**
 * Decodes a CK_ULONG from 8 (native) or 4 (32-bit client) little-endian bytes. Returns undefined for other
 * lengths or values beyond 2^53 (never valid for anything we interpret as a number).
 */
export function decodeUlong(b: Uint8Array): number | undefined {
  // Byte reads, not a DataView or a BigInt: this runs for every attribute read (CKA_CLASS on each access check).
  const u32 = (i: number) =>
    ((b[i] as number) |
      ((b[i + 1] as number) << 8) |
      ((b[i + 2] as number) << 16) |
      ((b[i + 3] as number) << 24)) >>>
    0;
  if (b.length === 4) return u32(0);
  if (b.length !== ULONG_SIZE) return undefined;
  const high = u32(4);
  if (high > 0x1fffff) return undefined; // beyond 2^53 - 1
  return high * 0x1_0000_0000 + u32(0);
}

export function encodeBool(v: boolean): Uint8Array {
  const out = new Uint8Array(1); // a fresh array each time: callers may keep or wipe it
  if (v) out[0] = 1;
  return out;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new RangeError('invalid hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** `b` right-aligned in `width` zero bytes: a big-endian integer left-padded (the caller checks it fits). */
export function leftPad(b: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(width);
  out.set(b, width - b.length);
  return out;
}

/** Big-endian unsigned integer bytes without leading zeros (at least one byte). */
export function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** A fixed-width CK_UTF8CHAR field: UTF-8, blank-padded (or truncated on a character boundary). */
export function blankPadded(s: string, width: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = utf8(ch).length;
    if (bytes + n > width) break;
    out += ch;
    bytes += n;
  }
  return out + ' '.repeat(width - bytes);
}
