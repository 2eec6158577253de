/**
 * The dev-mode provisioning flow of FreeRTOS (vAlternateKeyProvisioning / xProvisionDevice) in one call:
 * put a device's credentials under corePKCS11's well-known labels, replacing the ones there. Every
 * input is parsed and checked first (the certificate must match the key), the new objects are all
 * stored (or none), and only then are the old ones destroyed, so a failure at any point leaves the
 * device with a complete set of credentials. Layer L7.
 * @module
 */
import {
  CKA_CLASS,
  CKA_LABEL,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
} from '../pkcs11/constants.js';
import { findObjects } from './core.js';
import { type CredentialInput, readOne } from './credentials.js';
import type { KeyTypeSpec } from './key-types.js';
import { generateKeyPair, readPublicKey } from './keygen.js';
import { type PrivateKeyData, type PublicKeyData, publicKeyOf, samePublicKey } from './keys.js';
import {
  LABEL_CODE_VERIFICATION_KEY,
  LABEL_DEVICE_CERTIFICATE,
  LABEL_DEVICE_PRIVATE_KEY,
  LABEL_DEVICE_PUBLIC_KEY,
  LABEL_JITP_CERTIFICATE,
  LABEL_ROOT_CERTIFICATE,
} from './labels.js';
import { badInput, type Handle, type Pkcs11Module, type Template } from './module.js';
import {
  certificateTemplate,
  createObjects,
  keyIdOf,
  privateKeyTemplate,
  publicKeyTemplate,
} from './provision.js';
import type { CertificateInfo } from './x509.js';

export interface DeviceCredentials {
  /** The device certificate (PEM or DER) → 'Device Cert'. */
  certificate?: CredentialInput;
  /** Its private key → 'Device Priv TLS Key', and its public half → 'Device Pub TLS Key'. */
  privateKey?: CredentialInput;
  /** Passphrase of an encrypted PKCS#8 private key. */
  passphrase?: string;
  /** The JITP certificate (the CA that signed the device certificate) → 'JITP Cert'. */
  jitpCertificate?: CredentialInput;
  /** The server's root CA → 'Root Cert'. */
  rootCertificate?: CredentialInput;
  /** The code-signing public key (or certificate) → 'Code Verify Key'. */
  codeVerificationKey?: CredentialInput;
  /**
   * With neither a private key nor a certificate given: 'if-missing' (default) generates a device key pair on the token when
   * there is none, 'always' replaces it with a new one, 'never' leaves the keys alone.
   */
  generate?: 'never' | 'if-missing' | 'always';
  /** Key type of a generated pair (default EC P-256, as FreeRTOS). */
  keyType?: KeyTypeSpec;
}

export interface DeviceProvisioningResult {
  /** The labels written, in order. */
  stored: string[];
  /** How many old objects were destroyed after the new ones were stored. */
  destroyed: number;
  /** The device public key (generated or imported), for a CSR or the cloud's registry. */
  publicKey: PublicKeyData | undefined;
  /** True when a key pair was generated on the token. */
  generated: boolean;
  /** Things the caller should know, e.g. a kept certificate that no longer matches a new key. */
  warnings: string[];
}

interface Parsed {
  key?: PrivateKeyData;
  cert?: CertificateInfo;
  jitp?: CertificateInfo;
  root?: CertificateInfo;
  codeKey?: PublicKeyData;
}

function parseAll(c: DeviceCredentials): Parsed {
  const out: Parsed = {};
  if (c.privateKey !== undefined) {
    out.key = readOne(c.privateKey, 'private-key', { passphrase: c.passphrase }).key;
  }
  if (c.certificate !== undefined) out.cert = readOne(c.certificate, 'certificate').certificate;
  if (c.jitpCertificate !== undefined)
    out.jitp = readOne(c.jitpCertificate, 'certificate').certificate;
  if (c.rootCertificate !== undefined)
    out.root = readOne(c.rootCertificate, 'certificate').certificate;
  if (c.codeVerificationKey !== undefined) {
    const pub = tryPublicKey(c.codeVerificationKey);
    if (!pub) throw badInput('the code verification key is not a public key or certificate');
    out.codeKey = pub;
  }
  const pub = out.key && publicKeyOf(out.key);
  if (out.key && !pub) throw badInput('the device private key does not carry its public key');
  if (out.cert && pub && (!out.cert.publicKey || !samePublicKey(out.cert.publicKey, pub))) {
    throw badInput('the device certificate is not for the device private key');
  }
  return out;
}

function tryPublicKey(input: CredentialInput): PublicKeyData | undefined {
  try {
    return readOne(input, 'public-key').key;
  } catch {
    return readOne(input, 'certificate').certificate.publicKey;
  }
}

function existing(p11: Pkcs11Module, session: Handle, label: string, cls: number): Handle[] {
  return findObjects(p11, session, [
    { type: CKA_LABEL, value: label },
    { type: CKA_CLASS, value: cls },
  ]);
}

/**
 * Provisions a device in one call (see the module comment). Nothing is stored when any input is
 * unreadable or the certificate does not match the key.
 */
export async function provisionDevice(
  p11: Pkcs11Module,
  session: Handle,
  credentials: DeviceCredentials,
): Promise<DeviceProvisioningResult> {
  const parsed = parseAll(credentials);
  const templates: Template[] = [];
  const labels: string[] = [];
  const old: Handle[] = [];
  const result: DeviceProvisioningResult = {
    stored: labels,
    destroyed: 0,
    publicKey: undefined,
    generated: false,
    warnings: [],
  };
  const add = (t: Template, label: string, cls: number) => {
    templates.push(t);
    labels.push(label);
    old.push(...existing(p11, session, label, cls));
  };
  if (parsed.key) {
    const pub = publicKeyOf(parsed.key) as PublicKeyData;
    const id = keyIdOf(p11, session, pub);
    add(
      privateKeyTemplate(parsed.key, { label: LABEL_DEVICE_PRIVATE_KEY }, id),
      LABEL_DEVICE_PRIVATE_KEY,
      CKO_PRIVATE_KEY,
    );
    add(
      publicKeyTemplate(pub, { label: LABEL_DEVICE_PUBLIC_KEY }, id),
      LABEL_DEVICE_PUBLIC_KEY,
      CKO_PUBLIC_KEY,
    );
    result.publicKey = pub;
  }
  if (parsed.cert && !parsed.key) checkCertificateFitsToken(p11, session, parsed.cert);
  for (const [cert, label] of [
    [parsed.cert, LABEL_DEVICE_CERTIFICATE],
    [parsed.jitp, LABEL_JITP_CERTIFICATE],
    [parsed.root, LABEL_ROOT_CERTIFICATE],
  ] as const) {
    if (!cert) continue;
    const id = cert.publicKey ? keyIdOf(p11, session, cert.publicKey) : new Uint8Array(0);
    add(certificateTemplate(cert, { label }, id), label, CKO_CERTIFICATE);
  }
  if (parsed.codeKey) {
    const id = keyIdOf(p11, session, parsed.codeKey);
    add(
      publicKeyTemplate(parsed.codeKey, { label: LABEL_CODE_VERIFICATION_KEY }, id),
      LABEL_CODE_VERIFICATION_KEY,
      CKO_PUBLIC_KEY,
    );
  }

  const made = createObjects(p11, session, templates, 'keep');
  try {
    if (!parsed.key && !parsed.cert) await maybeGenerate(p11, session, credentials, result, old);
  } catch (e) {
    for (const h of made) p11.C_DestroyObject(session, h);
    throw e;
  }
  for (const h of old) p11.C_DestroyObject(session, h);
  result.destroyed = old.length;
  return result;
}

/** A certificate given without a key must be for the device key already on the token. */
function checkCertificateFitsToken(
  p11: Pkcs11Module,
  session: Handle,
  cert: CertificateInfo,
): void {
  const [pub] = existing(p11, session, LABEL_DEVICE_PUBLIC_KEY, CKO_PUBLIC_KEY);
  if (!pub) return;
  const onToken = readPublicKey(p11, session, pub);
  if (!cert.publicKey || !samePublicKey(cert.publicKey, onToken)) {
    throw badInput(
      `the device certificate is not for the key pair on the token ('${LABEL_DEVICE_PUBLIC_KEY}')`,
    );
  }
}

async function maybeGenerate(
  p11: Pkcs11Module,
  session: Handle,
  c: DeviceCredentials,
  result: DeviceProvisioningResult,
  old: Handle[],
): Promise<void> {
  const mode = c.generate ?? 'if-missing';
  if (mode === 'never') return;
  const oldPriv = existing(p11, session, LABEL_DEVICE_PRIVATE_KEY, CKO_PRIVATE_KEY);
  const oldPub = existing(p11, session, LABEL_DEVICE_PUBLIC_KEY, CKO_PUBLIC_KEY);
  if (mode === 'if-missing' && oldPriv.length > 0 && oldPub.length > 0) return;
  const pair = await generateKeyPair(p11, session, {
    keyType: c.keyType ?? { kind: 'ec', curve: 'P-256' },
    label: LABEL_DEVICE_PRIVATE_KEY,
    publicKeyLabel: LABEL_DEVICE_PUBLIC_KEY,
  });
  old.push(...oldPriv, ...oldPub);
  result.generated = true;
  result.publicKey = pair.publicKeyData;
  result.stored.push(LABEL_DEVICE_PRIVATE_KEY, LABEL_DEVICE_PUBLIC_KEY);
  const certs = existing(p11, session, LABEL_DEVICE_CERTIFICATE, CKO_CERTIFICATE);
  if (certs.length > 0) {
    result.warnings.push(
      `'${LABEL_DEVICE_CERTIFICATE}' was kept but does not match the new key pair: request a new certificate`,
    );
  }
}
