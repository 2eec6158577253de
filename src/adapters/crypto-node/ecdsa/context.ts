/**
 * Per-curve state shared by every key of a curve in this process: the OpenSSL multiplier, the nonce
 * pool and the blinding source. Nonces are independent of the key, so one pool per curve serves all
 * keys and a rarely used key still signs from a warm pool. Signing is synchronous, so the shared
 * scratch buffer is never used by two calls at once.
 * @module
 */
import { CURVES, type CurveParams, type EcdsaCurve } from './curves.js';
import { NoncePool, type NoncePoolOptions } from './nonce-pool.js';
import { OpensslMultiplier } from './openssl-mul.js';
import { BlindingSource, type FillRandom } from './random.js';

export interface CurveContext {
  readonly params: CurveParams;
  readonly mul: OpensslMultiplier;
  readonly nonces: NoncePool;
  readonly blinds: BlindingSource;
  /** Holds one nonce between the pool and OpenSSL; zeroed right after use. */
  readonly nonceScratch: Uint8Array;
}

export interface CurveContextOptions extends NoncePoolOptions {
  /** Source of blinding randomness; the CSPRNG unless a test needs to control it. */
  readonly fillRandom?: FillRandom;
}

/** A fresh context (tests use this to replay known nonces); production code uses `sharedContext`. */
export function createCurveContext(
  params: CurveParams,
  options: CurveContextOptions = {},
): CurveContext {
  const blinds = new BlindingSource(params, options.fillRandom);
  return {
    params,
    mul: new OpensslMultiplier(params),
    nonces: new NoncePool(params, blinds, options),
    blinds,
    nonceScratch: new Uint8Array(params.size),
  };
}

const shared = new Map<EcdsaCurve, CurveContext>();

/** The process-wide context of a curve, created on first use. */
export function sharedContext(curve: EcdsaCurve): CurveContext {
  let ctx = shared.get(curve);
  if (ctx === undefined) {
    ctx = createCurveContext(CURVES[curve]);
    shared.set(curve, ctx);
  }
  return ctx;
}
