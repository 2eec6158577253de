/**
 * Typed access to decoded arguments, and the conversions between engine results and reply arguments
 * (C output buffers, ulong arrays, blank-padded fixed strings). The codec has already checked each
 * argument against the call's signature, so a position's type is known; the accessors only name it.
 * Layer L7.
 * @module
 */
import { isPkcs11Error, Pkcs11Error } from '../errors.js';
import { CKR_ARGUMENTS_BAD, CKR_BUFFER_TOO_SMALL } from '../pkcs11/constants.js';
import type { Output, RawAttribute, RawMechanism } from '../pkcs11/types.js';
import { toRawTemplate, type WireAttribute, type WireQuery } from './attributes.js';
import { NULL_MECHANISM, toRawMechanism, type WireMechanism } from './mechanisms.js';
import type { Arg, ByteArrayArg, UlongArrayArg } from './message.js';

export class Args {
  readonly #list: readonly Arg[];

  constructor(list: readonly Arg[]) {
    this.#list = list;
  }

  /** `u`, `y`, `fy`, `fu`. */
  num(i: number): number {
    return this.#list[i] as number;
  }

  /** `ay` as input data: NULL with length 0 is empty; NULL with a length is the caller's error. */
  bytes(i: number): Uint8Array {
    const a = this.#list[i] as ByteArrayArg;
    if (a === null) return new Uint8Array(0);
    if (a instanceof Uint8Array) return a;
    if (a.lengthOnly === 0) return new Uint8Array(0);
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'NULL data pointer with a non-zero length');
  }

  /**
   * `ay` as a PIN: a NULL pointer (no protected authentication path here) is CKR_ARGUMENTS_BAD, decided
   * before the token sees the call, so it is never checked, and never spends a try, as a wrong PIN.
   */
  pin(i: number): Uint8Array {
    const a = this.#list[i] as ByteArrayArg;
    if (a instanceof Uint8Array) return a;
    throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'NULL PIN (no protected authentication path)');
  }

  /** `ay` kept as sent (C_Initialize's handshake and reserved string). */
  raw(i: number): ByteArrayArg {
    return this.#list[i] as ByteArrayArg;
  }

  /** `s`, `z`. */
  str(i: number): Uint8Array {
    return this.#list[i] as Uint8Array;
  }

  template(i: number): RawAttribute[] {
    return toRawTemplate(this.#list[i] as WireAttribute[]);
  }

  queries(i: number): WireQuery[] {
    return this.#list[i] as WireQuery[];
  }

  wireMechanism(i: number): WireMechanism {
    return this.#list[i] as WireMechanism;
  }

  mechanism(i: number): RawMechanism {
    return toRawMechanism(this.#list[i] as WireMechanism);
  }

  /** A C_*Init's mechanism: null for the NULL mechanism (0.25+), PKCS#11 3.0's cancel. */
  initMechanism(i: number): RawMechanism | null {
    const m = this.#list[i] as WireMechanism;
    return m.type === NULL_MECHANISM ? null : toRawMechanism(m);
  }
}

/** `fy` room 0xffffffff: p11-kit 0.25+ clients' way to say "a buffer, of length 0". */
const EMPTY_BUFFER = 0xffff_ffff;

/**
 * `fy` room → the engine's capacity: 0 is a NULL buffer (a length query); 0xffffffff, sent by p11-kit
 * 0.25 and later whatever the negotiated version, is a non-NULL buffer of length 0.
 */
export function capacity(room: number): number | null {
  if (room === 0) return null;
  return room === EMPTY_BUFFER ? 0 : room;
}

/**
 * An engine Output as the `ay` reply p11-kit's server writes: the data when it fits, or flag 0 and the
 * length (the client turns that into CKR_OK for a NULL buffer, CKR_BUFFER_TOO_SMALL otherwise); a NULL
 * result of length 0 is written as a NULL array.
 */
export function outBytes(out: Output, room: number): ByteArrayArg {
  const cap = capacity(room);
  if (out.bytes === null || cap === null || out.bytes.length > cap) {
    return out.length === 0 ? null : { lengthOnly: out.length };
  }
  return out.bytes;
}

/** CKR_BUFFER_TOO_SMALL with a known length, as the length reply; any other error thrown on. */
function lengthReply(e: unknown): ByteArrayArg {
  if (isPkcs11Error(e, CKR_BUFFER_TOO_SMALL) && e.requiredLength !== undefined) {
    return { lengthOnly: e.requiredLength };
  }
  throw e;
}

/** Runs an output-buffer call, turning CKR_BUFFER_TOO_SMALL with a known length into a length reply. */
export async function withOutput(
  room: number,
  run: (capacity: number | null) => Output | Promise<Output>,
): Promise<ByteArrayArg> {
  try {
    return outBytes(await run(capacity(room)), room);
  } catch (e) {
    return lengthReply(e);
  }
}

/** The synchronous form of withOutput, for the hot paths that need no promise. */
export function withOutputSync(
  room: number,
  run: (capacity: number | null) => Output,
): ByteArrayArg {
  try {
    return outBytes(run(capacity(room)), room);
  } catch (e) {
    return lengthReply(e);
  }
}

/** A full list as an `au` reply for a caller with room for `room` elements. */
export function outUlongs(list: readonly number[], room: number): UlongArrayArg {
  return room === 0 || room < list.length ? { lengthOnly: list.length } : [...list];
}

const UTF8 = new TextEncoder();

/** A CK_UTF8CHAR field of exactly `width` bytes, blank padded (the client insists on the width). */
export function fixed(text: string, width: number): Uint8Array {
  const out = new Uint8Array(width).fill(0x20);
  const bytes = UTF8.encode(text);
  out.set(bytes.subarray(0, width));
  return out;
}
