/**
 * The PAL labels of what the token stores (object-store.ts): its record, the index buckets, one label
 * per object, and the corePKCS11 well-known labels an object takes when its CKA_LABEL is one of them
 * and the slot is free (so a port with only those fixed slots still works). Layer L5.
 * @module
 */

/** The corePKCS11 labels (core_pkcs11_config_defaults.h). */
export const WELL_KNOWN_LABELS: readonly string[] = [
  'Device Priv TLS Key',
  'Device Pub TLS Key',
  'Device Cert',
  'Code Verify Key',
  'HMAC Key',
  'CMAC Key',
  'Claim Key',
  'Claim Cert',
  'Root Cert',
  'JITP Cert',
];

/** The token record: label, serial, PIN records. */
export const TOKEN_LABEL = 'corepkcs11.token';
/** The object index is split into this many buckets, by object id. */
export const BUCKETS = 64;
export const bucketLabel = (b: number) => `corepkcs11.idx.${b}`;
export const objectLabel = (id: number) => `corepkcs11.obj.${id.toString(16)}`;
