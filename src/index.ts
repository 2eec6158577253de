/**
 * corepkcs11: the public entry. Re-exports only; no logic lives here.
 * @module
 */

export { createFilePal } from './adapters/pal-file/index.js';
export { createMemoryPal } from './adapters/pal-memory/index.js';
export type { Attribute, AttributeResult, Handle, Mechanism, Template } from './api/convert.js';
export type { KeyPair } from './api/pkcs11.js';
export type * from './api/pkcs11js-types.js';
export { type CreateTokenOptions, createToken, openTarget, PKCS11 } from './create.js';
export { ckrName, isPkcs11Error, NativeError, Pkcs11Error } from './errors.js';
export * from './pkcs11/constants.js';
export * from './pkcs11/params.js';
export type * from './pkcs11/types.js';
export * from './rpc/index.js';
export type { Pal, PalHandle, PalObjectValue } from './storage/pal.js';
export { Application } from './token/application.js';
export type { Cryptoki, CryptokiAsync } from './token/cryptoki.js';
export { Token, type TokenOptions } from './token/token.js';
