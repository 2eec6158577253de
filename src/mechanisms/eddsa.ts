/**
 * CKM_EDDSA (PKCS#11 3.0 mechanisms §2.3.14) on CKK_EC_EDWARDS keys: pure Ed25519 and Ed448 (RFC 8032
 * §5.1, §5.2). Without a parameter it is the pure scheme of the key's curve; a CK_EDDSA_PARAMS that asks
 * for a prehash (Ed25519ph, Ed448ph) or a context (Ed25519ctx, Ed448 with a context) names a scheme
 * node:crypto cannot compute and is CKR_MECHANISM_PARAM_INVALID. One-part only: pure EdDSA hashes the
 * message twice, so it cannot sign parts as they arrive. Layer L4.
 * @module
 */
import { curve as curveRow, keySizes } from '../crypto/curves.js';
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { EddsaParams, RawMechanism } from '../pkcs11/types.js';
import { collectingMethods, MAX_WHOLE_INPUT, requireNoParameter } from './common.js';
import type { KeyRef, Mechanism } from './types.js';

const PURE = { type: 'eddsa' } as const;

/** Checks that `m` asks for pure EdDSA on the key's curve. */
function checkParameter(m: RawMechanism, key: KeyRef): void {
  const p = m.parameter;
  if (p === undefined || p instanceof Uint8Array || typeof p === 'number') {
    requireNoParameter(m);
    return;
  }
  const e = p as Partial<EddsaParams>;
  if (
    typeof e.phFlag !== 'boolean' ||
    !(e.contextData === undefined || e.contextData instanceof Uint8Array)
  ) {
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, 'CK_EDDSA_PARAMS: phFlag and contextData');
  }
  const context = (e.contextData?.length ?? 0) > 0;
  // RFC 8032 §5.1: with parameters, Ed25519 means Ed25519ctx or Ed25519ph (dom2 prefix); §5.2: Ed448 with
  // phFlag false and no context is plain Ed448.
  const pure = key.handle().curve === 'Ed448' && !e.phFlag && !context;
  if (!pure) {
    const what = e.phFlag
      ? 'prehashed EdDSA (Ed25519ph, Ed448ph)'
      : 'EdDSA with a context (Ed25519ctx)';
    throw new Pkcs11Error(C.CKR_MECHANISM_PARAM_INVALID, `${what} is not supported`);
  }
}

function signatureLength(key: KeyRef): number {
  const curve = key.handle().curve;
  if (curve === undefined || curveRow(curve).family !== 'edwards')
    throw new Pkcs11Error(C.CKR_KEY_TYPE_INCONSISTENT, 'not an Edwards key');
  // RFC 8032 §5.1.6, §5.2.6: R‖S, each the size of a public key.
  return 2 * curveRow(curve).publicBytes;
}

export const EDDSA_MECHANISMS: Mechanism[] = [
  {
    type: C.CKM_EDDSA,
    keyTypes: [C.CKK_EC_EDWARDS],
    singlePart: true,
    info: { ...keySizes('edwards'), flags: C.CKF_SIGN | C.CKF_VERIFY },
    ...collectingMethods((m, key) => {
      const length = signatureLength(key);
      checkParameter(m, key);
      return { handle: key.handle(), length, scheme: PURE, maxInput: MAX_WHOLE_INPUT };
    }),
  },
];
