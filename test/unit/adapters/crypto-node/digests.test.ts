import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  cmacAccumulator,
  hashAccumulator,
  hmacAccumulator,
} from '../../../../src/adapters/crypto-node/digests.js';
import { fromHex, toHex } from '../../../../src/util/bytes.js';

// RFC 4493 §4 (AES-128) and NIST SP 800-38B appendix D (AES-192, AES-256) examples.
const M = fromHex(
  '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
);
const CMAC_VECTORS = [
  { key: '2b7e151628aed2a6abf7158809cf4f3c', len: 0, mac: 'bb1d6929e95937287fa37d129b756746' },
  { key: '2b7e151628aed2a6abf7158809cf4f3c', len: 16, mac: '070a16b46b4d4144f79bdd9dd04a287c' },
  { key: '2b7e151628aed2a6abf7158809cf4f3c', len: 40, mac: 'dfa66747de9ae63030ca32611497c827' },
  { key: '2b7e151628aed2a6abf7158809cf4f3c', len: 64, mac: '51f0bebf7e3b9d92fc49741779363cfe' },
  {
    key: '8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b',
    len: 40,
    mac: '8a1de5be2eb31aad089a82e6ee908b0e',
  },
  {
    key: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
    len: 64,
    mac: 'e1992190549f6ed5696a2c056c315410',
  },
];

describe('AES-CMAC', () => {
  for (const v of CMAC_VECTORS) {
    it(`matches SP 800-38B for a ${v.key.length * 4}-bit key over ${v.len} bytes`, () => {
      const acc = cmacAccumulator(fromHex(v.key));
      acc.update(M.subarray(0, v.len));
      assert.equal(toHex(acc.finish()), v.mac);
    });
  }

  it('gives the same MAC whatever the split into updates', () => {
    const key = fromHex(CMAC_VECTORS[3]?.key as string);
    for (const splits of [[1, 15, 48], [16, 16, 32], [33, 31], [0, 64], [64]]) {
      const acc = cmacAccumulator(key);
      let off = 0;
      for (const n of splits) {
        acc.update(M.subarray(off, off + n));
        off += n;
      }
      assert.equal(toHex(acc.finish()), '51f0bebf7e3b9d92fc49741779363cfe', `splits ${splits}`);
    }
  });

  it('rejects keys that are not AES keys', () => {
    assert.throws(() => cmacAccumulator(new Uint8Array(15)), /AES key/);
  });
});

describe('HMAC', () => {
  it('matches RFC 4231 test case 2 for SHA-256', () => {
    const acc = hmacAccumulator('sha256', new TextEncoder().encode('Jefe'));
    acc.update(new TextEncoder().encode('what do ya want for nothing?'));
    assert.equal(
      toHex(acc.finish()),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('hash accumulator', () => {
  const data = new Uint8Array(randomBytes(10_000));
  for (const hash of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
    it(`${hash}: equals node:crypto for one-shot and streamed inputs, around the one-shot limit`, () => {
      const splits = [[], [0], [64], [65], [4096], [1, 63], [64, 1], [5000, 5000], [0, 0, 10]];
      for (const parts of splits) {
        const acc = hashAccumulator(hash);
        const ref = createHash(hash);
        let off = 0;
        for (const n of parts) {
          acc.update(data.subarray(off, off + n));
          ref.update(data.subarray(off, off + n));
          off += n;
        }
        assert.equal(toHex(acc.finish()), ref.digest('hex'), `parts ${parts.join('+')}`);
      }
    });
  }

  it('a caller reusing its buffer after update does not change the digest', () => {
    const buf = Buffer.from('first part');
    const acc = hashAccumulator('sha256');
    acc.update(buf);
    buf.write('xxxxxxxxxx');
    assert.equal(toHex(acc.finish()), createHash('sha256').update('first part').digest('hex'));
  });
});
