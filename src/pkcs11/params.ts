/**
 * Tags for the mechanism-parameter shapes of PKCS#11 3.0 structures that pkcs11js has no CK_PARAMS_* for
 * (pkcs11/types.ts: EddsaParams, …). pkcs11js numbers its own tags from 0 (CK_PARAMS_BUFFER) to 26
 * (CK_PARAMS_CCM); these start at 0x100 so they never meet one of its. The token identifies a shape by
 * its mechanism and reads its fields; the tag only says which shape the caller meant. Layer L0.
 * @module
 */

/** CK_EDDSA_PARAMS: `{ type: CK_PARAMS_EDDSA, phFlag, contextData? }`. */
export const CK_PARAMS_EDDSA = 0x101;

/** CK_HKDF_PARAMS: `{ type: CK_PARAMS_HKDF, extract, expand, prfHashMechanism, saltType, salt?, saltKey?, info? }`. */
export const CK_PARAMS_HKDF = 0x102;

/** CK_PKCS5_PBKD2_PARAMS2: `{ type, saltSource, saltSourceData, iterations, prf, prfData?, password }`. */
export const CK_PARAMS_PKCS5_PBKD2 = 0x103;

/** CK_SALSA20_CHACHA20_POLY1305_PARAMS: `{ type: CK_PARAMS_CHACHA20_POLY1305, nonce, aad? }`. */
export const CK_PARAMS_CHACHA20_POLY1305 = 0x104;
