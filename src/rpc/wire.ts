/**
 * Big-endian primitives of the p11-kit RPC wire format: a bounds-checked reader over one frame and a
 * growable writer. Every length read from the wire is checked against the bytes that remain before any
 * allocation or slicing (CVE-2020-29361/29362 are the checklist); a failure throws CKR_DEVICE_ERROR, which
 * is what p11-kit itself reports for a message it cannot parse. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import { CKR_DEVICE_ERROR } from '../pkcs11/constants.js';

const TWO_32 = 0x1_0000_0000;
const TWO_64 = 2 ** 64;
const TWO_63 = 2 ** 63;
/** The largest double below 2^63. */
const BELOW_TWO_63 = TWO_63 - 1024;
/** A byte-array length of 0xffffffff encodes a NULL pointer. */
export const NULL_LENGTH = 0xffff_ffff;
/** p11-kit refuses byte-array lengths from 0x7fffffff up; so do we. */
const MAX_BYTE_ARRAY = 0x7fff_ffff;

/** The big-endian uint32 at `at` (the caller checked the bounds). No DataView: one per message cost more than the read. */
export function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

/** Writes `v` as a big-endian uint32 at `at` (the caller made room). */
export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** The error for input that does not parse. */
export function malformed(detail: string): Pkcs11Error {
  return new Pkcs11Error(CKR_DEVICE_ERROR, `rpc: ${detail}`);
}

/** Reads one message; never reads past `end`, never returns a view longer than what is there. */
export class WireReader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  get position(): number {
    return this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#end - this.#pos) throw malformed(`${what} runs past the end of the message`);
  }

  byte(): number {
    this.#need(1, 'byte');
    return this.#buf[this.#pos++] as number;
  }

  uint32(): number {
    this.#need(4, 'uint32');
    const v = readU32(this.#buf, this.#pos);
    this.#pos += 4;
    return v;
  }

  /**
   * A 64-bit CK_ULONG as a JS number. Values from 2^63 up read as negative (0xffff…ff is -1, the
   * project's CK_UNAVAILABLE_INFORMATION); values between 2^53 and 2^63 lose precision, which only a
   * hostile peer can send and which then names no valid handle. One just below 2^63 would round up
   * to 2^63, which writes back as -2^63: it reads as the largest number below 2^63 instead, so that
   * what is read writes back to bytes that read the same.
   */
  uint64(): number {
    this.#need(8, 'uint64');
    const hi = readU32(this.#buf, this.#pos);
    const lo = readU32(this.#buf, this.#pos + 4);
    this.#pos += 8;
    const v = (hi >= 0x8000_0000 ? hi - TWO_32 : hi) * TWO_32 + lo;
    return v >= TWO_63 ? BELOW_TWO_63 : v;
  }

  /** A 64-bit value kept exact, for attribute values that travel back unchanged. */
  uint64Big(): bigint {
    this.#need(8, 'uint64');
    const v =
      (BigInt(readU32(this.#buf, this.#pos)) << 32n) | BigInt(readU32(this.#buf, this.#pos + 4));
    this.#pos += 8;
    return v;
  }

  /** `n` bytes as a view into the message (the message buffer is owned by this frame). */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.#need(n, what);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** The bytes from `start` to the current position. */
  span(start: number): Uint8Array {
    return this.#buf.subarray(start, this.#pos);
  }

  /** uint32 length + bytes; 0xffffffff is NULL. */
  byteArray(what = 'byte array'): Uint8Array | null {
    const len = this.uint32();
    if (len === NULL_LENGTH) return null;
    if (len >= MAX_BYTE_ARRAY) throw malformed(`${what} length ${len} is too large`);
    return this.bytes(len, what);
  }

  /**
   * A count that announces `count` items of at least `minItemSize` bytes each: refused when the
   * message cannot hold them or when it exceeds `cap`, so nothing is allocated for a lie.
   */
  count(minItemSize: number, cap: number, what: string): number {
    const n = this.uint32();
    if (n > cap) throw malformed(`${what} count ${n} exceeds the limit ${cap}`);
    if (n * minItemSize > this.remaining) throw malformed(`${what} count ${n} exceeds the message`);
    return n;
  }
}

/**
 * Builds one message. Its buffer comes from Node's pool of small allocations (a fresh ArrayBuffer per
 * reply cost more than encoding it); only bytes written are ever part of the result.
 */
export class WireWriter {
  #buf: Uint8Array;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    const want = this.#len + n;
    if (want <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < want) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** `n` zero bytes, to be filled in later (a frame header). */
  skip(n: number): this {
    this.#room(n);
    this.#buf.fill(0, this.#len, this.#len + n);
    this.#len += n;
    return this;
  }

  byte(v: number): this {
    this.#room(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  uint32(v: number): this {
    this.#room(4);
    writeU32(this.#buf, this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  /**
   * A CK_ULONG as uint64; negative numbers in two's complement (-1 is 0xffff…ff). 2^64 and above, which
   * is what ~0UL becomes as a double, saturate to all ones.
   */
  uint64(value: number): this {
    if (!Number.isInteger(value)) throw new RangeError(`rpc: ${value} is not an integer CK_ULONG`);
    const v = value >= TWO_64 ? -1 : value;
    this.#room(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    writeU32(this.#buf, this.#len, hi >>> 0);
    writeU32(this.#buf, this.#len + 4, lo >>> 0);
    this.#len += 8;
    return this;
  }

  uint64Big(v: bigint): this {
    this.#room(8);
    const u = BigInt.asUintN(64, v);
    writeU32(this.#buf, this.#len, Number(u >> 32n));
    writeU32(this.#buf, this.#len + 4, Number(u & 0xffff_ffffn));
    this.#len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** uint32 length + bytes, or 0xffffffff for NULL. */
  byteArray(b: Uint8Array | null): this {
    if (b === null) return this.uint32(NULL_LENGTH);
    return this.uint32(b.length).bytes(b);
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}
