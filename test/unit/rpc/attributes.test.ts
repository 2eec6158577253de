import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import { wireKind } from '../../../src/rpc/attribute-kinds.js';
import {
  fromAnswers,
  readAttributes,
  toRawTemplate,
  type WireAttribute,
  writeAttributes,
} from '../../../src/rpc/attributes.js';
import { WireReader, WireWriter } from '../../../src/rpc/wire.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const read = (h: string, version = 0) =>
  readAttributes(new WireReader(new Uint8Array(Buffer.from(h, 'hex'))), version, { left: 4096 });
const u32 = (n: number) => n.toString(16).padStart(8, '0');

describe('attribute arrays', () => {
  it('types values as p11-kit does: CKA_DESTROYABLE and vendor types are byte arrays on the wire', () => {
    assert.equal(wireKind(C.CKA_TOKEN, 0), 'byte');
    assert.equal(wireKind(C.CKA_CLASS, 0), 'ulong');
    assert.equal(wireKind(C.CKA_DESTROYABLE, 0), 'bytes');
    assert.equal(wireKind(C.CKA_ALLOWED_MECHANISMS, 0), 'mechanisms');
    assert.equal(wireKind(C.CKA_START_DATE, 0), 'date');
    assert.equal(wireKind(C.CKA_DERIVE_TEMPLATE, 0), 'bytes', 'p11-kit 0.24');
    assert.equal(wireKind(C.CKA_DERIVE_TEMPLATE, 1), 'attributes', 'p11-kit 0.25+');
  });

  it('converts to the raw C layout: CK_ULONG little-endian, CK_BBOOL one byte, mechanisms as ulongs', () => {
    const attrs = read(
      '00000003' +
        '00000000 01 00000008 0000000000000003'.replace(/ /g, '') +
        '00000001 01 00000001 01'.replace(/ /g, '') +
        `40000600 01 00000010 00000002 0000000000001041 0000000000001044`.replace(/ /g, ''),
    );
    assert.deepEqual(toRawTemplate(attrs), [
      { type: C.CKA_CLASS, value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) },
      { type: C.CKA_TOKEN, value: Uint8Array.of(1) },
      {
        type: C.CKA_ALLOWED_MECHANISMS,
        value: Uint8Array.of(0x41, 0x10, 0, 0, 0, 0, 0, 0, 0x44, 0x10, 0, 0, 0, 0, 0, 0),
      },
    ]);
  });

  it('hands a CK_ULONG sent with length 4 to the engine as the 4 bytes the application gave', () => {
    const [raw] = toRawTemplate(
      read(`00000001 00000000 01 00000004 0000000000000003`.replace(/ /g, '')),
    );
    assert.deepEqual(raw?.value, Uint8Array.of(3, 0, 0, 0));
  });

  it('refuses a CK_BBOOL claiming 2 bytes → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const attrs = read(`00000001 00000001 01 00000002 01`.replace(/ /g, ''));
    assert.throws(() => toRawTemplate(attrs), { code: C.CKR_ATTRIBUTE_VALUE_INVALID });
  });

  it('refuses a value longer than its declared length → CKR_DEVICE_ERROR', () => {
    const attrs = read(`00000001 00000003 01 00000002 00000004 61626364`.replace(/ /g, ''));
    assert.throws(() => toRawTemplate(attrs), { code: C.CKR_DEVICE_ERROR });
  });

  it('refuses a CK_DATE that is neither empty nor 8 bytes → CKR_DEVICE_ERROR', () => {
    assert.throws(
      () => read(`00000001 00000110 01 00000005 00000005 3230323601`.replace(/ /g, '')),
      {
        code: C.CKR_DEVICE_ERROR,
      },
    );
  });

  it('refuses an unavailable entry in a request template → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    assert.throws(() => toRawTemplate(read('00000001000000030 0'.replace(/ /g, ''))), {
      code: C.CKR_ATTRIBUTE_VALUE_INVALID,
    });
  });

  it('decodes nested templates up to depth 8; deeper → CKR_DEVICE_ERROR (CVE-2026-13757)', () => {
    const nest = (depth: number): string =>
      depth === 0
        ? `00000001 00000001 01 00000001 01`
        : `00000001 ${u32(C.CKA_WRAP_TEMPLATE)} 01 00000018 ${nest(depth - 1)}`;
    const ok = read(nest(7).replace(/ /g, ''), 1);
    assert.equal(toRawTemplate(ok).length, 1);
    assert.throws(() => read(nest(8).replace(/ /g, ''), 1), { code: C.CKR_DEVICE_ERROR });
  });

  it('refuses 10,000-deep nesting with an error, not a stack overflow', () => {
    const prefix = `00000001${u32(C.CKA_WRAP_TEMPLATE)}0100000018`.repeat(10_000);
    assert.throws(() => read(prefix, 1), { code: C.CKR_DEVICE_ERROR });
  });

  it('counts nested attributes against one budget per message', () => {
    const inner = '00000001000000010100000001 01'.replace(/ /g, '');
    const h = `00000002 ${u32(C.CKA_WRAP_TEMPLATE)} 01 00000018 ${inner} ${u32(C.CKA_UNWRAP_TEMPLATE)} 01 00000018 ${inner}`;
    const r = new WireReader(new Uint8Array(Buffer.from(h.replace(/ /g, ''), 'hex')));
    assert.throws(() => readAttributes(r, 1, { left: 3 }), { code: C.CKR_DEVICE_ERROR });
  });

  it('writes reply entries from engine answers; -1 is an unavailable entry', () => {
    const attrs = fromAnswers(
      [
        { type: C.CKA_CLASS, length: 8, value: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) },
        { type: C.CKA_VALUE, length: -1 },
        { type: C.CKA_LABEL, length: 3 },
      ],
      0,
    );
    const w = new WireWriter();
    writeAttributes(w, attrs as WireAttribute[]);
    assert.equal(
      hex(w.finish()),
      `00000003 00000000 01 00000008 0000000000000003 00000011 00 00000003 01 00000003 ffffffff`.replace(
        / /g,
        '',
      ),
    );
  });
});
