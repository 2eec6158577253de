import assert from 'node:assert/strict';
import {
  constants,
  createPrivateKey,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RsaKey } from '../../../../src/adapters/crypto-node/rsa.js';
import { rsaDecrypt, rsaDecryptAsync } from '../../../../src/adapters/crypto-node/rsa-cipher.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_ENCRYPTED_DATA_INVALID } from '../../../../src/pkcs11/constants.js';

/** From dist/test/unit/adapters/crypto-node/ to the repository's test/vectors/rsa/. */
const FILE = new URL(
  '../../../../../test/vectors/rsa/cfrg-rsa-guidance-implicit-rejection.json',
  import.meta.url,
);

interface Vectors {
  source: string;
  keys: Record<string, string>;
  sections: {
    section: string;
    key: string;
    cases: { id: string; ciphertext: string; message: string }[];
  }[];
}

const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as Vectors;
const PKCS1 = { type: 'pkcs1' } as const;

function keyPair(pkcs8: string): { object: KeyObject; key: RsaKey } {
  const object = createPrivateKey({
    key: Buffer.from(pkcs8, 'base64'),
    format: 'der',
    type: 'pkcs8',
  });
  const j = object.export({ format: 'jwk' });
  const b = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  const key = new RsaKey({
    n: b(j.n),
    e: b(j.e),
    d: b(j.d),
    p: b(j.p),
    q: b(j.q),
    dp: b(j.dp),
    dq: b(j.dq),
    qi: b(j.qi),
  });
  return { object, key };
}

/** OpenSSL 3.2+ does implicit rejection in privateDecrypt (Node 22 and 24); Node 20 refuses the padding. */
function opensslImplicitRejection(object: KeyObject, c: Uint8Array): Buffer | undefined {
  try {
    return privateDecrypt({ key: object, padding: constants.RSA_PKCS1_PADDING }, c);
  } catch {
    return undefined;
  }
}

describe('RSAES-PKCS1-v1_5 decryption with implicit rejection', () => {
  it('the vector file names the draft and holds its 36 cases (B.1, B.2, B.4)', () => {
    assert.match(vectors.source, /draft-irtf-cfrg-rsa-guidance/);
    assert.deepEqual(
      vectors.sections.map((s) => [s.section, s.cases.length]),
      [
        ['B.1', 12],
        ['B.2', 12],
        ['B.4', 12],
      ],
    );
  });

  for (const sec of vectors.sections) {
    it(`${sec.section} (${sec.key}): every ciphertext decrypts to the draft's message, synthetic ones included`, () => {
      const { key } = keyPair(vectors.keys[sec.key] as string);
      for (const t of sec.cases) {
        const got = rsaDecrypt(key, PKCS1, Buffer.from(t.ciphertext, 'hex'));
        assert.equal(Buffer.from(got).toString('hex'), t.message, t.id);
      }
    });
  }

  it('round-trips what OpenSSL encrypts, for every message length a 2048-bit key takes', () => {
    const { object, key } = keyPair(vectors.keys.k2048 as string);
    for (const length of [0, 1, 16, 32, 200, 245]) {
      const m = randomBytes(length);
      const c = publicEncrypt({ key: object, padding: constants.RSA_PKCS1_PADDING }, m);
      assert.deepEqual(Buffer.from(rsaDecrypt(key, PKCS1, c)), m, `${length} bytes`);
    }
  });

  it('a wrong padding gives a deterministic message, not an error; it changes with the ciphertext', () => {
    const { key } = keyPair(vectors.keys.k2048 as string);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = randomBytes(256);
      c[0] = 0x01; // below the modulus (which starts 0xc8)
      const a = Buffer.from(rsaDecrypt(key, PKCS1, c)).toString('hex');
      assert.equal(Buffer.from(rsaDecrypt(key, PKCS1, c)).toString('hex'), a);
      assert.ok(a.length / 2 <= 256 - 11);
      seen.add(a);
    }
    assert.ok(seen.size >= 19, 'different ciphertexts, different synthetic messages');
  });

  it('the worker path (C_DecryptAsync) answers as the synchronous one, right and wrong paddings alike', async () => {
    const { object, key } = keyPair(vectors.keys.k2048 as string);
    const right = publicEncrypt(
      { key: object, padding: constants.RSA_PKCS1_PADDING },
      Buffer.from('message'),
    );
    const wrong = randomBytes(256);
    wrong[0] = 0x01;
    for (const c of [right, wrong]) {
      assert.deepEqual(
        Buffer.from(await rsaDecryptAsync(key, PKCS1, c)),
        Buffer.from(rsaDecrypt(key, PKCS1, c)),
      );
    }
    assert.equal(Buffer.from(await rsaDecryptAsync(key, PKCS1, right)).toString(), 'message');
  });

  it('answers as OpenSSL’s own implicit rejection on random ciphertexts', {
    skip: process.versions.node.startsWith('20.')
      ? 'Node 20’s OpenSSL refuses PKCS#1 v1.5 decryption'
      : false,
  }, () => {
    const { object, key } = keyPair(vectors.keys.k2049 as string);
    for (let i = 0; i < 30; i++) {
      const c = randomBytes(257);
      c[0] = 0;
      const theirs = opensslImplicitRejection(object, c);
      assert.ok(theirs, 'OpenSSL answers');
      assert.deepEqual(Buffer.from(rsaDecrypt(key, PKCS1, c)), theirs);
    }
  });

  it('a ciphertext not below the modulus → CKR_ENCRYPTED_DATA_INVALID', () => {
    const { key } = keyPair(vectors.keys.k2048 as string);
    assert.throws(
      () => rsaDecrypt(key, PKCS1, new Uint8Array(256).fill(0xff)),
      (e) => isPkcs11Error(e, CKR_ENCRYPTED_DATA_INVALID),
    );
  });
});
