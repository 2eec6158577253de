/**
 * CKM_ECDSA binding: the fast prehashed signer of ./ecdsa (DESIGN §2.5) as the backend's factory.
 * @module
 */
import type { PrehashedFactory } from './ec.js';
import { createEcdsaKey } from './ecdsa/index.js';

export const prehashedEcdsa: PrehashedFactory = (curve, m) => createEcdsaKey(curve, m);
