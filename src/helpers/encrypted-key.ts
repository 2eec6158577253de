/**
 * Encrypted PKCS#8 (EncryptedPrivateKeyInfo with PBES2, RFC 8018): PBKDF2 with an HMAC-SHA-1/SHA-2 PRF
 * and AES-CBC, what `openssl genpkey -aes-256-cbc` and `openssl pkcs8 -topk8 -v2 aes-256-cbc` write.
 * The key derivation and decryption run on the token itself (CKM_SHA*_HMAC over a session key holding
 * the passphrase, CKM_AES_CBC_PAD under a session AES key), so library users need no crypto of their own
 * and the helpers stay above the API. Every session object made here is destroyed before returning.
 * Layer L7.
 * @module
 */
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_VALUE,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKM_AES_CBC_PAD,
  CKM_SHA_1_HMAC,
  CKM_SHA224_HMAC,
  CKM_SHA256_HMAC,
  CKM_SHA384_HMAC,
  CKM_SHA512_HMAC,
  CKO_SECRET_KEY,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
} from '../pkcs11/constants.js';
import { utf8, zeroize } from '../util/bytes.js';
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
import { type PrivateKeyData, parsePrivateKeyInfo, parsing } from './keys.js';
import { badInput, type Handle, hasRv, outputBuffer, type Pkcs11Module } from './module.js';

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_SCRYPT = '1.3.6.1.4.1.11591.4.11';

/** PRF OID → [HMAC mechanism, output length]. */
const PRFS: Record<string, [number, number]> = {
  '1.2.840.113549.2.7': [CKM_SHA_1_HMAC, 20],
  '1.2.840.113549.2.8': [CKM_SHA224_HMAC, 28],
  '1.2.840.113549.2.9': [CKM_SHA256_HMAC, 32],
  '1.2.840.113549.2.10': [CKM_SHA384_HMAC, 48],
  '1.2.840.113549.2.11': [CKM_SHA512_HMAC, 64],
};
const AES_CBC: Record<string, number> = {
  '2.16.840.1.101.3.4.1.2': 16,
  '2.16.840.1.101.3.4.1.22': 24,
  '2.16.840.1.101.3.4.1.42': 32,
};
/** More PBKDF2 rounds than anyone uses, fewer than would hang a provisioning run. */
const MAX_ITERATIONS = 10_000_000;

interface Pbes2Params {
  salt: Uint8Array;
  iterations: number;
  prf: [number, number];
  keyLength: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function algorithm(tlv: Tlv | undefined): { oid: string; params: Tlv | undefined } {
  if (tlv?.tag !== TAG_SEQUENCE) throw new DerError('AlgorithmIdentifier expected');
  const [oid, params] = readChildren(tlv.value);
  if (oid?.tag !== TAG_OID) throw new DerError('algorithm OID expected');
  return { oid: decodeOid(oid.value), params };
}

function integer(tlv: Tlv | undefined): number {
  if (tlv?.tag !== TAG_INTEGER) throw new DerError('INTEGER expected');
  const v = decodeUnsignedInteger(tlv.value);
  if (v.length > 6) throw new DerError('INTEGER too large');
  return v.reduce((a, b) => a * 256 + b, 0);
}

const REENCRYPT = 're-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`';

function pbes2Params(der: Uint8Array): Pbes2Params {
  return parsing('encrypted PKCS#8 private key', () => {
    const [algTlv, data] = readChildren(readSingle(der, TAG_SEQUENCE).value);
    const alg = algorithm(algTlv);
    if (alg.oid !== OID_PBES2) {
      throw badInput(`the key is encrypted with ${alg.oid}, not PBES2: ${REENCRYPT}`);
    }
    if (data?.tag !== TAG_OCTET_STRING || alg.params?.tag !== TAG_SEQUENCE) {
      throw new DerError('PBES2 parameters or encrypted data missing');
    }
    const [kdfTlv, encTlv] = readChildren(alg.params.value);
    const kdf = algorithm(kdfTlv);
    if (kdf.oid === OID_SCRYPT)
      throw badInput(`scrypt-protected keys are not supported: ${REENCRYPT}`);
    if (kdf.oid !== OID_PBKDF2 || kdf.params?.tag !== TAG_SEQUENCE) {
      throw badInput(`key derivation ${kdf.oid} is not supported: ${REENCRYPT}`);
    }
    const k = readChildren(kdf.params.value);
    if (k[0]?.tag !== TAG_OCTET_STRING)
      throw badInput('PBKDF2 with a non-literal salt is not supported');
    let at = 2;
    const keyLength = k[at]?.tag === TAG_INTEGER ? integer(k[at++]) : undefined;
    const prfOid = k[at] ? algorithm(k[at]).oid : '1.2.840.113549.2.7';
    const prf = PRFS[prfOid];
    if (!prf) throw badInput(`PBKDF2 PRF ${prfOid} is not supported (HMAC-SHA-1/SHA-2)`);
    const enc = algorithm(encTlv);
    const aesBytes = AES_CBC[enc.oid];
    if (!aesBytes) throw badInput(`cipher ${enc.oid} is not supported (AES-CBC): ${REENCRYPT}`);
    if (enc.params?.tag !== TAG_OCTET_STRING || enc.params.value.length !== 16) {
      throw new DerError('AES-CBC needs a 16-byte IV');
    }
    const iterations = integer(k[1]);
    if (iterations < 1 || iterations > MAX_ITERATIONS) {
      throw badInput(`PBKDF2 iteration count ${iterations} is out of range`);
    }
    if (keyLength !== undefined && keyLength !== aesBytes)
      throw new DerError('PBKDF2 key length does not fit the cipher');
    return {
      salt: k[0].value,
      iterations,
      prf,
      keyLength: aesBytes,
      iv: enc.params.value,
      ciphertext: data.value,
    };
  });
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

function sessionSecret(
  p11: Pkcs11Module,
  session: Handle,
  keyType: number,
  value: Uint8Array,
  use: number,
): Handle {
  return p11.C_CreateObject(session, [
    { type: CKA_CLASS, value: CKO_SECRET_KEY },
    { type: CKA_KEY_TYPE, value: keyType },
    { type: CKA_TOKEN, value: false },
    { type: CKA_PRIVATE, value: false },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: use, value: true },
    { type: CKA_VALUE, value },
  ]);
}

/** PBKDF2 (RFC 8018 §5.2) with the token's HMAC as the PRF. */
function pbkdf2(p11: Pkcs11Module, session: Handle, password: Handle, p: Pbes2Params): Uint8Array {
  const [mechanism, hLen] = p.prf;
  const hmac = (data: Uint8Array): Uint8Array => {
    p11.C_SignInit(session, { mechanism }, password);
    return p11.C_Sign(session, Buffer.from(data), outputBuffer(hLen));
  };
  const out = new Uint8Array(Math.ceil(p.keyLength / hLen) * hLen);
  for (let block = 1; block * hLen <= out.length; block++) {
    const first = new Uint8Array(p.salt.length + 4);
    first.set(p.salt);
    new DataView(first.buffer).setUint32(p.salt.length, block);
    let u = hmac(first);
    const t = Uint8Array.from(u);
    for (let i = 1; i < p.iterations; i++) {
      u = hmac(u);
      for (let j = 0; j < hLen; j++) t[j] = (t[j] as number) ^ (u[j] as number);
    }
    out.set(t, (block - 1) * hLen);
    zeroize(t, u);
  }
  return out.subarray(0, p.keyLength);
}

/**
 * Decrypts an EncryptedPrivateKeyInfo with `passphrase` on the token behind `session` and parses the
 * key inside. A wrong passphrase (or a damaged file) is CKR_ARGUMENTS_BAD saying so.
 */
export function decryptPrivateKeyInfo(
  p11: Pkcs11Module,
  session: Handle,
  der: Uint8Array,
  passphrase: string,
): PrivateKeyData {
  const params = pbes2Params(der);
  // HMAC pads its key with zeros, so the empty passphrase and a single zero byte are the same key; the
  // token refuses an empty secret key.
  const pw = passphrase === '' ? Uint8Array.of(0) : utf8(passphrase);
  const made: Handle[] = [];
  let key: Uint8Array | undefined;
  let plain: Uint8Array | undefined;
  try {
    const password = sessionSecret(p11, session, CKK_GENERIC_SECRET, pw, CKA_SIGN);
    made.push(password);
    key = pbkdf2(p11, session, password, params);
    const aes = sessionSecret(p11, session, CKK_AES, key, CKA_DECRYPT);
    made.push(aes);
    p11.C_DecryptInit(
      session,
      { mechanism: CKM_AES_CBC_PAD, parameter: Buffer.from(params.iv) },
      aes,
    );
    try {
      plain = p11.C_Decrypt(
        session,
        Buffer.from(params.ciphertext),
        outputBuffer(params.ciphertext.length),
      );
    } catch (e) {
      if (hasRv(e, CKR_ENCRYPTED_DATA_INVALID) || hasRv(e, CKR_ENCRYPTED_DATA_LEN_RANGE)) {
        throw badInput('cannot decrypt the private key: wrong passphrase or damaged file', e);
      }
      throw e;
    }
    try {
      return parsePrivateKeyInfo(plain);
    } catch (e) {
      throw badInput('cannot decrypt the private key: wrong passphrase or damaged file', e);
    }
  } finally {
    zeroize(pw, key, plain);
    for (const h of made) p11.C_DestroyObject(session, h);
  }
}
