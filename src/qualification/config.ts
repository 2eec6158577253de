/**
 * The suite's configuration: the C suite's test_param_config.h values (key support flags, provisioning
 * mechanisms, labels, the expected certificate) as one object, the named presets the CLI offers, and the
 * seed's rules for which combinations are valid (the C suite's compile-time #errors). Layer L7.
 * @module
 */
import {
  EC_CERTIFICATE,
  EC_PRIVATE_KEY,
  EC_PUBLIC_KEY,
  RSA_CERTIFICATE,
  RSA_PRIVATE_KEY,
  RSA_PUBLIC_KEY,
} from './test-credentials.js';
import type { Labels } from './types.js';

/** The PEM credentials the suite imports (RSA and EC key pairs with certificates). */
export interface Credentials {
  rsaPrivateKey: string;
  rsaPublicKey: string;
  /** PKCS11_TEST_RSA_CERTIFICATE: also what RSA_GetAttributeValue compares against, pre-provisioned too. */
  rsaCertificate: string;
  ecPrivateKey: string;
  ecPublicKey: string;
  ecCertificate: string;
}

export interface QualificationConfig {
  /** PKCS11_TEST_RSA_KEY_SUPPORT: run the Full_PKCS11_RSA group. */
  rsaKeySupport: boolean;
  /** PKCS11_TEST_EC_KEY_SUPPORT: run the Full_PKCS11_EC group. */
  ecKeySupport: boolean;
  /** PKCS11_TEST_IMPORT_PRIVATE_KEY_SUPPORT: CreateObject tests and the "import" provisioning pass. */
  importPrivateKeySupport: boolean;
  /** PKCS11_TEST_GENERATE_KEYPAIR_SUPPORT: EC_GenerateKeyPair and the EC "generate" pass. */
  generateKeyPairSupport: boolean;
  /** PKCS11_TEST_PREPROVISIONED_SUPPORT: objects exist under `labels` before the run. */
  preprovisionedSupport: boolean;
  /** PKCS11_TEST_JITP_CODEVERIFY_ROOT_CERT_SUPPORTED: also store root cert, JITP cert, code-verify key. */
  jitpCodeVerifyRootCertSupported: boolean;
  labels: Labels;
  credentials: Credentials;
  /** PKCS11_TEST_RSA_CERTIFICATE_LENGTH: DER length of `credentials.rsaCertificate`. */
  rsaCertificateLength: number;
  /** DER length of `credentials.ecCertificate` (the C suite hard-codes 626 for its own). */
  ecCertificateLength: number;
}

/** corePKCS11's default labels (core_pkcs11_config_defaults.h), which test_param_config.h suggests. */
export const DEFAULT_LABELS: Readonly<Labels> = Object.freeze({
  privateKey: 'Device Priv TLS Key',
  publicKey: 'Device Pub TLS Key',
  certificate: 'Device Cert',
  codeVerificationKey: 'Code Verify Key',
  jitpCertificate: 'JITP Cert',
  rootCertificate: 'Root Cert',
});

export const DEFAULT_CREDENTIALS: Readonly<Credentials> = Object.freeze({
  rsaPrivateKey: RSA_PRIVATE_KEY,
  rsaPublicKey: RSA_PUBLIC_KEY,
  rsaCertificate: RSA_CERTIFICATE,
  ecPrivateKey: EC_PRIVATE_KEY,
  ecPublicKey: EC_PUBLIC_KEY,
  ecCertificate: EC_CERTIFICATE,
});

/** DER lengths of the built-in certificates (checked against the PEM by the unit tests). */
export const DEFAULT_RSA_CERTIFICATE_LENGTH = 991;
export const DEFAULT_EC_CERTIFICATE_LENGTH = 596;

export const PRESET_NAMES = [
  'full',
  'ec',
  'rsa',
  'ec-keygen',
  'ec-import',
  'rsa-import',
  'preprovisioned-ec',
  'preprovisioned-rsa',
  'jitp',
] as const;

export type PresetName = (typeof PRESET_NAMES)[number];

type Flags = Pick<
  QualificationConfig,
  | 'rsaKeySupport'
  | 'ecKeySupport'
  | 'importPrivateKeySupport'
  | 'generateKeyPairSupport'
  | 'preprovisionedSupport'
  | 'jitpCodeVerifyRootCertSupported'
>;

function flags(
  keys: 'rsa' | 'ec' | 'both',
  provisioning: 'import' | 'generate' | 'both' | 'preprovisioned',
  jitp = false,
): Flags {
  return {
    rsaKeySupport: keys !== 'ec',
    ecKeySupport: keys !== 'rsa',
    importPrivateKeySupport: provisioning === 'import' || provisioning === 'both',
    generateKeyPairSupport: provisioning === 'generate' || provisioning === 'both',
    preprovisionedSupport: provisioning === 'preprovisioned',
    jitpCodeVerifyRootCertSupported: jitp,
  };
}

const PRESETS: Record<PresetName, Flags> = {
  full: flags('both', 'both'),
  ec: flags('ec', 'both'),
  rsa: flags('rsa', 'both'),
  'ec-keygen': flags('ec', 'generate'),
  'ec-import': flags('ec', 'import'),
  'rsa-import': flags('rsa', 'import'),
  'preprovisioned-ec': flags('ec', 'preprovisioned'),
  'preprovisioned-rsa': flags('rsa', 'preprovisioned'),
  jitp: flags('both', 'both', true),
};

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

/** A complete configuration for a preset, optionally with some fields replaced. */
export function presetConfig(
  name: PresetName,
  overrides: Partial<QualificationConfig> = {},
): QualificationConfig {
  return {
    ...PRESETS[name],
    labels: { ...DEFAULT_LABELS },
    credentials: { ...DEFAULT_CREDENTIALS },
    rsaCertificateLength: DEFAULT_RSA_CERTIFICATE_LENGTH,
    ecCertificateLength: DEFAULT_EC_CERTIFICATE_LENGTH,
    ...overrides,
  };
}

/** The seed's rules (the C suite's #error lines); an empty list means the configuration is valid. */
export function checkConfig(c: QualificationConfig): string[] {
  const problems: string[] = [];
  if (!c.rsaKeySupport && !c.ecKeySupport) {
    problems.push('RSA or elliptic-curve keys (or both) must be supported.');
  }
  if (!c.importPrivateKeySupport && !c.generateKeyPairSupport && !c.preprovisionedSupport) {
    problems.push(
      'The device must have some mechanism configured to provision the PKCS #11 stack ' +
        '(private-key import, key-pair generation or pre-provisioned credentials).',
    );
  }
  if (c.preprovisionedSupport && (c.importPrivateKeySupport || c.generateKeyPairSupport)) {
    problems.push(
      'Pre-provisioned credentials must be tested alone, without another provisioning mechanism.',
    );
  }
  if (c.preprovisionedSupport && c.rsaKeySupport && c.ecKeySupport) {
    problems.push('Pre-provisioned credentials must be tested with only one key type (RSA or EC).');
  }
  const labels = Object.entries(c.labels).filter(([, v]) => typeof v !== 'string' || v === '');
  for (const [k] of labels) problems.push(`Label ${k} must be a non-empty string.`);
  return problems;
}
