/**
 * Encrypted PKCS#8 (EncryptedPrivateKeyInfo, RFC 5958 §3 with RFC 8018's schemes), as `openssl genpkey
 * -aes-256-cbc` and `openssl pkcs8 -topk8` write it: recognised here, decrypted on the host by
 * node:crypto (host-crypto.ts), the key inside read like any PKCS#8 key. Layer L7.
 * @module
 */
import {
  DerError,
  decodeOid,
  decodeUnsignedInteger,
  readChildren,
  readSingle,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  type Tlv,
} from '../util/der.js';
import { decryptPrivateKey, type PrivateKeyData } from './host-crypto.js';
import { parsing } from './keys.js';
import { badInput } from './module.js';

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
/** More PBKDF2 rounds than anyone uses, fewer than would hang a provisioning run. */
const MAX_ITERATIONS = 10_000_000;

function algorithm(tlv: Tlv | undefined): { oid: string; params: Tlv | undefined } {
  if (tlv?.tag !== TAG_SEQUENCE) throw new DerError('AlgorithmIdentifier expected');
  const [oid, params] = readChildren(tlv.value);
  if (oid?.tag !== TAG_OID) throw new DerError('algorithm OID expected');
  return { oid: decodeOid(oid.value), params };
}

/** True for DER that is an EncryptedPrivateKeyInfo rather than a plain key. */
export function isEncryptedPrivateKeyInfo(der: Uint8Array): boolean {
  try {
    const [alg, data] = readChildren(readSingle(der, TAG_SEQUENCE).value);
    return data?.tag === TAG_OCTET_STRING && algorithm(alg).oid.startsWith('1.2.840.113549.1.5.');
  } catch {
    return false;
  }
}

/** Refuses a PBKDF2 iteration count that would keep OpenSSL busy for hours (a hostile file). */
function checkIterations(der: Uint8Array): void {
  parsing('encrypted PKCS#8 private key', () => {
    const alg = algorithm(readChildren(readSingle(der, TAG_SEQUENCE).value)[0]);
    if (alg.oid !== OID_PBES2 || alg.params?.tag !== TAG_SEQUENCE) return;
    const kdf = algorithm(readChildren(alg.params.value)[0]);
    if (kdf.oid !== OID_PBKDF2 || kdf.params?.tag !== TAG_SEQUENCE) return;
    const count = readChildren(kdf.params.value)[1];
    if (count?.tag !== TAG_INTEGER) return;
    const v = decodeUnsignedInteger(count.value);
    const n = v.reduce((a, b) => a * 256 + b, 0);
    if (v.length > 4 || n < 1 || n > MAX_ITERATIONS) {
      throw badInput(`PBKDF2 iteration count ${v.length > 4 ? 'of that size' : n} is out of range`);
    }
  });
}

/**
 * Decrypts an EncryptedPrivateKeyInfo with `passphrase` and parses the key inside. A wrong passphrase
 * (or a damaged file) is CKR_ARGUMENTS_BAD saying so.
 */
export function decryptPrivateKeyInfo(der: Uint8Array, passphrase: string): PrivateKeyData {
  checkIterations(der);
  return decryptPrivateKey(der, passphrase);
}
