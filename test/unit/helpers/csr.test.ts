import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initializePkcs11Session, initializePkcs11Token } from '../../../src/helpers/core.js';
import { createCsr } from '../../../src/helpers/csr.js';
import { parseKeyType } from '../../../src/helpers/key-types.js';
import { generateKeyPair } from '../../../src/helpers/keygen.js';
import { formatName, parseSubject } from '../../../src/helpers/names.js';
import { encodePem } from '../../../src/helpers/pem.js';
import { assertRv, C, freshModule, PAL_PORTS, SO_PIN, USER_PIN } from '../../helpers/token.js';
import { OPENSSL_MISSING, openssl, scratch } from './openssl.js';

function token() {
  const m = freshModule(PAL_PORTS[0]!);
  initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
  return { p11: m.p11, s: initializePkcs11Session(m.p11, { pin: USER_PIN }) };
}

describe('subjects', () => {
  it('reads OpenSSL subject syntax, escapes and multi-valued RDNs, and prints RFC 4514', () => {
    assert.equal(
      formatName(parseSubject('/C=DE/O=Acme, Inc./CN=device 1')),
      'CN=device 1,O=Acme\\, Inc.,C=DE',
    );
    assert.equal(formatName(parseSubject('/CN=a\\/b/OU=x+UID=7/')), 'OU=x+UID=7,CN=a/b');
    assert.equal(formatName(parseSubject('/1.2.3.4=custom')), '1.2.3.4=custom');
  });

  for (const bad of ['CN=x', '/CN', '/XX=y', '/C=DEU', '/CN=', '//CN=x', '/emailAddress=ü@x']) {
    it(`refuses the subject '${bad}' → CKR_ARGUMENTS_BAD`, () => {
      assertRv(() => parseSubject(bad), C.CKR_ARGUMENTS_BAD);
    });
  }
});

describe('certification requests', () => {
  for (const spec of ['EC:prime256v1', 'EC:secp384r1', 'EC:secp521r1', 'rsa:2048']) {
    it(`signs a PKCS#10 request with a ${spec} key on the token that openssl req -verify accepts`, {
      skip: OPENSSL_MISSING,
    }, async () => {
      const t = token();
      const g = await generateKeyPair(t.p11, t.s, { keyType: parseKeyType(spec), label: 'k' });
      const der = createCsr(t.p11, t.s, {
        privateKey: g.privateKey,
        subject: '/CN=thing 1/O=Acme/C=US',
      });
      const tmp = scratch();
      try {
        writeFileSync(join(tmp.dir, 'req.pem'), encodePem('CERTIFICATE REQUEST', der));
        const out = openssl(['req', '-verify', '-in', 'req.pem', '-noout', '-subject'], tmp.dir);
        assert.match(out, /CN\s*=\s*thing 1/);
      } finally {
        tmp.cleanup();
      }
    });
  }

  it('finds no public key for an EC private key without one → CKR_ARGUMENTS_BAD', async () => {
    const t = token();
    const g = await generateKeyPair(t.p11, t.s, {
      keyType: parseKeyType('EC:prime256v1'),
      label: 'k',
    });
    t.p11.C_DestroyObject(t.s, g.publicKey);
    assertRv(
      () => createCsr(t.p11, t.s, { privateKey: g.privateKey, subject: '/CN=x' }),
      C.CKR_ARGUMENTS_BAD,
    );
    // given the key data instead, it signs
    assert.ok(
      createCsr(t.p11, t.s, {
        privateKey: g.privateKey,
        publicKey: g.publicKeyData,
        subject: '/CN=x',
      }).length > 100,
    );
  });
});
