import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { CURVES } from '../../../src/crypto/curves.js';
import { curveForProfile, curveOf } from '../../../src/objects/ec-params.js';
import { readChildren, readSingle, TAG_SEQUENCE } from '../../../src/util/der.js';
import { tlv } from '../../helpers/material.js';
import { assertRv, C } from '../../helpers/token.js';

/** The fields of the explicit ECParameters OpenSSL writes for `curve`. */
function explicitFields(openssl: string): Buffer[] {
  const { publicKey } = generateKeyPairSync('ec', {
    namedCurve: openssl,
    paramEncoding: 'explicit',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const [algorithm] = readChildren(readSingle(publicKey, TAG_SEQUENCE).value);
  const [, params] = readChildren(algorithm?.value ?? new Uint8Array(0));
  return readChildren(params?.value ?? new Uint8Array(0)).map((f) => Buffer.from(f.encoded));
}

const seq = (fields: Buffer[]) => tlv(0x30, ...fields);

/** The base-point field with the last byte of G's y changed. */
function otherBase(field: Buffer): Buffer {
  const g = Buffer.from(readSingle(field).value);
  g[g.length - 1] = (g.at(-1) ?? 0) ^ 1;
  return tlv(0x04, g);
}

describe('curveOf (CKA_EC_PARAMS)', () => {
  for (const c of CURVES.filter((x) => x.family === 'weierstrass')) {
    it(`${c.name}: its OID, its names and OpenSSL's explicit parameters all name it`, () => {
      assert.equal(curveOf(c.ecParams), c.name);
      for (const n of [c.name, c.openssl, ...c.aliases])
        assert.equal(curveOf(tlv(0x13, Buffer.from(n))), c.name);
      const fields = explicitFields(c.openssl);
      assert.equal(curveOf(seq(fields)), c.name);
      // without the optional cofactor, and with a cofactor of 1 given
      assert.equal(curveOf(seq(fields.slice(0, 5))), c.name);
    });
  }

  it('explicit parameters that differ from every curve of the table → CKR_CURVE_NOT_SUPPORTED', () => {
    const f = explicitFields('prime256v1');
    const cofactor2 = tlv(0x02, Buffer.of(2));
    const charTwo = tlv(
      0x30,
      tlv(0x06, Buffer.from('2a8648ce3d010102', 'hex')),
      tlv(0x02, Buffer.of(1)),
    );
    for (const params of [
      seq([...f.slice(0, 5), cofactor2]),
      seq([f[0] as Buffer, charTwo, ...f.slice(2)]),
      seq([...f.slice(0, 3), otherBase(f[3] as Buffer), ...f.slice(4)]),
      tlv(0x05, Buffer.alloc(0)),
      Buffer.from('06052b81040001', 'hex'),
    ]) {
      assertRv(() => curveOf(params), C.CKR_CURVE_NOT_SUPPORTED);
    }
  });

  it('malformed explicit parameters → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const f = explicitFields('prime256v1');
    for (const params of [
      seq([tlv(0x02, Buffer.of(2)), ...f.slice(1)]),
      seq(f.slice(0, 3)),
      seq([...f, tlv(0x02, Buffer.of(1))]),
      seq([f[0] as Buffer, f[2] as Buffer, f[1] as Buffer, ...f.slice(3)]),
      tlv(0x0c, Buffer.from('P-256')),
      Buffer.alloc(0),
    ]) {
      assertRv(() => curveOf(params), C.CKR_ATTRIBUTE_VALUE_INVALID);
    }
  });

  it('curveForProfile: strict has no curve below 224 bits', () => {
    for (const c of CURVES.filter((x) => x.family === 'weierstrass')) {
      assert.equal(curveForProfile(c.ecParams, 'compatible'), c.name);
      if (c.orderBits < 224)
        assertRv(() => curveForProfile(c.ecParams, 'strict'), C.CKR_CURVE_NOT_SUPPORTED);
      else assert.equal(curveForProfile(c.ecParams, 'strict'), c.name);
    }
  });
});
