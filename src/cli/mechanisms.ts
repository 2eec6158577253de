/**
 * Mechanisms named on the command line the way pkcs11-tool names them (`ECDSA-SHA256`,
 * `SHA256-RSA-PKCS-PSS`, `SHA256`, also `CKM_…` or a hex number), with the parameters the CLI fills in
 * for RSA-PSS (the mechanism's hash, MGF1 with it, salt as long as the hash). Layer L9.
 * @module
 */
import type { Mechanism } from '../api/convert.js';
import * as C from '../pkcs11/constants.js';
import { CliError, EXIT } from './errors.js';

/** pkcs11-tool's name of a mechanism: CKM_ECDSA_SHA256 → ECDSA-SHA256. */
export function mechanismName(type: number): string {
  return (C.CKM_NAMES.get(type) ?? `0x${type.toString(16)}`)
    .replace(/^CKM_/, '')
    .replace(/_/g, '-');
}

/** The CKM_ value of a name; unknown names are usage errors. */
export function parseMechanism(text: string): number {
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text, 16);
  const want = text
    .toUpperCase()
    .replace(/^CKM[_-]/, '')
    .replace(/-/g, '_');
  for (const [value, name] of C.CKM_NAMES) {
    if (name.replace(/^CKM_/, '') === want) return value;
  }
  throw new CliError(
    EXIT.USAGE,
    `unknown mechanism '${text}'`,
    '`corepkcs11 info --mechanisms` lists them',
  );
}

const PSS_HASH: ReadonlyMap<number, [number, number, number]> = new Map([
  [C.CKM_SHA1_RSA_PKCS_PSS, [C.CKM_SHA_1, C.CKG_MGF1_SHA1, 20]],
  [C.CKM_SHA224_RSA_PKCS_PSS, [C.CKM_SHA224, C.CKG_MGF1_SHA224, 28]],
  [C.CKM_SHA256_RSA_PKCS_PSS, [C.CKM_SHA256, C.CKG_MGF1_SHA256, 32]],
  [C.CKM_SHA384_RSA_PKCS_PSS, [C.CKM_SHA384, C.CKG_MGF1_SHA384, 48]],
  [C.CKM_SHA512_RSA_PKCS_PSS, [C.CKM_SHA512, C.CKG_MGF1_SHA512, 64]],
]);
/** For CKM_RSA_PKCS_PSS over a digest: the digest length says which hash it is. */
const PSS_BY_LENGTH: ReadonlyMap<number, [number, number, number]> = new Map(
  [...PSS_HASH.values()].map((v) => [v[2], v]),
);

/** The CK_MECHANISM for `type`, with RSA-PSS parameters filled in (`input` is what gets signed). */
export function mechanismFor(type: number, input: Uint8Array): Mechanism {
  const pss = type === C.CKM_RSA_PKCS_PSS ? PSS_BY_LENGTH.get(input.length) : PSS_HASH.get(type);
  if (type === C.CKM_RSA_PKCS_PSS && !pss) {
    throw new CliError(
      EXIT.INPUT,
      'RSA-PKCS-PSS signs a digest: the input must be a SHA-1/SHA-2 hash',
    );
  }
  if (!pss) return { mechanism: type };
  const [hashAlg, mgf, saltLen] = pss;
  return { mechanism: type, parameter: { type: C.CK_PARAMS_RSA_PSS, hashAlg, mgf, saltLen } };
}

/** True for the ECDSA family, whose signatures have a DER and a raw form. */
export function isEcdsa(type: number): boolean {
  return (C.CKM_NAMES.get(type) ?? '').startsWith('CKM_ECDSA');
}

/** True for CKM_DSA and CKM_DSA_SHA*: r‖s signatures with a DER form, like ECDSA's. */
export function isDsa(type: number): boolean {
  return /^CKM_DSA(_SHA3?_?\d+)?$/.test(C.CKM_NAMES.get(type) ?? '');
}
