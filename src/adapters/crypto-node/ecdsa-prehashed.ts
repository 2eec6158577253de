/**
 * Interim CKM_ECDSA binding: refuses until the fast prehashed ECDSA module (DESIGN §2.5) is merged.
 * @module
 */
import type { PrehashedFactory } from './ec.js';

export const prehashedEcdsa: PrehashedFactory = () => {
  throw new Error('ECDSA over a caller-computed digest is not available in this build');
};
