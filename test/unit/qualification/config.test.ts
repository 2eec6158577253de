import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pemToDer } from '../../../src/qualification/cryptoki.js';
import {
  checkConfig,
  DEFAULT_CREDENTIALS,
  DEFAULT_EC_CERTIFICATE_LENGTH,
  DEFAULT_RSA_CERTIFICATE_LENGTH,
  PRESET_NAMES,
  presetConfig,
  QualificationConfigError,
  resolveConfig,
} from '../../../src/qualification/index.js';

/** The fixtures live in the source tree; tests run from dist/test/unit/qualification. */
const fixture = (name: string) =>
  readFileSync(
    fileURLToPath(new URL(`../../../../test/fixtures/qualification/${name}`, import.meta.url)),
    'utf8',
  ).trim();

describe('qualification presets', () => {
  it('every named preset satisfies the seed rules', () => {
    for (const name of PRESET_NAMES) assert.deepEqual(checkConfig(presetConfig(name)), [], name);
  });

  it('preprovisioned presets enable exactly one key type and no other provisioning', () => {
    for (const name of ['preprovisioned-ec', 'preprovisioned-rsa'] as const) {
      const c = presetConfig(name);
      assert.ok(c.preprovisionedSupport && !c.importPrivateKeySupport && !c.generateKeyPairSupport);
      assert.notEqual(c.rsaKeySupport, c.ecKeySupport);
    }
    assert.ok(presetConfig('jitp').jitpCodeVerifyRootCertSupported);
  });
});

describe('qualification configuration rules', () => {
  const full = presetConfig('full');
  const cases: Array<[string, Partial<typeof full>, RegExp]> = [
    ['no key type', { rsaKeySupport: false, ecKeySupport: false }, /RSA or elliptic-curve/],
    [
      'no provisioning',
      { importPrivateKeySupport: false, generateKeyPairSupport: false },
      /mechanism configured to provision/,
    ],
    ['pre-provisioned with import', { preprovisionedSupport: true }, /tested alone/],
    [
      'pre-provisioned with both key types',
      {
        preprovisionedSupport: true,
        importPrivateKeySupport: false,
        generateKeyPairSupport: false,
      },
      /only one key type/,
    ],
  ];
  for (const [what, change, message] of cases) {
    it(`rejects ${what} with a clear error`, () => {
      assert.throws(
        () => resolveConfig({ ...full, ...change }),
        (e: unknown) => e instanceof QualificationConfigError && message.test(e.message),
      );
    });
  }

  it('rejects an empty label', () => {
    const labels = { ...full.labels, certificate: '' };
    assert.match(checkConfig({ ...full, labels }).join(' '), /certificate/);
  });
});

describe('qualification test credentials', () => {
  it('the embedded PEM equals the committed fixtures', () => {
    const files: Array<[keyof typeof DEFAULT_CREDENTIALS, string]> = [
      ['rsaPrivateKey', 'rsa-private-key.pem'],
      ['rsaPublicKey', 'rsa-public-key.pem'],
      ['rsaCertificate', 'rsa-certificate.pem'],
      ['ecPrivateKey', 'ec-private-key.pem'],
      ['ecPublicKey', 'ec-public-key.pem'],
      ['ecCertificate', 'ec-certificate.pem'],
    ];
    for (const [key, file] of files) assert.equal(DEFAULT_CREDENTIALS[key], fixture(file), file);
  });

  it('the preset certificate lengths are the DER lengths of the certificates', () => {
    assert.equal(
      pemToDer(DEFAULT_CREDENTIALS.rsaCertificate)?.length,
      DEFAULT_RSA_CERTIFICATE_LENGTH,
    );
    assert.equal(
      pemToDer(DEFAULT_CREDENTIALS.ecCertificate)?.length,
      DEFAULT_EC_CERTIFICATE_LENGTH,
    );
  });
});
