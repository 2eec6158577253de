import assert from 'node:assert/strict';
import { createPublicKey, diffieHellman, generateKeyPairSync, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { initializePkcs11Session, initializePkcs11Token } from '../../../src/helpers/core.js';
import { parseAnyKeyType, parseKeyType } from '../../../src/helpers/key-types.js';
import { generateKeyPair, generateSecretKey } from '../../../src/helpers/keygen.js';
import { encodeSpki } from '../../../src/helpers/keys.js';
import { readAttribute, readUlongAttribute } from '../../../src/helpers/module.js';
import { dsaRawToDer } from '../../../src/helpers/pki.js';
import {
  assertRv,
  C,
  freshModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  USER_PIN,
} from '../../helpers/token.js';

function token(profile: 'compatible' | 'strict' = 'compatible') {
  const m = freshModule(PAL_PORTS[0]!, { ...TEST_TOKEN_OPTIONS, profile });
  initializePkcs11Token(m.p11, { soPin: SO_PIN, userPin: USER_PIN });
  return { p11: m.p11, s: initializePkcs11Session(m.p11, { pin: USER_PIN }) };
}
type T = ReturnType<typeof token>;

function flags(t: T, h: Buffer, types: number[]): boolean[] {
  return t.p11
    .C_GetAttributeValue(
      t.s,
      h,
      types.map((type) => ({ type })),
    )
    .map((a) => (a.value as Buffer)[0] === 1);
}

const MSG = Buffer.from('generated on the token');

function sign(t: T, key: Buffer, mechanism: number): Buffer {
  t.p11.C_SignInit(t.s, { mechanism }, key);
  return t.p11.C_Sign(t.s, MSG, Buffer.alloc(512));
}

describe('generating the new key pair types on the token', () => {
  for (const spec of ['EC:ed25519', 'EC:ed448'] as const) {
    it(`${spec}: CKK_EC_EDWARDS pair whose CKM_EDDSA signature node:crypto verifies against the SPKI`, async () => {
      const t = token();
      const g = await generateKeyPair(t.p11, t.s, { keyType: parseKeyType(spec), label: 'ed' });
      assert.equal(readUlongAttribute(t.p11, t.s, g.privateKey, C.CKA_KEY_TYPE), C.CKK_EC_EDWARDS);
      assert.deepEqual(flags(t, g.privateKey, [C.CKA_SIGN, C.CKA_SENSITIVE]), [true, true]);
      const spki = createPublicKey({
        key: Buffer.from(encodeSpki(g.publicKeyData)),
        format: 'der',
        type: 'spki',
      });
      assert.equal(spki.asymmetricKeyType, spec.slice(3));
      assert.ok(verify(null, MSG, spki, sign(t, g.privateKey, C.CKM_EDDSA)));
    });
  }

  it('EC:x25519: a pair that derives (not signs); CKM_ECDH1_DERIVE agrees with node:crypto', async () => {
    const t = token();
    const g = await generateKeyPair(t.p11, t.s, { keyType: parseKeyType('EC:x25519'), label: 'x' });
    assert.deepEqual(flags(t, g.privateKey, [C.CKA_SIGN, C.CKA_DERIVE]), [false, true]);
    assert.deepEqual(flags(t, g.publicKey, [C.CKA_VERIFY]), [false]);
    assertRv(
      () => t.p11.C_SignInit(t.s, { mechanism: C.CKM_EDDSA }, g.privateKey),
      C.CKR_KEY_TYPE_INCONSISTENT,
    );
    const peer = generateKeyPairSync('x25519');
    const peerRaw = Buffer.from(peer.publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const secret = t.p11.C_DeriveKey(
      t.s,
      {
        mechanism: C.CKM_ECDH1_DERIVE,
        parameter: { type: C.CK_PARAMS_EC_DH, kdf: C.CKD_NULL, publicData: peerRaw },
      },
      g.privateKey,
      [
        { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
        { type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET },
        { type: C.CKA_VALUE_LEN, value: 32 },
        { type: C.CKA_SENSITIVE, value: false },
        { type: C.CKA_EXTRACTABLE, value: true },
      ],
    );
    const value = readAttribute(t.p11, t.s, secret, C.CKA_VALUE);
    const ours = createPublicKey({
      key: Buffer.from(encodeSpki(g.publicKeyData)),
      format: 'der',
      type: 'spki',
    });
    assert.deepEqual(value, diffieHellman({ privateKey: peer.privateKey, publicKey: ours }));
  });

  it('DSA:2048 on fresh domain parameters: CKM_DSA_SHA256 signature node:crypto verifies (DER)', async () => {
    const t = token();
    const g = await generateKeyPair(t.p11, t.s, { keyType: parseKeyType('DSA:2048'), label: 'd' });
    assert.equal(g.publicKeyData.kind, 'dsa');
    if (g.publicKeyData.kind !== 'dsa') return;
    assert.equal(g.publicKeyData.p.length, 256);
    assert.equal(g.publicKeyData.q.length, 32);
    const spki = {
      key: Buffer.from(encodeSpki(g.publicKeyData)),
      format: 'der',
      type: 'spki',
    } as const;
    assert.equal(createPublicKey(spki).asymmetricKeyDetails?.modulusLength, 2048);
    const raw = sign(t, g.privateKey, C.CKM_DSA_SHA256);
    assert.equal(raw.length, 64);
    assert.ok(verify('sha256', MSG, spki, dsaRawToDer(raw)));
    // The domain parameter object the generation used is gone: only the pair remains.
    t.p11.C_FindObjectsInit(t.s, [{ type: C.CKA_CLASS, value: C.CKO_DOMAIN_PARAMETERS }]);
    assert.equal(t.p11.C_FindObjects(t.s, 10).length, 0);
    t.p11.C_FindObjectsFinal(t.s);
  });
});

describe('generating secret keys on the token', () => {
  const secret = (spec: string) => {
    const k = parseAnyKeyType(spec);
    return k.kind === 'secret' ? k : assert.fail(spec);
  };

  it('AES:128 is sensitive, never extractable, 16 bytes, and encrypts', () => {
    const t = token();
    const h = generateSecretKey(t.p11, t.s, secret('AES:128'), {
      label: 'aes',
      id: Uint8Array.of(7),
    });
    assert.deepEqual(flags(t, h, [C.CKA_SENSITIVE, C.CKA_EXTRACTABLE, C.CKA_TOKEN]), [
      true,
      false,
      true,
    ]);
    assert.equal(readUlongAttribute(t.p11, t.s, h, C.CKA_VALUE_LEN), 16);
    assert.deepEqual(readAttribute(t.p11, t.s, h, C.CKA_ID), Buffer.of(7));
    assertRv(
      () => t.p11.C_GetAttributeValue(t.s, h, [{ type: C.CKA_VALUE }]),
      C.CKR_ATTRIBUTE_SENSITIVE,
    );
    t.p11.C_EncryptInit(t.s, { mechanism: C.CKM_AES_ECB }, h);
    assert.equal(t.p11.C_Encrypt(t.s, Buffer.alloc(16), Buffer.alloc(16)).length, 16);
  });

  it('DES3, CHACHA20 and GENERIC:20 keys of their lengths on a compatible token', () => {
    const t = token();
    for (const [spec, bytes] of [
      ['DES3', 24],
      ['CHACHA20', 32],
      ['GENERIC:20', 20],
    ] as const) {
      const h = generateSecretKey(t.p11, t.s, secret(spec), { label: spec });
      assert.equal(readUlongAttribute(t.p11, t.s, h, C.CKA_VALUE_LEN), bytes, spec);
    }
  });

  it('DES3 on a strict token → CKR_MECHANISM_INVALID (legacy algorithms are compatible only)', () => {
    const t = token('strict');
    assertRv(
      () => generateSecretKey(t.p11, t.s, secret('DES3'), { label: 'des' }),
      C.CKR_MECHANISM_INVALID,
    );
    generateSecretKey(t.p11, t.s, secret('AES:256'), { label: 'aes' });
  });
});
