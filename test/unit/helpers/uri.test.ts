import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isPkcs11Error } from '../../../src/errors.js';
import {
  formatPkcs11Uri,
  objectUri,
  PATH_ATTRIBUTES,
  type Pkcs11Uri,
  parsePkcs11Uri,
  QUERY_ATTRIBUTES,
  uriSelection,
  uriText,
} from '../../../src/helpers/uri.js';
import * as C from '../../../src/pkcs11/constants.js';
import { assertRv } from '../../helpers/token.js';

/** RFC 7512 §3, the examples (each on one line). */
const RFC_EXAMPLES = [
  'pkcs11:',
  'pkcs11:object=my-pubkey;type=public',
  'pkcs11:object=my-key;type=private?pin-source=file:/etc/token',
  'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
  'pkcs11:object=my-sign-key;type=private?module-name=mypkcs11',
  'pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1',
  'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin',
  'pkcs11:slot-description=Sun%20Metaslot',
  'pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23',
  'pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06',
  'pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert',
  'pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert',
  'pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b',
];

describe('PKCS#11 URIs (RFC 7512)', () => {
  it('parses every RFC 7512 example and formats it back to the same text (hex in upper case)', () => {
    for (const text of RFC_EXAMPLES) {
      const uri = parsePkcs11Uri(text);
      assert.equal(
        formatPkcs11Uri(uri),
        text.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase()),
      );
    }
  });

  it('decodes the RFC examples to the values they name', () => {
    const u4 = parsePkcs11Uri(RFC_EXAMPLES[3] as string);
    assert.equal(uriText(u4, 'token'), 'The Software PKCS#11 Softtoken');
    assert.equal(uriText(u4, 'manufacturer'), 'Snake Oil, Inc.');
    assert.equal(uriText(u4, 'serial'), '');
    assert.equal(uriText(u4, 'pin-source'), 'file:/etc/token_pin');
    const sel = uriSelection(u4);
    assert.equal(sel.objectClass, C.CKO_CERTIFICATE);
    assert.equal(sel.label, 'my-certificate');
    assert.deepEqual(sel.id, Uint8Array.from([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]));
    assert.deepEqual(sel.token, {
      label: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      serial: '',
    });
    assert.equal(
      uriText(parsePkcs11Uri(RFC_EXAMPLES[9] as string), 'token'),
      'My token% created by Joe',
    );
    assert.equal(
      uriText(parsePkcs11Uri(RFC_EXAMPLES[10] as string), 'token'),
      'A name with a substring %;',
    );
    assert.equal(
      uriText(parsePkcs11Uri(RFC_EXAMPLES[11] as string), 'token'),
      'Name with a small A with acute: á',
    );
    assert.equal(uriSelection(parsePkcs11Uri(RFC_EXAMPLES[6] as string)).pinValue, 'the-pin');
    const vendor = parsePkcs11Uri(RFC_EXAMPLES[12] as string);
    assert.deepEqual(
      vendor.path.map((a) => a.name),
      ['token', 'object', 'type', 'vendor-aaa'],
    );
    assert.deepEqual(
      vendor.query.map((a) => a.name),
      ['pin-source', 'vendor-bbb'],
    );
  });

  const vendor = fc.record({
    name: fc.stringMatching(/^x-[a-z0-9_-]{1,8}$/),
    value: fc.uint8Array({ maxLength: 24 }),
  });
  const text = fc.string({ maxLength: 16 }).map((s) => new TextEncoder().encode(s));
  /** Some of the free-text standard attributes, each once, in any order. */
  const standard = (names: readonly string[]) =>
    fc
      .shuffledSubarray(
        names.filter((n) => !['type', 'library-version', 'slot-id', 'id'].includes(n)),
      )
      .chain((ns) => fc.tuple(...ns.map((name) => text.map((value) => ({ name, value })))));
  const id = fc.option(
    fc.uint8Array({ maxLength: 20 }).map((value) => ({ name: 'id', value })),
    { nil: undefined },
  );
  const uris: fc.Arbitrary<Pkcs11Uri> = fc
    .tuple(
      standard(PATH_ATTRIBUTES),
      id,
      fc.array(vendor, { maxLength: 3 }),
      standard(QUERY_ATTRIBUTES),
      fc.array(vendor, { maxLength: 3 }),
    )
    .map(([p, i, pv, q, qv]) => ({ path: [...p, ...(i ? [i] : []), ...pv], query: [...q, ...qv] }));

  it('round-trips any URI: parse(format(u)) equals u', () => {
    fc.assert(
      fc.property(uris, (u) => {
        const text = formatPkcs11Uri(u);
        assert.deepEqual(parsePkcs11Uri(text), u, text);
        assert.equal(formatPkcs11Uri(parsePkcs11Uri(text)), text);
      }),
      { numRuns: 500 },
    );
  });

  it('formats an object URI from token info and object attributes', () => {
    const uri = objectUri({
      token: {
        label: 'my token                        ',
        manufacturerID: 'corepkcs11',
        model: 'soft',
        serialNumber: '01',
      },
      label: 'Device Priv TLS Key',
      objectClass: C.CKO_PRIVATE_KEY,
      id: Uint8Array.of(0xab, 0x01),
    });
    assert.equal(
      uri,
      'pkcs11:token=my%20token;manufacturer=corepkcs11;model=soft;serial=01;object=Device%20Priv%20TLS%20Key;type=private;id=%AB%01',
    );
  });

  const BAD = [
    ['no scheme', 'object=foo'],
    ['another scheme', 'http:object=foo'],
    ['a space', 'pkcs11:object=my key'],
    ['a bad percent-encoding', 'pkcs11:object=%4'],
    ['a non-hex percent-encoding', 'pkcs11:object=%zz'],
    ['an attribute without =', 'pkcs11:object'],
    ['an empty attribute', 'pkcs11:object=a;;type=cert'],
    ['an unknown type', 'pkcs11:type=key'],
    ['a repeated path attribute', 'pkcs11:object=a;object=b'],
    ['a query attribute in the path', 'pkcs11:pin-value=1234'],
    ['a path attribute in the query', 'pkcs11:?object=a'],
    ['an & in the query value', 'pkcs11:?pin-value=a&b'],
    ['a / in the path', 'pkcs11:object=a/b'],
    ['a bad library-version', 'pkcs11:library-version=1.2.3'],
    ['a bad slot-id', 'pkcs11:slot-id=0x1'],
    ['a token label that is not UTF-8', 'pkcs11:token=%C3'],
    ['a fragment', 'pkcs11:object=a#frag'],
  ];
  for (const [what, uri] of BAD) {
    it(`refuses ${what} → CKR_ARGUMENTS_BAD`, () => {
      assertRv(() => parsePkcs11Uri(uri as string), C.CKR_ARGUMENTS_BAD);
    });
  }

  it('never throws anything but CKR_ARGUMENTS_BAD on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          const u = parsePkcs11Uri(`pkcs11:${s}`);
          assert.deepEqual(parsePkcs11Uri(formatPkcs11Uri(u)), u);
        } catch (e) {
          assert.ok(isPkcs11Error(e, C.CKR_ARGUMENTS_BAD), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
