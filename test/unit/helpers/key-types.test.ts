import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeKeyType, parseAnyKeyType, parseKeyType } from '../../../src/helpers/key-types.js';
import { assertRv, C } from '../../helpers/token.js';

describe('key types in pkcs11-tool spelling', () => {
  it('parses key pair types: every curve of the table, RSA and DSA sizes', () => {
    assert.deepEqual(parseKeyType('EC:prime256v1'), { kind: 'ec', curve: 'P-256' });
    assert.deepEqual(parseKeyType('EC:secp384r1'), { kind: 'ec', curve: 'P-384' });
    assert.deepEqual(parseKeyType('ec:P-521'), { kind: 'ec', curve: 'P-521' });
    assert.deepEqual(parseKeyType('EC:ed25519'), { kind: 'ec', curve: 'Ed25519' });
    assert.deepEqual(parseKeyType('EC:Ed448'), { kind: 'ec', curve: 'Ed448' });
    assert.deepEqual(parseKeyType('EC:x25519'), { kind: 'ec', curve: 'X25519' });
    assert.deepEqual(parseKeyType('ec:X448'), { kind: 'ec', curve: 'X448' });
    assert.deepEqual(parseKeyType('rsa:3072'), { kind: 'rsa', bits: 3072 });
    assert.deepEqual(parseKeyType('DSA:2048'), { kind: 'dsa', bits: 2048 });
    assert.deepEqual(parseKeyType('dsa:1024'), { kind: 'dsa', bits: 1024 });
  });

  it('refuses other key pair types, and secret keys where a pair is needed → CKR_ARGUMENTS_BAD', () => {
    for (const bad of [
      'EC:secp224k1',
      'rsa:512',
      'rsa:2049',
      'DSA:1536',
      'DSA',
      'EC',
      '',
      'AES:256',
    ]) {
      assertRv(() => parseKeyType(bad), C.CKR_ARGUMENTS_BAD);
    }
  });

  it('parses secret key types: AES in bits, generic secrets in bytes, DES and ChaCha20 fixed', () => {
    const secret = (spec: string) => {
      const k = parseAnyKeyType(spec);
      assert.equal(k.kind, 'secret', spec);
      return k.kind === 'secret' ? k : assert.fail(spec);
    };
    assert.deepEqual(secret('AES:256'), {
      kind: 'secret',
      name: 'AES',
      keyType: C.CKK_AES,
      bytes: 32,
      mechanism: C.CKM_AES_KEY_GEN,
      fixedLength: false,
    });
    assert.equal(secret('aes:128').bytes, 16);
    assert.equal(secret('AES').bytes, 32);
    assert.deepEqual(
      [secret('DES'), secret('DES2'), secret('DES3'), secret('CHACHA20')].map((k) => [
        k.keyType,
        k.mechanism,
        k.bytes,
        k.fixedLength,
      ]),
      [
        [C.CKK_DES, C.CKM_DES_KEY_GEN, 8, true],
        [C.CKK_DES2, C.CKM_DES2_KEY_GEN, 16, true],
        [C.CKK_DES3, C.CKM_DES3_KEY_GEN, 24, true],
        [C.CKK_CHACHA20, C.CKM_CHACHA20_KEY_GEN, 32, true],
      ],
    );
    assert.equal(secret('GENERIC:20').keyType, C.CKK_GENERIC_SECRET);
    assert.equal(secret('GENERIC:20').bytes, 20);
    assert.deepEqual(parseAnyKeyType('EC:ed25519'), { kind: 'ec', curve: 'Ed25519' });
  });

  it('refuses secret key lengths the type does not take → CKR_ARGUMENTS_BAD', () => {
    for (const bad of [
      'AES:100',
      'AES:32',
      'DES3:16',
      'GENERIC:0',
      'GENERIC:513',
      'RC4',
      'CHACHA20:16',
    ]) {
      assertRv(() => parseAnyKeyType(bad), C.CKR_ARGUMENTS_BAD);
    }
  });

  it('names key types for people', () => {
    assert.deepEqual(
      ['EC:ed25519', 'rsa:2048', 'DSA:3072', 'AES:192', 'DES3', 'GENERIC:32'].map((s) =>
        describeKeyType(parseAnyKeyType(s)),
      ),
      ['EC Ed25519', 'RSA 2048', 'DSA 3072', 'AES 192', 'DES3', 'GENERIC 32'],
    );
  });
});
