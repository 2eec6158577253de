import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPkcs11Error } from '../../../src/errors.js';
import {
  curveOfRawLength,
  EC_COMPONENT_BYTES,
  type EcCurve,
  ecdsaDerToRaw,
  ecdsaRawToDer,
} from '../../../src/helpers/pki.js';
import * as C from '../../../src/pkcs11/constants.js';
import { freshKeyPair } from '../../helpers/keypair.js';
import { assertRv } from '../../helpers/token.js';

const CURVES: EcCurve[] = ['P-256', 'P-384', 'P-521'];
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('ECDSA signature conversions', () => {
  for (const curve of CURVES) {
    it(`converts node:crypto ${curve} signatures both ways and they still verify`, () => {
      const { privateKey, publicKey } = freshKeyPair('ec', { namedCurve: curve });
      for (let i = 0; i < 20; i++) {
        const msg = Buffer.from(`message ${i}`);
        const der = sign('sha256', msg, privateKey);
        const raw = ecdsaDerToRaw(der, curve);
        assert.equal(raw.length, 2 * EC_COMPONENT_BYTES[curve]);
        assert.ok(verify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw));
        assert.deepEqual(ecdsaRawToDer(raw), Uint8Array.from(der));
        const raw2 = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        assert.ok(verify('sha256', msg, publicKey, ecdsaRawToDer(raw2)));
      }
    });

    it(`round-trips every raw ${curve} signature through minimal DER`, () => {
      const n = EC_COMPONENT_BYTES[curve];
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 2 * n, maxLength: 2 * n }), (raw) => {
          const der = ecdsaRawToDer(raw, curve);
          assert.deepEqual(ecdsaDerToRaw(der, curve), raw);
        }),
        { numRuns: 300 },
      );
    });

    it(`accepts exactly the minimal DER encodings (${curve}) and refuses the rest → CKR_SIGNATURE_INVALID`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 150 }), (bytes) => {
          let raw: Uint8Array;
          try {
            raw = ecdsaDerToRaw(bytes, curve);
          } catch (e) {
            assert.ok(isPkcs11Error(e, C.CKR_SIGNATURE_INVALID), String(e));
            return;
          }
          assert.deepEqual(ecdsaRawToDer(raw, curve), bytes);
        }),
        { numRuns: 2000 },
      );
    });
  }

  it('on structured near-DER (random INTEGER bytes and lengths) accepts only what it writes back', () => {
    const integer = fc.uint8Array({ maxLength: 70 }).map((v) => [0x02, v.length, ...v]);
    const sig = fc
      .tuple(integer, integer, fc.constantFrom(0, 0, 0, 1, -1))
      .map(([r, s, skew]) => Uint8Array.from([0x30, r.length + s.length + skew, ...r, ...s]));
    let accepted = 0;
    fc.assert(
      fc.property(sig, fc.constantFrom<EcCurve>(...CURVES), (bytes, curve) => {
        try {
          const raw = ecdsaDerToRaw(bytes, curve);
          accepted++;
          assert.deepEqual(ecdsaRawToDer(raw, curve), bytes);
        } catch (e) {
          assert.ok(isPkcs11Error(e, C.CKR_SIGNATURE_INVALID), String(e));
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 100, `only ${accepted} generated signatures were well-formed`);
  });

  it('mutating one byte of a valid DER signature never yields a different accepted encoding', () => {
    const { privateKey } = freshKeyPair('ec', { namedCurve: 'P-256' });
    const der = Uint8Array.from(sign('sha256', Buffer.from('x'), privateKey));
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const bad = Uint8Array.from(der);
        bad[at] = ((bad[at] as number) + delta) & 0xff;
        try {
          const raw = ecdsaDerToRaw(bad, 'P-256');
          assert.deepEqual(ecdsaRawToDer(raw), bad);
        } catch (e) {
          assert.ok(isPkcs11Error(e, C.CKR_SIGNATURE_INVALID));
        }
      }),
    );
  });

  it('writes minimal DER: leading zeros dropped, a 0x00 pad only under a set top bit', () => {
    const raw = new Uint8Array(64);
    raw[31] = 0x01;
    raw[32] = 0x80;
    assert.deepEqual(ecdsaRawToDer(raw), hex(`3026 020101 0221 00 80${'00'.repeat(31)}`));
    assert.deepEqual(ecdsaRawToDer(new Uint8Array(64)), hex('3006 020100 020100'));
  });

  it('reads short components (the ~1 in 65k short P-256 signatures corePKCS11 rejects)', () => {
    const raw = ecdsaDerToRaw(hex('3008 020201ff 02027f00'), 'P-256');
    assert.equal(raw.length, 64);
    assert.equal(Buffer.from(raw.subarray(30, 32)).toString('hex'), '01ff');
    assert.equal(Buffer.from(raw.subarray(62)).toString('hex'), '7f00');
  });

  const bad: Array<[string, string]> = [
    ['empty input', ''],
    ['not a SEQUENCE', '3106020101020101'],
    ['three INTEGERs', '3009020101020101020101'],
    ['one INTEGER', '3003020101'],
    ['a negative r', '3006020181020101'],
    ['a non-minimal r', '300702020001020101'],
    ['an empty INTEGER', '30050200020101'],
    ['an OCTET STRING for s', '3006020101040101'],
    ['trailing bytes', '300602010102010100'],
    ['a long-form length that is not minimal', '308106020101020101'],
    ['a truncated value', '3006020101020201'],
    ['an r longer than the curve', `3026 0221 01${'00'.repeat(32)} 020101`],
  ];
  for (const [what, h] of bad) {
    it(`refuses ${what} → CKR_SIGNATURE_INVALID`, () => {
      assertRv(() => ecdsaDerToRaw(hex(h), 'P-256'), C.CKR_SIGNATURE_INVALID);
    });
  }

  it('refuses raw signatures of no curve size → CKR_SIGNATURE_LEN_RANGE', () => {
    for (const n of [0, 1, 63, 65, 96 + 1, 130]) {
      assertRv(() => ecdsaRawToDer(new Uint8Array(n)), C.CKR_SIGNATURE_LEN_RANGE);
    }
    assertRv(() => ecdsaRawToDer(new Uint8Array(64), 'P-384'), C.CKR_SIGNATURE_LEN_RANGE);
    assert.equal(curveOfRawLength(96), 'P-384');
    assert.equal(curveOfRawLength(132), 'P-521');
  });
});
