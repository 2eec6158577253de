/**
 * Message bodies (p11-kit rpc-message.c): call id, signature string, then the arguments, each read or written
 * by its signature code. One signature-driven codec serves both directions, so every call of the table
 * decodes and re-encodes the same way the server and the tests see it. Layer L7.
 * @module
 */
import type { Version } from '../pkcs11/types.js';
import {
  readAttributes,
  readQueries,
  type WireAttribute,
  type WireQuery,
  writeAttributes,
  writeQueries,
} from './attributes.js';
import { CALL_ERROR, CALLS, type CallSpec } from './calls.js';
import {
  hasNoParameterV2,
  readMechanism,
  type WireMechanism,
  writeMechanism,
} from './mechanisms.js';
import { malformed, WireReader, WireWriter } from './wire.js';

/** A byte-array argument: data (flag 1), NULL (flag 1, 0xffffffff) or a length without data (flag 0). */
export type ByteArrayArg = Uint8Array | null | { lengthOnly: number };
/** A ulong-array argument: values (flag 1) or a count without data (flag 0). */
export type UlongArrayArg = number[] | { lengthOnly: number };
/** `P` (C_DeriveKey2 reply): the updated parameter's presence for `mechanism`. */
export interface ParamUpdate {
  mechanism: number;
  present: boolean;
}

export type Arg =
  | number
  | Version
  | Uint8Array
  | ByteArrayArg
  | UlongArrayArg
  | WireQuery[]
  | WireAttribute[]
  | WireMechanism
  | ParamUpdate;

export type Code =
  | 'y'
  | 'u'
  | 'v'
  | 's'
  | 'z'
  | 'ay'
  | 'au'
  | 'fy'
  | 'fu'
  | 'fA'
  | 'aA'
  | 'M'
  | 'P';

export interface MessageLimits {
  /** Attributes per message, nested ones included. */
  maxAttributes: number;
  /** Entries of a C_GetAttributeValue query. */
  maxQueries: number;
  /** Elements of a ulong array (replies). */
  maxUlongs: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxAttributes: 4096,
  maxQueries: 4096,
  maxUlongs: 1 << 20,
};

export interface CodecContext {
  /** The protocol version negotiated on the connection (0, 1 or 2). */
  version: number;
  limits?: MessageLimits;
  /** For decoding a `P` reply: the mechanism type of the request. */
  mechanism?: number;
}

export type Direction = 'request' | 'reply';

const SIGNATURES = new Map<string, Code[]>();

/** A signature string split into codes ("uayfy" → u, ay, fy). */
export function parseSignature(sig: string): Code[] {
  const cached = SIGNATURES.get(sig);
  if (cached) return cached;
  const codes: Code[] = [];
  for (let i = 0; i < sig.length; i++) {
    const c = sig[i] as string;
    if (c === 'a' || c === 'f') {
      const next = sig[++i];
      if (next === undefined) throw new Error(`bad signature ${sig}`);
      codes.push(`${c}${next}` as Code);
    } else {
      codes.push(c as Code);
    }
  }
  SIGNATURES.set(sig, codes);
  return codes;
}

export function signatureOf(spec: CallSpec, dir: Direction): string {
  return dir === 'request' ? spec.request : spec.reply;
}

const ASCII = new TextDecoder('latin1');

/** The call id and signature at the start of a body; the reader is left at the first argument. */
export function readHead(body: Uint8Array): {
  callId: number;
  signature: string;
  reader: WireReader;
} {
  const reader = new WireReader(body);
  const callId = reader.uint32();
  const sig = reader.byteArray('signature');
  if (sig === null) throw malformed('NULL signature');
  if (sig.length > 64) throw malformed('signature too long');
  return { callId, signature: ASCII.decode(sig), reader };
}

/** True when the body's signature bytes at `reader` position are exactly `expected` (no decoding). */
export function readSignatureIs(reader: WireReader, expected: string): boolean {
  const sig = reader.byteArray('signature');
  if (sig === null || sig.length !== expected.length) return false;
  for (let i = 0; i < sig.length; i++) if (sig[i] !== expected.charCodeAt(i)) return false;
  return true;
}

/** Decodes the arguments for `codes`; the whole rest of the body must be consumed. */
export function readArgs(r: WireReader, codes: readonly Code[], ctx: CodecContext): Arg[] {
  const limits = ctx.limits ?? DEFAULT_MESSAGE_LIMITS;
  const budget = { left: limits.maxAttributes };
  const args: Arg[] = [];
  for (const code of codes) args.push(readArg(r, code, ctx, limits, budget));
  if (r.remaining !== 0) throw malformed(`${r.remaining} bytes after the last argument`);
  return args;
}

function readArg(
  r: WireReader,
  code: Code,
  ctx: CodecContext,
  limits: MessageLimits,
  budget: { left: number },
): Arg {
  switch (code) {
    case 'y':
      return r.byte();
    case 'u':
      return r.uint64();
    case 'v':
      return { major: r.byte(), minor: r.byte() };
    case 's':
    case 'z':
      return r.byteArray('string') ?? new Uint8Array(0);
    case 'ay':
      return r.byte() === 0 ? { lengthOnly: r.uint32() } : r.byteArray();
    case 'au': {
      if (r.byte() === 0) return { lengthOnly: r.uint32() };
      const n = r.count(8, limits.maxUlongs, 'ulong array');
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(r.uint64());
      return out;
    }
    case 'fy':
    case 'fu':
      return r.uint32();
    case 'fA':
      return readQueries(r, limits.maxQueries);
    case 'aA':
      return readAttributes(r, ctx.version, budget);
    case 'M':
      return readMechanism(r, ctx.version);
    case 'P': {
      const mechanism = ctx.mechanism ?? 0;
      if (hasNoParameterV2(mechanism)) return { mechanism, present: false };
      return { mechanism, present: r.byte() !== 0 };
    }
  }
}

/** Decodes a whole body whose call id must be in the table and whose signature must match it. */
export function decodeMessage(
  body: Uint8Array,
  dir: Direction,
  ctx: CodecContext,
): { call: CallSpec; args: Arg[] } {
  const { callId, signature, reader } = readHead(body);
  const call = CALLS[callId];
  if (call === undefined || (dir === 'request' && callId === CALL_ERROR)) {
    throw malformed(`unknown call id ${callId}`);
  }
  const expected = signatureOf(call, dir);
  if (signature !== expected)
    throw malformed(`${call.name}: signature '${signature}' ≠ '${expected}'`);
  return { call, args: readArgs(reader, parseSignature(expected), ctx) };
}

/**
 * Encodes a body. With `reserve`, the result starts with that many free bytes (room for the frame
 * header, so the reply goes out in one buffer without a copy).
 */
export function encodeMessage(
  callId: number,
  dir: Direction,
  args: readonly Arg[],
  ctx: CodecContext,
  reserve = 0,
): Uint8Array {
  const call = CALLS[callId];
  if (call === undefined) throw new RangeError(`rpc: no call ${callId}`);
  const sig = signatureOf(call, dir);
  const codes = parseSignature(sig);
  if (codes.length !== args.length) throw new RangeError(`rpc: ${call.name} takes ${codes.length}`);
  const w = new WireWriter();
  w.skip(reserve);
  w.uint32(callId).uint32(sig.length);
  for (let i = 0; i < sig.length; i++) w.byte(sig.charCodeAt(i));
  codes.forEach((code, i) => {
    writeArg(w, code, args[i] as Arg, ctx);
  });
  return w.finish();
}

/** The body of an ERROR reply carrying `rv` (after `reserve` free bytes). */
export function encodeError(rv: number, reserve = 0): Uint8Array {
  // p11-kit writes the CK_RV cut to 32 bits before widening it to 64 (rpc-message.c).
  return encodeMessage(CALL_ERROR, 'reply', [rv >>> 0], { version: 0 }, reserve);
}

function writeArg(w: WireWriter, code: Code, a: Arg, ctx: CodecContext): void {
  switch (code) {
    case 'y':
      w.byte(a as number);
      break;
    case 'u':
      w.uint64(a as number);
      break;
    case 'v': {
      const v = a as Version;
      w.byte(v.major).byte(v.minor);
      break;
    }
    case 's':
    case 'z':
      w.byteArray(a as Uint8Array);
      break;
    case 'ay': {
      const b = a as ByteArrayArg;
      if (b !== null && !(b instanceof Uint8Array)) w.byte(0).uint32(b.lengthOnly);
      else w.byte(1).byteArray(b);
      break;
    }
    case 'au': {
      const u = a as UlongArrayArg;
      if (!Array.isArray(u)) {
        w.byte(0).uint32(u.lengthOnly);
        break;
      }
      w.byte(1).uint32(u.length);
      for (const v of u) w.uint64(v);
      break;
    }
    case 'fy':
    case 'fu':
      w.uint32(a as number);
      break;
    case 'fA':
      writeQueries(w, a as WireQuery[]);
      break;
    case 'aA':
      writeAttributes(w, a as WireAttribute[]);
      break;
    case 'M':
      writeMechanism(w, a as WireMechanism, ctx.version);
      break;
    case 'P': {
      const p = a as ParamUpdate;
      if (!hasNoParameterV2(p.mechanism)) w.byte(p.present ? 1 : 0);
      break;
    }
  }
}
