/**
 * What a PEM or DER input holds: certificates, private keys (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1) and
 * public keys (SubjectPublicKeyInfo, PKCS#1), detected from the PEM label or, for DER, by trying each
 * form. Nothing here touches a token. Layer L7.
 * @module
 */
import { readTlv } from '../util/der.js';
import { decryptPrivateKeyInfo, isEncryptedPrivateKeyInfo } from './encrypted-key.js';
import {
  type PrivateKeyData,
  type PublicKeyData,
  parseEcPrivateKey,
  parsePrivateKeyInfo,
  parseRsaPrivateKey,
  parseRsaPublicKey,
  parseSpki,
  parsing,
} from './keys.js';
import { badInput } from './module.js';
import { decodePem, looksLikePem } from './pem.js';
import { type CertificateInfo, parseCertificate } from './x509.js';

export type Credential =
  | { kind: 'certificate'; certificate: CertificateInfo }
  | { kind: 'private-key'; key: PrivateKeyData }
  | { kind: 'public-key'; key: PublicKeyData };

/** PEM text or the bytes of a PEM or DER file. */
export type CredentialInput = string | Uint8Array;

export interface ReadOptions {
  /** For encrypted PKCS#8: the passphrase. */
  passphrase?: string;
}

function decrypt(der: Uint8Array, options: ReadOptions): PrivateKeyData {
  if (options.passphrase === undefined) {
    throw badInput('the private key is encrypted: a passphrase is needed');
  }
  return decryptPrivateKeyInfo(der, options.passphrase);
}

function fromPemBlock(
  label: string,
  headers: Map<string, string>,
  der: Uint8Array,
  options: ReadOptions,
): Credential | undefined {
  if (/ENCRYPTED/.test(headers.get('proc-type') ?? '')) {
    throw badInput(
      `${label} uses legacy OpenSSL encryption: convert it with \`openssl pkcs8 -topk8 -v2 aes-256-cbc\``,
    );
  }
  switch (label) {
    case 'CERTIFICATE':
    case 'X509 CERTIFICATE':
      return { kind: 'certificate', certificate: parseCertificate(der) };
    case 'TRUSTED CERTIFICATE':
      // OpenSSL appends its trust settings after the certificate.
      return {
        kind: 'certificate',
        certificate: parseCertificate(parsing('trusted certificate', () => readTlv(der).encoded)),
      };
    case 'PRIVATE KEY':
      return { kind: 'private-key', key: parsePrivateKeyInfo(der) };
    case 'ENCRYPTED PRIVATE KEY':
      return { kind: 'private-key', key: decrypt(der, options) };
    case 'EC PRIVATE KEY':
      return { kind: 'private-key', key: parseEcPrivateKey(der) };
    case 'RSA PRIVATE KEY':
      return { kind: 'private-key', key: parseRsaPrivateKey(der) };
    case 'PUBLIC KEY':
      return { kind: 'public-key', key: parseSpki(der) };
    case 'RSA PUBLIC KEY':
      return { kind: 'public-key', key: parseRsaPublicKey(der) };
    case 'EC PARAMETERS':
      return undefined; // `openssl ecparam -genkey` writes these before the key
    default:
      throw badInput(`PEM block '${label}' is not a certificate, private key or public key`);
  }
}

const DER_FORMS: Array<(der: Uint8Array) => Credential> = [
  (d) => ({ kind: 'certificate', certificate: parseCertificate(d) }),
  (d) => ({ kind: 'private-key', key: parsePrivateKeyInfo(d) }),
  (d) => ({ kind: 'private-key', key: parseEcPrivateKey(d) }),
  (d) => ({ kind: 'private-key', key: parseRsaPrivateKey(d) }),
  (d) => ({ kind: 'public-key', key: parseSpki(d) }),
  (d) => ({ kind: 'public-key', key: parseRsaPublicKey(d) }),
];

function fromDer(der: Uint8Array, options: ReadOptions): Credential {
  if (isEncryptedPrivateKeyInfo(der)) return { kind: 'private-key', key: decrypt(der, options) };
  // A form that recognised the structure but cannot take it (another curve, Ed25519) says more
  // than "not DER": keep the first such refusal.
  let specific: unknown;
  for (const form of DER_FORMS) {
    try {
      return form(der);
    } catch (e) {
      const detail = (e as { detail?: unknown }).detail;
      if (specific === undefined && typeof detail === 'string' && !detail.startsWith('not ')) {
        specific = e;
      }
    }
  }
  throw specific ?? badInput('not a certificate, private key or public key (PEM or DER)');
}

/**
 * Every credential in `input`: all blocks of a PEM text (a chain, or a key and its certificate in one
 * file), or the single structure of a DER file. Malformed input is CKR_ARGUMENTS_BAD with the reason.
 */
export function readCredentials(input: CredentialInput, options: ReadOptions = {}): Credential[] {
  if (looksLikePem(input)) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    const out: Credential[] = [];
    for (const b of decodePem(text)) {
      const c = fromPemBlock(b.label, b.headers, b.der, options);
      if (c) out.push(c);
    }
    if (out.length === 0) throw badInput('the PEM text holds no certificate or key');
    return out;
  }
  if (typeof input === 'string') {
    throw badInput('not PEM: no -----BEGIN line');
  }
  if (input.length === 0) throw badInput('the input is empty');
  return [fromDer(input, options)];
}

/** The one credential of `kind` in `input`; CKR_ARGUMENTS_BAD if there is none or more than one. */
export function readOne<K extends Credential['kind']>(
  input: CredentialInput,
  kind: K,
  options: ReadOptions = {},
): Extract<Credential, { kind: K }> {
  const found = readCredentials(input, options).filter((c) => c.kind === kind);
  if (found.length !== 1) {
    throw badInput(`expected one ${kind.replace('-', ' ')}, found ${found.length}`);
  }
  return found[0] as Extract<Credential, { kind: K }>;
}
