/**
 * PKCS#11 URI (RFC 7512) properties of the `parsers` suite: any text parses to a well-formed URI or is
 * refused with CKR_ARGUMENTS_BAD; what parses formats and re-parses to the same attributes, and selects
 * only real object classes; generated URIs round trip.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatPkcs11Uri,
  PATH_ATTRIBUTES,
  type Pkcs11Uri,
  parsePkcs11Uri,
  QUERY_ATTRIBUTES,
  URI_OBJECT_TYPES,
  uriSelection,
} from '../../../src/helpers/index.js';
import * as C from '../../../src/pkcs11/constants.js';
import { progress } from '../harness/progress.js';
import type { AnyProperty, Tally } from '../harness/suite.js';
import { refusedWith } from '../support/mutate.js';

const CLASSES = new Set(Object.values(URI_OBJECT_TYPES));
/** Names that trip code using plain objects as maps. */
const TRICKY = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'prototype'];

const piece = fc.oneof(
  fc.constantFrom(...PATH_ATTRIBUTES, ...QUERY_ATTRIBUTES, ...TRICKY, 'x-vendor'),
  fc.constantFrom(...Object.keys(URI_OBJECT_TYPES), ...TRICKY),
  fc.constantFrom(';', '&', '=', '?', '%', '%2', '%zz', '%41', '%C3%A9', '%FF', '/', ' ', '#'),
  fc.string({ maxLength: 6 }),
  fc.fullUnicodeString({ maxLength: 3 }),
);
const name = fc.constantFrom(
  ...PATH_ATTRIBUTES,
  ...QUERY_ATTRIBUTES,
  ...TRICKY,
  'x-vendor',
  'bad name',
);
const value = fc.oneof(
  fc.constantFrom(
    ...Object.keys(URI_OBJECT_TYPES),
    ...TRICKY,
    '1',
    '1.2',
    '%01%ff',
    '%C3%A9',
    '%FF%FE',
  ),
  fc.array(piece, { maxLength: 3 }).map((p) => p.join('')),
);
const pairs = (sep: string) =>
  fc
    .array(
      fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
      { maxLength: 5 },
    )
    .map((p) => p.join(sep));
const uriText = fc.oneof(
  fc
    .tuple(fc.constantFrom('pkcs11:', 'PKCS11:', 'pkcs11', ''), fc.array(piece, { maxLength: 12 }))
    .map(([scheme, parts]) => scheme + parts.join('')),
  fc
    .tuple(pairs(';'), fc.option(pairs('&'), { nil: undefined }))
    .map(([path, query]) => `pkcs11:${path}${query === undefined ? '' : `?${query}`}`),
);

/** The structure of a parsed URI, comparable with deepEqual. */
function shape(u: Pkcs11Uri): unknown {
  const side = (attrs: Pkcs11Uri['path']) =>
    attrs.map((a) => [a.name, Buffer.from(a.value).toString('hex')]);
  return { path: side(u.path), query: side(u.query) };
}

function checkParsed(u: Pkcs11Uri): void {
  const sel = uriSelection(u);
  if (sel.objectClass !== undefined)
    assert.ok(
      CLASSES.has(sel.objectClass),
      `type= selects a real class, not ${String(sel.objectClass)}`,
    );
  for (const v of [sel.label, sel.pinValue, sel.pinSource, ...Object.values(sel.token)])
    if (v !== undefined) assert.equal(typeof v, 'string');
  const again = parsePkcs11Uri(formatPkcs11Uri(u));
  assert.deepEqual(shape(again), shape(u), 'format then parse gives the same attributes');
}

const utf8Text = fc.string({ maxLength: 12 }).map((s) => new TextEncoder().encode(s));
const generated: fc.Arbitrary<Pkcs11Uri> = fc
  .record({
    path: fc.uniqueArray(fc.constantFrom(...PATH_ATTRIBUTES), { maxLength: 6 }),
    query: fc.uniqueArray(fc.constantFrom(...QUERY_ATTRIBUTES), { maxLength: 3 }),
    texts: fc.array(utf8Text, { minLength: 20, maxLength: 20 }),
    id: fc.uint8Array({ maxLength: 20 }),
    type: fc.constantFrom(...Object.keys(URI_OBJECT_TYPES)),
    vendor: fc.array(fc.tuple(fc.constantFrom('x-a', 'x-b'), fc.uint8Array({ maxLength: 6 })), {
      maxLength: 2,
    }),
  })
  .map(({ path, query, texts, id, type, vendor }) => {
    const value = (name: string, i: number): Uint8Array => {
      if (name === 'id') return id;
      if (name === 'type') return new TextEncoder().encode(type);
      if (name === 'library-version') return new TextEncoder().encode(`${i}.${i * 3}`);
      if (name === 'slot-id') return new TextEncoder().encode(String(i * 7));
      return texts[i % texts.length] as Uint8Array;
    };
    return {
      path: [
        ...path.map((name, i) => ({ name, value: value(name, i) })),
        ...vendor.map(([name, v]) => ({ name, value: v })),
      ],
      query: query.map((name, i) => ({ name, value: value(name, i + 10) })),
    };
  });

export function uriProperties(tally: Tally): [string, AnyProperty, number][] {
  const parse = fc.property(uriText, (text) => {
    progress('parsers: URI text');
    tally.add('uri texts');
    const r = refusedWith([C.CKR_ARGUMENTS_BAD], () => checkParsed(parsePkcs11Uri(text)));
    tally.add(`uri ${r}`);
  });
  const roundTrip = fc.property(generated, (uri) => {
    progress('parsers: URI round trip');
    tally.add('uri round trips');
    checkParsed(uri);
    assert.deepEqual(shape(parsePkcs11Uri(formatPkcs11Uri(uri))), shape(uri));
  });
  return [
    ['PKCS#11 URI text', parse, 0.7],
    ['PKCS#11 URI round trip', roundTrip, 0.3],
  ];
}
