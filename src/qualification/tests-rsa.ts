/**
 * Full_PKCS11_RSA: import, find, attribute reads (the private exponent must be sensitive), CKM_RSA_PKCS
 * signing checked independently, concurrent finds and reads, destroy. The C sign test verifies with
 * mbedTLS but asserts the wrong variable; here the signature is really verified — against the test key
 * after an import, against the module's public key when the credentials were pre-provisioned. Layer L7.
 * @module
 */
import {
  CKA_MODULUS,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_VALUE,
  CKK_EC,
  CKK_RSA,
  CKM_RSA_PKCS,
  CKO_CERTIFICATE,
  CKO_PRIVATE_KEY,
  CKR_ATTRIBUTE_SENSITIVE,
  CKR_OK,
} from '../pkcs11/constants.js';
import {
  appendSha256AlgorithmIdentifierSequence,
  getAttribute,
  signThenQueryLength,
} from './cryptoki.js';
import { provisionCertificate, provisionPublicKey } from './provisioning.js';
import type { ProvisionMethod, Suite } from './suite.js';
import { rsaGetAttributeValueMultiThreadTask } from './tasks.js';
import { findObjectMultiThread } from './tests-ec-sign.js';
import { check, type Group, type TestCase } from './unity.js';

const RSA_2048_SIGNATURE_LENGTH = 256;

/** The JITP trio of CreateObject: root and JITP certificates and the code-verification public key. */
export function createJitpObjects(s: Suite, keyType: 'rsa' | 'ec'): void {
  const c = s.config.credentials;
  const [cert, pub, name] =
    keyType === 'rsa'
      ? [c.rsaCertificate, c.rsaPublicKey, 'RSA']
      : [c.ecCertificate, c.ecPublicKey, 'EC'];
  const session = s.session();
  const root = provisionCertificate(s.p11, session, cert, s.labels.rootCertificate);
  check.rv(CKR_OK, root.rv, `Failed to create root ${name} certificate.`);
  check.that(root.handle !== null, `Invalid object handle returned for ${name} root certificate.`);
  const jitp = provisionCertificate(s.p11, session, cert, s.labels.jitpCertificate);
  check.rv(CKR_OK, jitp.rv, `Failed to create JITP ${name} certificate.`);
  check.that(jitp.handle !== null, `Invalid object handle returned for ${name} JITP certificate.`);
  const kt = keyType === 'rsa' ? CKK_RSA : CKK_EC;
  const code = provisionPublicKey(
    s.p11,
    s.verifier,
    session,
    pub,
    kt,
    s.labels.codeVerificationKey,
  );
  check.rv(CKR_OK, code.rv, `Failed to create ${name} code sign public key.`);
  check.that(
    code.handle !== null,
    `Invalid object handle returned for ${name} code sign public key.`,
  );
}

function getAttributeValue(s: Suite): void {
  const session = s.session();
  const cert = s.find(s.labels.certificate, CKO_CERTIFICATE);
  check.rv(CKR_OK, cert.rv, 'Failed to find RSA certificate.');
  check.that(cert.handle !== null, 'Invalid object handle found for RSA certificate.');
  const expected = s.config.rsaCertificateLength;
  const length = getAttribute(s.p11, session, cert.handle, CKA_VALUE);
  check.rv(CKR_OK, length, 'Failed to get RSA certificate value length.');
  check.that(
    length.value?.length === expected,
    'GetAttributeValue returned incorrect length of RSA certificate value',
  );
  const value = getAttribute(s.p11, session, cert.handle, CKA_VALUE);
  check.rv(CKR_OK, value, 'Failed to get RSA certificate value.');
  check.that(
    value.value?.length === expected,
    'GetAttributeValue returned incorrect length of RSA certificate value',
  );
  if (!value.value?.equals(s.creds.rsaCertificateDer)) {
    check.fail('Compare imported RSA certificate failed.');
  }
  const priv = s.find(s.labels.privateKey, CKO_PRIVATE_KEY);
  check.rv(CKR_OK, priv.rv, 'Failed to find RSA private key.');
  check.that(priv.handle !== null, 'Invalid object handle found for RSA private key.');
  const secret = getAttribute(s.p11, session, priv.handle, CKA_PRIVATE_EXPONENT);
  check.rv(
    CKR_ATTRIBUTE_SENSITIVE,
    secret,
    'Incorrect error code retrieved when trying to obtain private key.',
  );
  check.that(secret.value === undefined, 'Private key bytes returned when they should not be.');
}

function sign(s: Suite, method: ProvisionMethod): void {
  const { privateKey, publicKey } = s.findObjectTest();
  const session = s.session();
  const hash = new Uint8Array(32);
  const hashPlusOid = appendSha256AlgorithmIdentifierSequence(hash);
  const signature = signThenQueryLength(
    s.p11,
    session,
    { mechanism: CKM_RSA_PKCS },
    privateKey,
    hashPlusOid,
    { room: RSA_2048_SIGNATURE_LENGTH, length: RSA_2048_SIGNATURE_LENGTH },
    'RSA',
    'RSA Sign returned an unexpected signature length.',
  );

  let modulus: Uint8Array | undefined = s.creds.rsaPrivate.n;
  let exponent: Uint8Array | undefined = s.creds.rsaPrivate.e;
  if (method === 'preprovisioned') {
    // The device's own key is unknown to the suite: verify with the public key it reports.
    const n = getAttribute(s.p11, session, publicKey, CKA_MODULUS);
    check.rv(CKR_OK, n, 'Failed to read the RSA public key modulus.');
    const e = getAttribute(s.p11, session, publicKey, CKA_PUBLIC_EXPONENT);
    check.rv(CKR_OK, e, 'Failed to read the RSA public key exponent.');
    modulus = n.value;
    exponent = e.value;
  }
  check.that(
    modulus !== undefined &&
      exponent !== undefined &&
      s.verifier.verifyRsaPkcs1Sha256(modulus, exponent, hash, signature),
    'mbedTLS failed to verify RSA signature.',
  );
}

async function getAttributeValueMultiThread(s: Suite): Promise<void> {
  const objects = s.findObjectTest();
  const sessions = s.openTaskSessions();
  await s.multiThread(
    rsaGetAttributeValueMultiThreadTask,
    sessions.map((session) => ({ session, ...objects })),
    [objects.privateKey, objects.certificate],
  );
  s.closeTaskSessions(sessions);
}

export function rsaGroup(s: Suite): Group {
  const group = 'Full_PKCS11_RSA';
  const c = s.config;
  const t = (name: string, run: TestCase['run']): TestCase => ({ group, name, run });
  const tests: TestCase[] = [];
  if (c.rsaKeySupport) {
    if (c.importPrivateKeySupport) {
      tests.push(
        t('PKCS11_RSA_CreateObject', () => {
          s.provisionImport('rsa');
          if (c.jitpCodeVerifyRootCertSupported) createJitpObjects(s, 'rsa');
        }),
      );
    }
    // PKCS11_RSA_GenerateKeyPair exists in the C suite but is not run ("not currently supported").
    tests.push(
      t('PKCS11_RSA_FindObject', () => s.objectTest('rsa', () => void s.findObjectTest())),
      t('PKCS11_RSA_GetAttributeValue', () => s.objectTest('rsa', () => getAttributeValue(s))),
      t('PKCS11_RSA_Sign', () => s.objectTest('rsa', (m) => sign(s, m))),
      t('PKCS11_RSA_FindObjectMultiThread', () =>
        s.objectTest('rsa', () => findObjectMultiThread(s)),
      ),
      t('PKCS11_RSA_GetAttributeValueMultiThread', () =>
        s.objectTest('rsa', () => getAttributeValueMultiThread(s)),
      ),
    );
    if (!c.preprovisionedSupport)
      tests.push(t('PKCS11_RSA_DestroyObject', s.destroyObjectTest('rsa')));
  }
  return s.group(group, tests);
}
