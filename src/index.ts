/**
 * corepkcs11: the public entry. Re-exports only; no logic lives here.
 * @module
 */

export { ckrName, isPkcs11Error, Pkcs11Error } from './errors.js';
export * from './pkcs11/constants.js';
export type { Pal, PalHandle, PalObjectValue } from './storage/pal.js';
