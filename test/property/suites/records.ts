/**
 * Suite `records`: the PAL record formats (src/storage/record.ts, json-record.ts) and what the token
 * does with damaged storage. Random records round trip; any corruption or truncation of a stored
 * record reads back as CKR_DEVICE_ERROR (within CRC-32's guarantee), and a record forged with a valid
 * checksum decodes to a well-formed record or CKR_DEVICE_ERROR; a token reopened over storage with one
 * damaged record reports it and serves every other object byte for byte, never a changed one.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import type { RawAttribute } from '../../../src/pkcs11/types.js';
import { decodeJsonRecord, encodeJsonRecord } from '../../../src/storage/json-record.js';
import {
  type DecodedRecord,
  decodeRecord,
  decodeStoredRecord,
  encodeRecord,
  type ObjectRecord,
  type StoredAttribute,
  signedPart,
} from '../../../src/storage/record.js';
import { crc32 } from '../../../src/util/crc32.js';
import { progress } from '../harness/progress.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';
import { mutate, mutation } from '../support/mutate.js';
import { damageProperty } from './damage.js';

const nested: fc.Arbitrary<RawAttribute[]> = fc.letrec<{ t: RawAttribute[] }>((tie) => ({
  t: fc.array(
    fc.record({
      type: fc.nat({ max: 0xffffffff }),
      value: fc.oneof(
        { depthSize: 'small' },
        fc.uint8Array({ maxLength: 24 }),
        tie('t') as fc.Arbitrary<RawAttribute[]>,
      ),
    }),
    { maxLength: 3, depthIdentifier: 'nested' },
  ),
})).t;

/** Nesting the format allows: four levels below the top. */
function depthOf(attrs: readonly RawAttribute[]): number {
  return attrs.reduce((d, a) => Math.max(d, Array.isArray(a.value) ? 1 + depthOf(a.value) : 0), 0);
}

const attribute: fc.Arbitrary<StoredAttribute> = fc.oneof(
  fc.record({ type: fc.nat({ max: 0xffffffff }), value: fc.uint8Array({ maxLength: 64 }) }),
  fc
    .record({ type: fc.nat({ max: 0xffffffff }), value: fc.uint8Array({ maxLength: 64 }) })
    .map((a) => ({ ...a, sealed: true })),
  fc
    .record({ type: fc.nat({ max: 0xffffffff }), value: nested })
    .filter((a) => depthOf(a.value) <= 3),
);

const record: fc.Arbitrary<ObjectRecord> = fc.record({
  id: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  flags: fc.nat(255),
  attributes: fc.array(attribute, { maxLength: 12 }),
});

function normal(r: ObjectRecord): unknown {
  const value = (v: Uint8Array | RawAttribute[]): unknown =>
    Array.isArray(v)
      ? v.map((a) => ({ type: a.type, value: value(a.value) }))
      : Buffer.from(v).toString('hex');
  return {
    id: r.id,
    flags: r.flags,
    attributes: r.attributes.map((a) => ({
      type: a.type,
      value: value(a.value),
      sealed: a.sealed === true,
    })),
  };
}

function deviceError(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (isPkcs11Error(e, C.CKR_DEVICE_ERROR)) return true;
    throw e;
  }
}

/** The bytes with a fresh CRC-32 trailer over everything before it. */
function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) return bytes;
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)));
  return out;
}

const json = fc.jsonValue({ maxDepth: 3 });

export async function recordsSuite(options: SuiteOptions): Promise<SuiteResult> {
  const tally = new Tally();
  const roundTrip = fc.property(record, (r) => {
    progress('records: round trip');
    tally.add('records');
    assert.deepEqual(normal(decodeRecord(encodeRecord(r))), normal(r));
  });
  const corrupted = fc.property(
    record,
    fc.array(mutation, { minLength: 1, maxLength: 3 }),
    (r, ops) => {
      progress('records: corrupted');
      const bytes = encodeRecord(r);
      const bad = mutate(bytes, ops);
      if (Buffer.from(bad).equals(Buffer.from(bytes))) return;
      tally.add('corrupted records');
      assert.ok(
        deviceError(() => decodeRecord(bad)),
        'a corrupted record is CKR_DEVICE_ERROR',
      );
    },
  );
  const forged = fc.property(
    record,
    fc.array(mutation, { minLength: 1, maxLength: 3 }),
    (r, ops) => {
      progress('records: forged');
      tally.add('forged records');
      const bad = reseal(mutate(encodeRecord(r), ops));
      let decoded: DecodedRecord;
      try {
        decoded = decodeStoredRecord(bad);
      } catch (e) {
        if (isPkcs11Error(e, C.CKR_DEVICE_ERROR)) return;
        throw e;
      }
      tally.add('forged records accepted');
      // Accepted means well formed: record and authentication section (whose MAC the token checks,
      // not this layer) encode back to the same bytes, but the reserved field; a version 1 record
      // (no authentication section) is written again as the current version.
      const legacy = decoded.auth.kind === 'legacy';
      const again = legacy
        ? signedPart(decoded.record)
        : encodeRecord(decoded.record, decoded.auth).subarray(0, -4);
      const expected = Uint8Array.from(bad.subarray(0, -4));
      expected[6] = 0;
      expected[7] = 0;
      if (legacy) expected[4] = again[4] as number;
      assert.deepEqual(Buffer.from(again), Buffer.from(expected));
    },
  );
  const jsonRecords = fc.property(
    json,
    fc.array(mutation, { minLength: 1, maxLength: 3 }),
    (v, ops) => {
      progress('records: JSON');
      tally.add('json records');
      const bytes = encodeJsonRecord(v);
      assert.deepEqual(decodeJsonRecord(bytes, 'x'), JSON.parse(JSON.stringify(v)));
      const bad = mutate(bytes, ops);
      if (!Buffer.from(bad).equals(Buffer.from(bytes)))
        assert.ok(
          deviceError(() => decodeJsonRecord(bad, 'x')),
          'a corrupted JSON record is CKR_DEVICE_ERROR',
        );
      const forgedJson = reseal(bad);
      try {
        decodeJsonRecord(forgedJson, 'x');
      } catch (e) {
        if (!isPkcs11Error(e, C.CKR_DEVICE_ERROR)) throw e;
      }
    },
  );
  return runProperties('records', options, tally, [
    ['object records round trip', roundTrip, 1],
    ['corrupted object records', corrupted, 1],
    ['forged object records', forged, 1],
    ['JSON records', jsonRecords, 1],
    ['damaged storage under a token', damageProperty(tally), 0.05],
  ]);
}
