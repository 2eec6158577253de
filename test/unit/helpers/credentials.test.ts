import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readCredentials, readOne } from '../../../src/helpers/credentials.js';
import { encodeSpki, type PrivateKeyData, parseSpki } from '../../../src/helpers/keys.js';
import { base64Decode, base64Encode, decodePem, encodePem } from '../../../src/helpers/pem.js';
import { fromHex } from '../../../src/util/bytes.js';
import {
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
} from '../../../src/util/der.js';
import { ecKeyParts, freshKeyPair } from '../../helpers/keypair.js';
import { assertRv, C } from '../../helpers/token.js';

const b64u = (s: string | undefined) => Uint8Array.from(Buffer.from(s ?? '', 'base64url'));
/** Both encodings of an exported key (the overloads need literal formats). */
const both = (k: KeyObject, type: 'pkcs8' | 'sec1' | 'pkcs1'): Array<string | Uint8Array> => [
  k.export({ format: 'pem', type }) as string,
  k.export({ format: 'der', type }),
];
const strip = (b: Uint8Array) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

function assertMatches(key: PrivateKeyData, node: KeyObject) {
  const jwk = node.export({ format: 'jwk' });
  if (key.kind === 'rsa') {
    for (const f of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      assert.deepEqual(strip(key[f]), strip(b64u(jwk[f])), f);
    }
  } else if (key.kind === 'ec') {
    assert.deepEqual(strip(key.d), strip(b64u(jwk.d)));
    // Edwards and Montgomery keys (JWK kty OKP) have one coordinate: the raw public key.
    const point =
      jwk.kty === 'OKP' ? b64u(jwk.x) : Uint8Array.from([4, ...b64u(jwk.x), ...b64u(jwk.y)]);
    assert.deepEqual(key.point, point);
  } else assert.fail(`no JWK to compare a ${key.kind} key with`);
}

describe('PEM and base64', () => {
  it('base64 agrees with Buffer both ways, and only canonical text decodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = base64Encode(bytes);
        assert.equal(text, Buffer.from(bytes).toString('base64'));
        assert.deepEqual(base64Decode(text), bytes);
      }),
    );
    for (const bad of ['QQ', 'QR==', 'QUI', 'Q===', 'QU!=', '====']) {
      assert.throws(() => base64Decode(bad), RangeError, bad);
    }
  });

  it('reads every block of a PEM text and ignores the text around them', () => {
    const pem = `subject=CN = x\n${encodePem('CERTIFICATE', Uint8Array.of(1, 2, 3))}junk\r\n${encodePem('PRIVATE KEY', Uint8Array.of(4))}`;
    const blocks = decodePem(pem);
    assert.deepEqual(
      blocks.map((b) => [b.label, [...b.der]]),
      [
        ['CERTIFICATE', [1, 2, 3]],
        ['PRIVATE KEY', [4]],
      ],
    );
  });

  const BAD_PEM: Array<[string, string]> = [
    ['a missing END line', '-----BEGIN CERTIFICATE-----\nAQID\n'],
    ['a mismatched END line', '-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n'],
    ['bad base64', '-----BEGIN CERTIFICATE-----\nAQ*D\n-----END CERTIFICATE-----\n'],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'],
  ];
  for (const [what, text] of BAD_PEM) {
    it(`refuses ${what} → CKR_ARGUMENTS_BAD`, () => {
      assertRv(() => decodePem(text), C.CKR_ARGUMENTS_BAD);
    });
  }
});

describe('reading credentials', () => {
  for (const curve of ['P-256', 'P-384', 'P-521']) {
    it(`reads ${curve} keys as PKCS#8 and SEC1, PEM and DER, and public keys as SPKI`, () => {
      const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: curve });
      for (const type of ['pkcs8', 'sec1'] as const) {
        for (const encoded of both(privateKey, type)) {
          const [c] = readCredentials(encoded);
          assert.equal(c?.kind, 'private-key');
          if (c?.kind === 'private-key') assertMatches(c.key, privateKey);
        }
      }
      const spki = publicKey.export({ format: 'der', type: 'spki' });
      const pub = readOne(spki, 'public-key').key;
      assert.deepEqual(encodeSpki(pub), Uint8Array.from(spki));
      assert.deepEqual(
        readOne(publicKey.export({ format: 'pem', type: 'spki' }) as string, 'public-key').key,
        pub,
      );
    });
  }

  it('reads RSA keys as PKCS#8 and PKCS#1, and public keys as SPKI and PKCS#1', () => {
    const { privateKey, publicKey } = freshKeyPair('rsa', { modulusLength: 2048 });
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      for (const encoded of both(privateKey, type)) {
        assertMatches(readOne(encoded, 'private-key').key, privateKey);
      }
    }
    const spki = Uint8Array.from(publicKey.export({ format: 'der', type: 'spki' }));
    assert.deepEqual(encodeSpki(parseSpki(spki)), spki);
    const pkcs1 = publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    assert.deepEqual(readOne(pkcs1, 'public-key').key, parseSpki(spki));
  });

  const keys: Array<[string, () => KeyObject]> = [
    ['EC', () => freshKeyPair('ec', { namedCurve: 'P-256' }).privateKey],
    ['RSA', () => freshKeyPair('rsa', { modulusLength: 2048 }).privateKey],
  ];
  for (const [kind, make] of keys) {
    it(`decrypts an encrypted PKCS#8 ${kind} key on the host with its passphrase`, () => {
      const privateKey = make();
      for (const cipher of ['aes-256-cbc', 'aes-128-cbc']) {
        const pem = privateKey.export({
          format: 'pem',
          type: 'pkcs8',
          cipher,
          passphrase: 'pass wörd',
        });
        const key = readOne(pem, 'private-key', { passphrase: 'pass wörd' }).key;
        assertMatches(key, privateKey);
      }
      const der = privateKey.export({
        format: 'der',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: '',
      });
      assertMatches(readOne(der, 'private-key', { passphrase: '' }).key, privateKey);
    });
  }

  it('decrypts without a token session', () => {
    const { privateKey } = freshKeyPair('ec', { namedCurve: 'P-384' });
    const pem = privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    });
    assertMatches(readOne(pem, 'private-key', { passphrase: 'x' }).key, privateKey);
  });

  it('refuses a PBKDF2 iteration count that would run for hours → CKR_ARGUMENTS_BAD', () => {
    const pbkdf2 = encodeSequence(
      encodeOid('1.2.840.113549.1.5.12'),
      encodeSequence(
        encodeTlv(0x04, new Uint8Array(8)),
        encodeUnsignedInteger(fromHex('7fffffff')),
      ),
    );
    const aes = encodeSequence(
      encodeOid('2.16.840.1.101.3.4.1.42'),
      encodeTlv(0x04, new Uint8Array(16)),
    );
    const der = encodeSequence(
      encodeSequence(encodeOid('1.2.840.113549.1.5.13'), encodeSequence(pbkdf2, aes)),
      encodeTlv(0x04, new Uint8Array(32)),
    );
    // 2^31 − 1 rounds: refused before OpenSSL starts them (else this test would not end).
    assertRv(() => readCredentials(der, { passphrase: 'x' }), C.CKR_ARGUMENTS_BAD);
  });

  it('refuses an encrypted key with a wrong or missing passphrase → CKR_ARGUMENTS_BAD', () => {
    const { privateKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'right',
    });
    assertRv(() => readOne(pem, 'private-key', { passphrase: 'wrong' }), C.CKR_ARGUMENTS_BAD);
    assertRv(() => readOne(pem, 'private-key'), C.CKR_ARGUMENTS_BAD);
  });

  it('reads Ed25519, Ed448, X25519 and X448 keys from PKCS#8 and SPKI (the RFC 8410 encodings)', () => {
    for (const type of ['ed25519', 'ed448', 'x25519', 'x448'] as const) {
      const { privateKey, publicKey } = freshKeyPair(type as 'ed25519');
      const [priv] = readCredentials(privateKey.export({ format: 'pem', type: 'pkcs8' }));
      assert.equal(priv?.kind, 'private-key');
      if (priv?.kind === 'private-key') assertMatches(priv.key, privateKey);
      const [pub] = readCredentials(publicKey.export({ format: 'der', type: 'spki' }));
      assert.equal(
        pub?.kind === 'public-key' && pub.key.kind === 'ec' && pub.key.curve.toLowerCase(),
        type,
      );
      if (pub?.kind === 'public-key') {
        assert.deepEqual(
          encodeSpki(pub.key),
          new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
        );
      }
    }
  });

  it('reads DSA keys from PKCS#8 and SPKI: p, q, g, x and y as node:crypto wrote them', () => {
    const { privateKey, publicKey } = generateKeyPairSync('dsa', {
      modulusLength: 1024,
      divisorLength: 160,
    });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const [pub] = readCredentials(spki);
    assert.ok(pub?.kind === 'public-key' && pub.key.kind === 'dsa');
    assert.deepEqual(encodeSpki(pub.key), spki);
    const [priv] = readCredentials(privateKey.export({ format: 'pem', type: 'pkcs8' }));
    assert.ok(priv?.kind === 'private-key' && priv.key.kind === 'dsa');
    if (priv.key.kind === 'dsa' && pub.key.kind === 'dsa') {
      assert.deepEqual(priv.key.y, pub.key.y);
      assert.equal(priv.key.q.length, 20);
      // y = g^x mod p: the private value belongs to the public one.
      const n = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
      let y = 1n;
      let base = n(priv.key.g);
      for (let e = n(priv.key.x); e > 0n; e >>= 1n) {
        if (e & 1n) y = (y * base) % n(priv.key.p);
        base = (base * base) % n(priv.key.p);
      }
      assert.equal(y, n(pub.key.y));
    }
  });

  it('refuses legacy OpenSSL-encrypted PEM, another curve, DH keys and garbage → CKR_ARGUMENTS_BAD / CKR_CURVE_NOT_SUPPORTED', () => {
    const rsa = freshKeyPair('rsa', { modulusLength: 1024 }).privateKey;
    const legacy = rsa.export({
      format: 'pem',
      type: 'pkcs1',
      cipher: 'aes-128-cbc',
      passphrase: 'x',
    });
    assertRv(() => readCredentials(legacy), C.CKR_ARGUMENTS_BAD);
    const k1 = freshKeyPair('ec', { namedCurve: 'secp224k1' }).privateKey;
    assertRv(
      () => readCredentials(k1.export({ format: 'der', type: 'pkcs8' })),
      C.CKR_CURVE_NOT_SUPPORTED,
    );
    // @types/node 20 has no overload for 'dh'; node:crypto does.
    const dhPair = generateKeyPairSync as unknown as (
      type: 'dh',
      options: { group: string },
    ) => { privateKey: KeyObject };
    const dh = dhPair('dh', { group: 'modp14' }).privateKey;
    const dhPem = dh.export({ format: 'pem', type: 'pkcs8' }) as string;
    assertRv(() => readCredentials(dhPem), C.CKR_ARGUMENTS_BAD);
    for (const junk of [new Uint8Array(0), Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01), 'hello']) {
      assertRv(() => readCredentials(junk), C.CKR_ARGUMENTS_BAD);
    }
  });

  it('reads keys of every curve of the table, those node:crypto has no JWK for included', () => {
    for (const namedCurve of ['secp256k1', 'brainpoolP384t1', 'prime192v1', 'secp224r1']) {
      const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve });
      const parts = ecKeyParts(privateKey);
      const [cred] = readCredentials(privateKey.export({ format: 'der', type: 'pkcs8' }));
      assert.equal(cred?.kind, 'private-key');
      const key = cred?.kind === 'private-key' ? cred.key : undefined;
      assert.equal(key?.kind, 'ec');
      if (key?.kind !== 'ec') continue;
      assert.deepEqual(key.d, parts.d);
      assert.deepEqual(key.point, parts.point);
      const [pub] = readCredentials(publicKey.export({ format: 'der', type: 'spki' }));
      assert.deepEqual(
        pub?.kind === 'public-key' && pub.key.kind === 'ec' && pub.key.point,
        parts.point,
      );
    }
  });

  it('never throws anything but a Pkcs11Error on arbitrary DER-ish bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const input = Uint8Array.from([0x30, 0x81, bytes.length, ...bytes]);
        try {
          readCredentials(input);
        } catch (e) {
          assert.equal((e as Error).name, 'Pkcs11Error', String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
