/**
 * corepkcs11's helpers for provisioning and PKI work over any pkcs11js-shaped module: corePKCS11's
 * helper calls, ECDSA signature conversions, PEM/DER credentials, provisioning, key generation, CSRs,
 * the dev-mode device flow and PKCS#11 URIs. Re-exports only. Layer L7.
 * @module
 */
export {
  appendSha256AlgorithmIdentifierSequence,
  findObjects,
  findObjectWithLabelAndClass,
  firstSlot,
  getSlotList,
  initializePkcs11,
  initializePkcs11Session,
  initializePkcs11Token,
  type SessionOptions,
  SHA256_DIGEST_INFO_PREFIX,
  type TokenInitOptions,
} from './core.js';
export {
  type Credential,
  type CredentialInput,
  type ReadOptions,
  readCredentials,
  readOne,
} from './credentials.js';
export { type CsrHash, type CsrOptions, createCsr } from './csr.js';
export {
  type DeviceCredentials,
  type DeviceProvisioningResult,
  provisionDevice,
} from './device.js';
export { decryptPrivateKeyInfo, isEncryptedPrivateKeyInfo } from './encrypted-key.js';
export { describeObject, type ObjectDescription } from './inspect.js';
export {
  describeKeyType,
  type KeyTypeSpec,
  parseAnyKeyType,
  parseKeyType,
  type SecretKeySpec,
} from './key-types.js';
export {
  findPublicKeyFor,
  type GeneratedKeyPair,
  type GenerateOptions,
  generateKeyPair,
  generateSecretKey,
  readPublicKey,
} from './keygen.js';
export {
  curveOfEcParams,
  type EcPrivateKeyData,
  type EcPublicKeyData,
  ecParamsOf,
  encodeSpki,
  keyBits,
  type PrivateKeyData,
  type PublicKeyData,
  parseEcPrivateKey,
  parsePrivateKeyInfo,
  parseRsaPrivateKey,
  parseRsaPublicKey,
  parseSpki,
  publicKeyOf,
  type RsaPrivateKeyData,
  type RsaPublicKeyData,
  samePublicKey,
  withPublicPoint,
} from './keys.js';
export * from './labels.js';
export { hasRv, type Pkcs11Module } from './module.js';
export { formatName, parseSubject } from './names.js';
export {
  base64Decode,
  base64Encode,
  decodePem,
  encodePem,
  looksLikePem,
  type PemBlock,
} from './pem.js';
export {
  curveOfRawLength,
  EC_COMPONENT_BYTES,
  type EcCurve,
  ecdsaDerToRaw,
  ecdsaRawToDer,
} from './pki.js';
export {
  certificateTemplate,
  createObjects,
  keyIdOf,
  type ObjectOptions,
  type PrivateKeyOptions,
  type ProvisionedKey,
  privateKeyTemplate,
  provisionCertificate,
  provisionPrivateKey,
  provisionPublicKey,
  publicKeyTemplate,
} from './provision.js';
export {
  formatPkcs11Uri,
  objectUri,
  PATH_ATTRIBUTES,
  type Pkcs11Uri,
  parsePkcs11Uri,
  QUERY_ATTRIBUTES,
  URI_OBJECT_TYPES,
  type UriAttribute,
  type UriSelection,
  uriSelection,
  uriText,
} from './uri.js';
export { type CertificateInfo, parseCertificate } from './x509.js';
