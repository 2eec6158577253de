import assert from 'node:assert/strict';
import { verify, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  findObjects,
  initializePkcs11Session,
  initializePkcs11Token,
} from '../../../src/helpers/core.js';
import { readOne } from '../../../src/helpers/credentials.js';
import { parseKeyType } from '../../../src/helpers/key-types.js';
import { generateKeyPair, readPublicKey } from '../../../src/helpers/keygen.js';
import { encodeSpki, samePublicKey } from '../../../src/helpers/keys.js';
import { ulongOf } from '../../../src/helpers/module.js';
import { decodePem } from '../../../src/helpers/pem.js';
import { ecdsaRawToDer } from '../../../src/helpers/pki.js';
import {
  createObjects,
  keyIdOf,
  provisionCertificate,
  provisionPrivateKey,
  provisionPublicKey,
  publicKeyTemplate,
} from '../../../src/helpers/provision.js';
import { readChildren, readSingle } from '../../../src/util/der.js';
import { freshKeyPair } from '../../helpers/keypair.js';
import { assertRv, C, freshModule, PAL_PORTS, SO_PIN, USER_PIN } from '../../helpers/token.js';
import { OPENSSL_MISSING, openssl, scratch, selfSigned } from './openssl.js';

/** The fields of a SEC1 ECPrivateKey, alone or inside a PKCS#8 PrivateKeyInfo. */
function sec1Fields(der: Uint8Array) {
  const f = readChildren(readSingle(der).value);
  const inner = f.length === 3 && f[2]?.tag === 0x04 ? f[2].value : undefined;
  return inner ? readChildren(readSingle(inner).value) : f;
}

function token() {
  const m = freshModule(PAL_PORTS[0]!);
  initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
  return { m, p11: m.p11, s: initializePkcs11Session(m.p11, { pin: USER_PIN }) };
}

function attrs(t: ReturnType<typeof token>, h: Buffer, types: number[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const a of t.p11.C_GetAttributeValue(
    t.s,
    h,
    types.map((type) => ({ type })),
  )) {
    out.set(a.type, a.value as Buffer);
  }
  return out;
}
const bool = (v: Buffer | undefined) => v?.[0] === 1;

describe('provisioning', () => {
  it('imports an EC key pair: private, sensitive, not extractable, signs; the public key verifies; shared CKA_ID', () => {
    const t = token();
    const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: 'P-384' });
    const k = provisionPrivateKey(
      t.p11,
      t.s,
      privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      {
        label: 'device',
      },
    );
    const a = attrs(t, k.privateKey, [
      C.CKA_PRIVATE,
      C.CKA_SENSITIVE,
      C.CKA_EXTRACTABLE,
      C.CKA_SIGN,
      C.CKA_TOKEN,
      C.CKA_ID,
      C.CKA_LABEL,
    ]);
    assert.ok(
      bool(a.get(C.CKA_PRIVATE)) &&
        bool(a.get(C.CKA_SENSITIVE)) &&
        bool(a.get(C.CKA_SIGN)) &&
        bool(a.get(C.CKA_TOKEN)),
    );
    assert.equal(bool(a.get(C.CKA_EXTRACTABLE)), false);
    assert.equal(a.get(C.CKA_LABEL)?.toString(), 'device');
    assert.deepEqual(Uint8Array.from(a.get(C.CKA_ID) ?? []), k.id);
    assert.equal(k.id.length, 20);
    assertRv(
      () => t.p11.C_GetAttributeValue(t.s, k.privateKey, [{ type: C.CKA_VALUE }]),
      C.CKR_ATTRIBUTE_SENSITIVE,
    );
    const pub = attrs(t, k.publicKey as Buffer, [C.CKA_ID, C.CKA_VERIFY, C.CKA_PRIVATE]);
    assert.deepEqual(Uint8Array.from(pub.get(C.CKA_ID) ?? []), k.id);
    assert.ok(bool(pub.get(C.CKA_VERIFY)) && !bool(pub.get(C.CKA_PRIVATE)));
    assert.deepEqual(
      encodeSpki(readPublicKey(t.p11, t.s, k.publicKey as Buffer)),
      Uint8Array.from(publicKey.export({ format: 'der', type: 'spki' })),
    );
    const msg = Buffer.from('signed on the token');
    t.p11.C_SignInit(t.s, { mechanism: C.CKM_ECDSA_SHA256 }, k.privateKey);
    const raw = t.p11.C_Sign(t.s, msg, Buffer.alloc(96));
    assert.ok(verify('sha256', msg, publicKey, ecdsaRawToDer(raw)));
  });

  it('imports an RSA key with every CRT component and signs with it', () => {
    const t = token();
    const { privateKey, publicKey } = freshKeyPair('rsa', { modulusLength: 2048 });
    const k = provisionPrivateKey(t.p11, t.s, privateKey.export({ format: 'der', type: 'pkcs1' }), {
      label: 'rsa',
    });
    const msg = Buffer.from('rsa');
    t.p11.C_SignInit(t.s, { mechanism: C.CKM_SHA256_RSA_PKCS }, k.privateKey);
    assert.ok(verify('sha256', msg, publicKey, t.p11.C_Sign(t.s, msg, Buffer.alloc(256))));
    const a = attrs(t, k.privateKey, [C.CKA_KEY_TYPE, C.CKA_DECRYPT]);
    assert.equal(ulongOf(a.get(C.CKA_KEY_TYPE)), C.CKK_RSA);
    assert.ok(bool(a.get(C.CKA_DECRYPT)));
  });

  it('imports a public key alone, and one given as a private key file with publicKeyLabel null makes no public object', () => {
    const t = token();
    const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const p = provisionPublicKey(
      t.p11,
      t.s,
      publicKey.export({ format: 'pem', type: 'spki' }) as string,
      { label: 'Code Verify Key' },
    );
    const k = provisionPrivateKey(t.p11, t.s, privateKey.export({ format: 'der', type: 'sec1' }), {
      label: 'x',
      publicKeyLabel: null,
    });
    assert.equal(k.publicKey, null);
    assert.deepEqual(p.id, k.id);
  });

  it('imports a certificate with CKA_SUBJECT, ISSUER, SERIAL_NUMBER and the CKA_ID of its key pair', {
    skip: OPENSSL_MISSING,
  }, () => {
    const t = token();
    const tmp = scratch();
    try {
      openssl(
        ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'key.pem'],
        tmp.dir,
      );
      selfSigned(tmp.dir, 'key.pem', 'cert.pem', '/CN=device 7/O=Acme');
      const k = provisionPrivateKey(t.p11, t.s, readFileSync(join(tmp.dir, 'key.pem')), {
        label: 'Device Priv TLS Key',
      });
      const pem = readFileSync(join(tmp.dir, 'cert.pem'), 'utf8');
      const c = provisionCertificate(t.p11, t.s, pem, { label: 'Device Cert' });
      assert.deepEqual(c.id, k.id);
      const x = new X509Certificate(pem);
      const a = attrs(t, c.certificate, [
        C.CKA_VALUE,
        C.CKA_SERIAL_NUMBER,
        C.CKA_SUBJECT,
        C.CKA_ISSUER,
        C.CKA_CERTIFICATE_TYPE,
      ]);
      assert.deepEqual(a.get(C.CKA_VALUE), x.raw);
      assert.equal(
        a.get(C.CKA_SERIAL_NUMBER)?.subarray(2).toString('hex').replace(/^0+/, '').toUpperCase(),
        x.serialNumber.replace(/^0+/, ''),
      );
      assert.deepEqual(a.get(C.CKA_SUBJECT), a.get(C.CKA_ISSUER), 'self-signed');
      assert.ok(a.get(C.CKA_SUBJECT)?.includes(Buffer.from('device 7')));
      assert.equal(ulongOf(a.get(C.CKA_CERTIFICATE_TYPE)), C.CKC_X_509);
    } finally {
      tmp.cleanup();
    }
  });

  for (const curve of ['P-256', 'P-384', 'P-521']) {
    it(`imports a ${curve} key stored without its public point (openssl ec -no_public): the token computes it`, {
      skip: OPENSSL_MISSING,
    }, () => {
      const t = token();
      const tmp = scratch();
      try {
        openssl(
          [
            'genpkey',
            '-algorithm',
            'EC',
            '-pkeyopt',
            `ec_paramgen_curve:${curve}`,
            '-out',
            'full.pem',
          ],
          tmp.dir,
        );
        openssl(['ec', '-in', 'full.pem', '-no_public', '-out', 'bare.pem'], tmp.dir);
        openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'bare.pem', '-out', 'bare8.pem'], tmp.dir);
        const want = readOne(
          openssl(['pkey', '-in', 'full.pem', '-pubout'], tmp.dir),
          'public-key',
        ).key;
        for (const file of ['bare.pem', 'bare8.pem']) {
          const bare = readFileSync(join(tmp.dir, file));
          const [block] = decodePem(bare.toString('latin1'));
          assert.ok(block && !sec1Fields(block.der).some((f) => f.tag === 0xa1), 'no public point');
          const parsed = readOne(bare, 'private-key').key;
          assert.deepEqual(parsed.kind === 'ec' && parsed.point, want.kind === 'ec' && want.point);
          const k = provisionPrivateKey(t.p11, t.s, bare, { label: file });
          assert.ok(samePublicKey(readPublicKey(t.p11, t.s, k.publicKey as Buffer), want));
          assert.deepEqual(k.id, keyIdOf(t.p11, t.s, want));
        }
        // the session objects used to compute the point are gone
        assert.equal(findObjects(t.p11, t.s, [{ type: C.CKA_TOKEN, value: false }]).length, 0);
      } finally {
        tmp.cleanup();
      }
    });
  }

  it('creates several objects all-or-nothing: a failing template destroys the ones made before it', () => {
    const t = token();
    const { publicKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const good = provisionPublicKey(t.p11, t.s, spki, { label: 'before' });
    const before = findObjects(t.p11, t.s, []).length;
    const pub = readPublicKey(t.p11, t.s, good.publicKey);
    const broken = publicKeyTemplate(
      { kind: 'ec', curve: 'P-256', point: new Uint8Array(65) },
      { label: 'bad' },
      new Uint8Array(1),
    );
    assertRv(
      () =>
        createObjects(t.p11, t.s, [publicKeyTemplate(pub, { label: 'first' }, good.id), broken]),
      C.CKR_ATTRIBUTE_VALUE_INVALID,
    );
    assert.equal(findObjects(t.p11, t.s, []).length, before);
  });

  it("replaces objects under a label only after the new one is stored ('replace'), refuses with 'error'", () => {
    const t = token();
    const one = freshKeyPair('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const two = freshKeyPair('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;
    const a = provisionPublicKey(t.p11, t.s, one, { label: 'k' });
    assertRv(
      () => provisionPublicKey(t.p11, t.s, two, { label: 'k', existing: 'error' }),
      C.CKR_ARGUMENTS_BAD,
    );
    const b = provisionPublicKey(t.p11, t.s, two, { label: 'k', existing: 'replace' });
    const left = findObjects(t.p11, t.s, [{ type: C.CKA_LABEL, value: 'k' }]);
    assert.deepEqual(left, [b.publicKey]);
    assert.notDeepEqual(a.id, b.id);
  });
});

describe('key generation on the token', () => {
  for (const spec of ['EC:prime256v1', 'EC:secp521r1', 'rsa:2048']) {
    it(`generates ${spec}: local, never extractable, CKA_ID from the public key, usable with node:crypto`, async () => {
      const t = token();
      const g = await generateKeyPair(t.p11, t.s, { keyType: parseKeyType(spec), label: 'gen' });
      const a = attrs(t, g.privateKey, [
        C.CKA_LOCAL,
        C.CKA_NEVER_EXTRACTABLE,
        C.CKA_ID,
        C.CKA_SENSITIVE,
      ]);
      assert.ok(
        bool(a.get(C.CKA_LOCAL)) &&
          bool(a.get(C.CKA_NEVER_EXTRACTABLE)) &&
          bool(a.get(C.CKA_SENSITIVE)),
      );
      assert.deepEqual(Uint8Array.from(a.get(C.CKA_ID) ?? []), g.id);
      assert.deepEqual(
        Uint8Array.from(attrs(t, g.publicKey, [C.CKA_ID]).get(C.CKA_ID) ?? []),
        g.id,
      );
      const spki = Buffer.from(encodeSpki(g.publicKeyData));
      const msg = Buffer.from('generated');
      const ec = g.publicKeyData.kind === 'ec';
      t.p11.C_SignInit(
        t.s,
        { mechanism: ec ? C.CKM_ECDSA_SHA256 : C.CKM_SHA256_RSA_PKCS },
        g.privateKey,
      );
      const sig = t.p11.C_Sign(t.s, msg, Buffer.alloc(512));
      const key = { key: spki, format: 'der' as const, type: 'spki' as const };
      assert.ok(verify('sha256', msg, key, ec ? ecdsaRawToDer(sig) : sig));
    });
  }

  it('writes the public key PEM openssl reads', { skip: OPENSSL_MISSING }, async () => {
    const t = token();
    const tmp = scratch();
    try {
      const g = await generateKeyPair(t.p11, t.s, {
        keyType: parseKeyType('EC:secp384r1'),
        label: 'gen',
      });
      const { encodePem } = await import('../../../src/helpers/pem.js');
      writeFileSync(join(tmp.dir, 'pub.pem'), encodePem('PUBLIC KEY', encodeSpki(g.publicKeyData)));
      assert.match(
        openssl(['pkey', '-pubin', '-in', 'pub.pem', '-noout', '-text'], tmp.dir),
        /384 bit/,
      );
    } finally {
      tmp.cleanup();
    }
  });
});
