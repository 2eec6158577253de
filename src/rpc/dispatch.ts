/**
 * One request body in, one reply body out, never a throw: unknown and unimplemented calls get
 * CKR_FUNCTION_NOT_SUPPORTED, bodies that do not parse get CKR_DEVICE_ERROR (p11-kit's PARSE_ERROR),
 * engine errors their CK_RV and anything else CKR_GENERAL_ERROR. Unlike p11-kit's server, which hangs
 * up on a bad call id or signature, the connection stays usable: frames are length-delimited, so the
 * stream is still in step. Layer L7.
 * @module
 */
import { ckrName, isPkcs11Error, toRv } from '../errors.js';
import { CKR_DEVICE_ERROR, CKR_FUNCTION_NOT_SUPPORTED, CKR_OK } from '../pkcs11/constants.js';
import { Args } from './args.js';
import { CALL_ERROR, CALLS } from './calls.js';
import { HANDLERS, type HandlerContext } from './handlers.js';
import {
  type Arg,
  type CodecContext,
  encodeError,
  encodeMessage,
  type MessageLimits,
  parseSignature,
  readArgs,
  readSignatureIs,
} from './message.js';
import { WireReader } from './wire.js';

export interface DispatchContext extends HandlerContext {
  limits: MessageLimits;
  /** Reports what was answered with an error and why (engine detail never goes on the wire). */
  log?: (event: DispatchEvent) => void;
}

export interface DispatchEvent {
  call: string;
  rv: number;
  detail: string;
  /** Set for failures that are not a Pkcs11Error: a bug in the engine or here. */
  error?: unknown;
}

/**
 * Handles one request body; the result is synchronous whenever the handler is. The reply starts with
 * `reserve` free bytes (room for the frame header).
 */
export function dispatch(
  body: Uint8Array,
  ctx: DispatchContext,
  reserve = 0,
): Uint8Array | Promise<Uint8Array> {
  let name = 'request';
  try {
    const reader = new WireReader(body);
    const callId = reader.uint32();
    const call = CALLS[callId];
    if (call === undefined || callId === CALL_ERROR) {
      return fail(ctx, reserve, `call ${callId}`, CKR_FUNCTION_NOT_SUPPORTED, 'unknown call id');
    }
    name = call.name;
    if (!readSignatureIs(reader, call.request)) {
      return fail(ctx, reserve, name, CKR_DEVICE_ERROR, `signature is not '${call.request}'`);
    }
    const handler = HANDLERS[callId];
    if (handler === undefined) {
      return fail(ctx, reserve, name, CKR_FUNCTION_NOT_SUPPORTED, 'not implemented by the engine');
    }
    const codec: CodecContext = { version: ctx.version, limits: ctx.limits };
    const args = new Args(readArgs(reader, parseSignature(call.request), codec));
    const result = handler(args, ctx);
    if (result instanceof Promise) {
      return result.then(
        (r) => reply(ctx, reserve, callId, r, codec),
        (e: unknown) => failWith(ctx, reserve, name, e),
      );
    }
    return reply(ctx, reserve, callId, result, codec);
  } catch (e) {
    return failWith(ctx, reserve, name, e);
  }
}

function reply(
  ctx: DispatchContext,
  reserve: number,
  callId: number,
  args: Arg[],
  codec: CodecContext,
): Uint8Array {
  try {
    return encodeMessage(callId, 'reply', args, codec, reserve);
  } catch (e) {
    return failWith(ctx, reserve, CALLS[callId]?.name ?? 'reply', e);
  }
}

function failWith(ctx: DispatchContext, reserve: number, call: string, e: unknown): Uint8Array {
  const rv = toRv(e);
  if (isPkcs11Error(e)) {
    return fail(ctx, reserve, call, rv === CKR_OK ? CKR_DEVICE_ERROR : rv, e.detail ?? '');
  }
  return fail(ctx, reserve, call, rv, e instanceof Error ? e.message : String(e), e);
}

function fail(
  ctx: DispatchContext,
  reserve: number,
  call: string,
  rv: number,
  detail: string,
  error?: unknown,
): Uint8Array {
  ctx.log?.({ call, rv, detail: detail || ckrName(rv), ...(error === undefined ? {} : { error }) });
  return encodeError(rv, reserve);
}
