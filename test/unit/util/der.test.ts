import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../../src/util/bytes.js';
import {
  DerError,
  decodeOid,
  decodeUnsignedInteger,
  ecdsaSignatureToDer,
  ecdsaSignatureToRaw,
  encodeOid,
  encodeUnsignedInteger,
  readCertificate,
  readChildren,
  readSingle,
} from '../../../src/util/der.js';
import { makeCertificate } from '../../helpers/material.js';

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

describe('ECDSA signature forms', () => {
  it('raw r‖s ⇄ minimal DER, high-bit and short components included', () => {
    for (const raw of [
      new Uint8Array(64).fill(0x80),
      Uint8Array.from([...new Uint8Array(31), 1, ...new Uint8Array(31), 2]),
      new Uint8Array(132).fill(0x7f),
    ]) {
      const der = ecdsaSignatureToDer(raw);
      assert.deepEqual(ecdsaSignatureToRaw(der, raw.length / 2), raw);
    }
    assert.equal(toHex(ecdsaSignatureToDer(Uint8Array.of(0x80, 1))), '3007020200800201' + '01');
  });

  it('refuses what is not minimal DER of two INTEGERs that fit with DerError', () => {
    const bad = [
      '3006020101020101ff',
      '310602010102010f',
      '3003020101',
      '30060201ff020101',
      '300702020001020101',
    ];
    for (const hex of bad)
      assert.throws(() => ecdsaSignatureToRaw(fromHex(hex), 32), DerError, hex);
    const wide = ecdsaSignatureToDer(new Uint8Array(96).fill(1));
    assert.throws(() => ecdsaSignatureToRaw(wide, 32), DerError);
    assert.throws(() => ecdsaSignatureToDer(new Uint8Array(3)), DerError);
  });
});

describe('X.509 fields', () => {
  it('reads serial, issuer, subject, validity and key of a certificate OpenSSL parses', () => {
    const { der } = makeCertificate('fields');
    const c = readCertificate(der);
    const x = new X509Certificate(der);
    assert.equal(
      toHex(c.serialNumber.value).replace(/^0+/, ''),
      x.serialNumber.toLowerCase().replace(/^0+/, ''),
    );
    assert.deepEqual(c.issuer.encoded, c.subject.encoded, 'self-signed');
    assert.ok(c.validity && c.subjectPublicKeyInfo);
    assert.deepEqual(
      Buffer.from(c.subjectPublicKeyInfo.encoded),
      x.publicKey.export({ type: 'spki', format: 'der' }),
    );
  });

  it('refuses what is not a certificate with DerError', () => {
    assert.throws(() => readCertificate(fromHex('3003020101')), DerError);
    assert.throws(() => readCertificate(fromHex('300930030201010500' + '0500')), DerError);
  });
});
