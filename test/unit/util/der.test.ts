import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../src/util/bytes.js';
import {
  DerError,
  decodeOid,
  decodeUnsignedInteger,
  encodeOid,
  encodeUnsignedInteger,
  readChildren,
  readSingle,
} from '../../../src/util/der.js';

describe('DER', () => {
  it('encodes and decodes the curve OIDs as the PKCS#11 CKA_EC_PARAMS bytes', () => {
    assert.equal(toHex(encodeOid('1.2.840.10045.3.1.7')), '06082a8648ce3d030107');
    assert.equal(toHex(encodeOid('1.3.132.0.34')), '06052b81040022');
    assert.equal(decodeOid(fromHex('2a8648ce3d030107')), '1.2.840.10045.3.1.7');
  });

  it('encodes minimal unsigned INTEGERs', () => {
    assert.equal(toHex(encodeUnsignedInteger(fromHex('0080'))), '02020080');
    assert.equal(toHex(encodeUnsignedInteger(fromHex('000001'))), '020101');
    assert.equal(toHex(decodeUnsignedInteger(fromHex('0080'))), '80');
    assert.throws(() => decodeUnsignedInteger(fromHex('0001')), DerError);
  });

  it('rejects truncated, overlong and trailing input', () => {
    assert.throws(() => readSingle(fromHex('3004020101')), DerError);
    assert.throws(() => readSingle(fromHex('30030201010000')), DerError);
    assert.throws(() => readSingle(fromHex('3081030201')), DerError);
    assert.deepEqual(
      readChildren(fromHex('020101020102')).map((t) => toHex(t.value)),
      ['01', '02'],
    );
  });
});
