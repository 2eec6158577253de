import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPkcs11Error } from '../../../src/errors.js';
import { CKR_DEVICE_ERROR } from '../../../src/pkcs11/constants.js';
import { decodeRecord, encodeRecord, recordSize } from '../../../src/storage/record.js';

const record = {
  id: 2 ** 40 + 17,
  flags: 0,
  attributes: [
    { type: 0, value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) },
    { type: 3, value: new TextEncoder().encode('Device Cert') },
    { type: 0x40000211, value: [{ type: 0x104, value: Uint8Array.of(1) }] },
    { type: 0x11, value: new Uint8Array(0) },
  ],
};

describe('object record codec', () => {
  it('round-trips every attribute byte-exact, nested templates included', () => {
    assert.deepEqual(decodeRecord(encodeRecord(record)), record);
  });

  it('recordSize is the encoded length, counted without encoding (nested templates too)', () => {
    const size = (attributes: typeof record.attributes) =>
      recordSize(attributes.map((a) => a.value));
    assert.equal(size(record.attributes), encodeRecord(record).length);
    assert.equal(size([]), encodeRecord({ ...record, attributes: [] }).length);
    const deep = [
      { type: 1, value: [{ type: 2, value: [{ type: 3, value: new Uint8Array(5) }] }] },
    ];
    const asRecord = { ...record, attributes: deep as unknown as typeof record.attributes };
    assert.equal(size(deep as unknown as typeof record.attributes), encodeRecord(asRecord).length);
  });

  it('reads every truncation as CKR_DEVICE_ERROR, never as garbage', () => {
    const bytes = encodeRecord(record);
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(
        () => decodeRecord(bytes.subarray(0, n)),
        (e) => isPkcs11Error(e, CKR_DEVICE_ERROR),
      );
    }
  });

  it('detects every single-bit flip with CKR_DEVICE_ERROR', () => {
    const bytes = encodeRecord(record);
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = bytes.slice();
        copy[i] = (copy[i] as number) ^ (1 << bit);
        assert.throws(
          () => decodeRecord(copy),
          (e) => isPkcs11Error(e, CKR_DEVICE_ERROR),
        );
      }
    }
  });
});
