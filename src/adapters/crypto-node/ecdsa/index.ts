/**
 * CKM_ECDSA for the node:crypto backend: sign and verify a digest the caller computed, output raw r‖s.
 * Design and blinding choices: ecdsa-key.ts.
 * @module
 */
export type { EcdsaCurve } from './curves.js';
export type { EcdsaKey, EcdsaKeyMaterial, EcdsaKeyOptions } from './ecdsa-key.js';
export { createEcdsaKey } from './ecdsa-key.js';
