/**
 * The type names pkcs11js declares that the rest of the API does not already export under the same name:
 * the mechanism-parameter shapes (tagged by `type: CK_PARAMS_*`) and the C_Initialize options. graphene-pk11's
 * own declarations name them (`pkcs11.AesGCM`, `pkcs11.RsaPSS`, `pkcs11.InitializationOptions`, …), so a
 * TypeScript project that resolves `pkcs11js` to this package needs them to type-check its node_modules.
 * Types only. Layer L6.
 * @module
 */

import type { InitializeOptions } from './calls.js';
import type { AttributeResult, Handle } from './convert.js';

/** C_Initialize's options (pkcs11js's name). */
export type InitializationOptions = InitializeOptions;

/** What C_GetAttributeValue returns (pkcs11js's name). */
export type TemplateResult = AttributeResult[];

/** A structured mechanism parameter: `type` is one of the CK_PARAMS_* tags. */
export interface IParams {
  type: number;
}

/** CK_ECDH1_DERIVE_PARAMS (CK_PARAMS_EC_DH). */
export interface ECDH1 extends IParams {
  kdf: number;
  sharedData?: Buffer;
  publicData: Buffer;
}

/** CK_AES_CBC_ENCRYPT_DATA_PARAMS (CK_PARAMS_AES_CBC). */
export interface AesCBC extends IParams {
  iv: Buffer;
  data?: Buffer;
}

/** CK_CCM_PARAMS (CK_PARAMS_AES_CCM). */
export interface AesCCM extends IParams {
  dataLen: number;
  nonce?: Buffer;
  aad?: Buffer;
  macLen: number;
}

/** CK_GCM_PARAMS (CK_PARAMS_AES_GCM). */
export interface AesGCM extends IParams {
  iv?: Buffer;
  aad?: Buffer;
  ivBits: number;
  tagBits: number;
}

/** CK_RSA_PKCS_OAEP_PARAMS (CK_PARAMS_RSA_OAEP). */
export interface RsaOAEP extends IParams {
  hashAlg: number;
  mgf: number;
  source: number;
  sourceData?: Buffer;
}

/** CK_RSA_PKCS_PSS_PARAMS (CK_PARAMS_RSA_PSS). */
export interface RsaPSS extends IParams {
  hashAlg: number;
  mgf: number;
  saltLen: number;
}

/** CK_ECDH2_DERIVE_PARAMS (CK_PARAMS_ECDH2_DERIVE). */
export interface Ecdh2Derive extends IParams {
  kdf: number;
  sharedData?: Buffer;
  publicData: Buffer;
  privateDataLen: number;
  privateData: Handle;
  publicData2?: Buffer;
}

/** CK_DES_CBC_ENCRYPT_DATA_PARAMS (CK_PARAMS_DES_CBC_ENCRYPT_DATA). */
export interface DesCbcEncryptDataParams extends IParams {
  iv: Buffer;
  data?: Buffer;
}

/** CK_PBE_PARAMS (CK_PARAMS_PBE). */
export interface PbeParams extends IParams {
  initVector: Buffer;
  password: Buffer;
  salt: Buffer;
  iteration: number;
}
