/**
 * Issue 16 #5, on every PAL port: every stored object is authenticated by a MAC under a key derived
 * from the token key. Each protected attribute edited offline, with the record's CRC put right, makes
 * the object unusable after the next login (reported, never used); so does moving a record, swapping
 * two, changing its identity, stripping its MAC, or forging a "public session" change. What a public
 * session may legitimately do before any login (create, change, destroy public objects) still works
 * and is adopted at the next login. Trust decisions are refused before the first login.
 * @module
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { ROLE_HISTORY } from '../../src/objects/role-history.js';
import { decodeStoredRecord } from '../../src/storage/record.js';
import { encodeBool } from '../../src/util/bytes.js';
import { dataTemplate, findAll } from '../helpers/material.js';
import { storedData } from '../helpers/store.js';
import {
  type AttributeEdit,
  type AuthForgery,
  dropAttr,
  editRecord,
  setAttr,
  storedLabelOf,
  swapRecords,
} from '../helpers/tamper.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
const TRUE = encodeBool(true);
const FALSE = encodeBool(false);
/** A point on no curve: what an attacker swaps in for a public key. */
const POINT = Buffer.alloc(67, 4);

const aes = (label: string, extra: Template): Template => [
  { type: C.CKA_CLASS, value: C.CKO_SECRET_KEY },
  { type: C.CKA_KEY_TYPE, value: C.CKK_AES },
  { type: C.CKA_TOKEN, value: true },
  { type: C.CKA_LABEL, value: label },
  { type: C.CKA_VALUE, value: Buffer.alloc(32, label.length) },
  ...extra,
];

/** Every kind of object whose attributes guard something, stored by the user and the SO. */
function provision(m: TestModule): void {
  const s = userSession(m);
  m.p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: P256 },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: 'gen-pub' },
    ],
    [
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: 'gen-priv' },
      { type: C.CKA_SIGN, value: true },
    ],
  );
  m.p11.C_CreateObject(
    s,
    aes('secret', [
      { type: C.CKA_EXTRACTABLE, value: true },
      { type: C.CKA_WRAP_WITH_TRUSTED, value: true },
    ]),
  );
  m.p11.C_CreateObject(
    s,
    aes('templ-wrap', [
      { type: C.CKA_WRAP, value: true },
      { type: C.CKA_DECRYPT, value: false },
      { type: C.CKA_WRAP_TEMPLATE, value: [{ type: C.CKA_KEY_TYPE, value: C.CKK_GENERIC_SECRET }] },
    ]),
  );
  m.p11.C_CreateObject(
    s,
    aes('templ-unwrap', [
      { type: C.CKA_UNWRAP, value: true },
      { type: C.CKA_ENCRYPT, value: false },
      { type: C.CKA_UNWRAP_TEMPLATE, value: [{ type: C.CKA_SENSITIVE, value: true }] },
    ]),
  );
  m.p11.C_CreateObject(s, dataTemplate('note', [{ type: C.CKA_TOKEN, value: true }]));
  m.p11.C_CloseSession(s);
  // Public keys of the SO: one it trusts, one it does not (the attacker's).
  const so = m.p11.C_OpenSession(m.slot, RW);
  m.p11.C_Login(so, C.CKU_SO, SO_PIN);
  const wrapper = (label: string, trusted: boolean) =>
    m.p11.C_CreateObject(
      so,
      aes(label, [
        { type: C.CKA_PRIVATE, value: false },
        { type: C.CKA_WRAP, value: true },
        { type: C.CKA_DECRYPT, value: false },
        { type: C.CKA_TRUSTED, value: trusted },
      ]),
    );
  wrapper('trusted-wrap', true);
  wrapper('attacker-wrap', false);
  m.p11.C_CreateObject(
    so,
    aes('public-secret', [
      { type: C.CKA_PRIVATE, value: false },
      { type: C.CKA_SENSITIVE, value: false },
      { type: C.CKA_EXTRACTABLE, value: true },
    ]),
  );
  m.p11.C_CloseSession(so);
}

const ALL = [
  'gen-pub',
  'gen-priv',
  'secret',
  'templ-wrap',
  'templ-unwrap',
  'note',
  'trusted-wrap',
  'attacker-wrap',
  'public-secret',
];

for (const port of PAL_PORTS) {
  describe(`stored records are authenticated [${port.name}]`, () => {
    const modules: TestModule[] = [];
    after(() => {
      for (const m of modules) m.cleanup();
    });

    /** A provisioned store, tampered with by `tamper`, reopened: the warnings and a user session. */
    function tampered(tamper: (m: TestModule) => void) {
      const warnings: string[] = [];
      const m = initializedModule(port, { ...TEST_TOKEN_OPTIONS, warn: (w) => warnings.push(w) });
      modules.push(m);
      provision(m);
      tamper(m);
      const r = m.restart();
      const s = userSession(r);
      const found = (label: string) =>
        findAll(r.p11, s, [{ type: C.CKA_LABEL, value: label }]).length;
      return { r, s, warnings, found };
    }

    /** One offline edit each: what it is, the object edited, how, and what becomes of its MAC. */
    const cases: [string, string, AttributeEdit, AuthForgery?, number?][] = [
      [
        'CKA_SENSITIVE false on a generated private key',
        'gen-priv',
        setAttr(C.CKA_SENSITIVE, FALSE),
      ],
      [
        'CKA_EXTRACTABLE true on a generated private key',
        'gen-priv',
        setAttr(C.CKA_EXTRACTABLE, TRUE),
      ],
      ['CKA_NEVER_EXTRACTABLE false', 'gen-priv', setAttr(C.CKA_NEVER_EXTRACTABLE, FALSE)],
      ['CKA_PRIVATE false on a private key', 'gen-priv', setAttr(C.CKA_PRIVATE, FALSE)],
      ['CKA_SIGN flipped', 'gen-priv', setAttr(C.CKA_SIGN, FALSE)],
      ['CKA_EC_POINT of a public key replaced', 'gen-pub', setAttr(C.CKA_EC_POINT, POINT)],
      ['CKA_WRAP_WITH_TRUSTED false', 'secret', setAttr(C.CKA_WRAP_WITH_TRUSTED, FALSE)],
      ['CKA_TRUSTED true on the attacker’s key', 'attacker-wrap', setAttr(C.CKA_TRUSTED, TRUE)],
      ['CKA_WRAP_TEMPLATE stripped', 'templ-wrap', dropAttr(C.CKA_WRAP_TEMPLATE)],
      ['CKA_UNWRAP_TEMPLATE stripped', 'templ-unwrap', dropAttr(C.CKA_UNWRAP_TEMPLATE)],
      ['CKA_DECRYPT given to a wrapping key', 'templ-wrap', setAttr(C.CKA_DECRYPT, TRUE)],
      [
        'CKA_VALUE of a public object changed',
        'public-secret',
        setAttr(C.CKA_VALUE, Buffer.alloc(32, 7)),
      ],
      [
        'CKA_APPLICATION of a data object changed',
        'note',
        setAttr(C.CKA_APPLICATION, Buffer.from('x')),
      ],
      ['the object id changed (identity)', 'note', () => {}, 'keep-mac', 12345],
      [
        'the MAC stripped from a private key',
        'gen-priv',
        setAttr(C.CKA_EXTRACTABLE, TRUE),
        'strip',
      ],
      ['the MAC stripped from a public key', 'gen-pub', setAttr(C.CKA_EC_POINT, POINT), 'strip'],
      [
        'a forged public-session change to CKA_EC_POINT (not modifiable)',
        'gen-pub',
        setAttr(C.CKA_EC_POINT, POINT),
        'forge-base',
      ],
      [
        'a forged public-session change to CKA_TRUSTED (SO only)',
        'attacker-wrap',
        setAttr(C.CKA_TRUSTED, TRUE),
        'forge-base',
      ],
      [
        'a forged public-session change that clears a wrapping key’s role history',
        'trusted-wrap',
        setAttr(ROLE_HISTORY, Buffer.of(0)),
        'forge-base',
      ],
    ];

    for (const [what, victim, edit, forgery, id] of cases) {
      it(`${what}: ${victim} is reported and never used after login; the others are → CKR_OK`, () => {
        const { warnings, found } = tampered((m) =>
          editRecord(m.pal, storedLabelOf(m.pal, victim), edit, forgery, id),
        );
        assert.equal(found(victim), 0, `${victim} is still used`);
        assert.ok(
          warnings.some((w) => w.includes(`("${victim}") is not used`)) ||
            warnings.some((w) => /holds object/.test(w)),
          warnings.join('\n'),
        );
        for (const label of ALL) if (label !== victim) assert.equal(found(label), 1, label);
      });
    }

    it('CKA_LABEL changed: the object is used under neither label', () => {
      const { warnings, found } = tampered((m) =>
        editRecord(
          m.pal,
          storedLabelOf(m.pal, 'note'),
          setAttr(C.CKA_LABEL, Buffer.from('renamed')),
        ),
      );
      assert.equal(found('note') + found('renamed'), 0);
      assert.ok(
        warnings.some((w) => /\("renamed"\) is not used: it fails its MAC/.test(w)),
        warnings.join('\n'),
      );
    });

    it('two records swapped (each moved under the other’s label): both reported, neither used', () => {
      const { warnings, found } = tampered((m) =>
        swapRecords(m.pal, storedLabelOf(m.pal, 'note'), storedLabelOf(m.pal, 'public-secret')),
      );
      assert.equal(found('note') + found('public-secret'), 0);
      assert.ok(warnings.length >= 2, warnings.join('\n'));
    });

    /** Runs `fn` in a public session of a new process that never logged in (no MAC key at all). */
    function publicly(m: TestModule, fn: (pub: TestModule, s: Handle) => void): void {
      const pub = m.restart();
      fn(pub, pub.p11.C_OpenSession(pub.slot, RW));
      pub.p11.C_Finalize();
    }

    it('a MAC-less public object planted with CKA_TRUSTED true is refused; a plain one is adopted', () => {
      const { r, s, warnings, found } = tampered((m) =>
        publicly(m, (pub, ps) => {
          // What a public session may store (a copy of a public key), then the same copy edited to
          // claim CKA_TRUSTED, which only the SO (whose writes carry a MAC) may set.
          const from = findAll(pub.p11, ps, [{ type: C.CKA_LABEL, value: 'attacker-wrap' }])[0];
          const plain = pub.p11.C_CopyObject(ps, from as Handle, [
            { type: C.CKA_LABEL, value: 'planted-plain' },
          ]);
          pub.p11.C_CopyObject(ps, plain, [{ type: C.CKA_LABEL, value: 'planted-trusted' }]);
          editRecord(
            pub.pal,
            storedLabelOf(pub.pal, 'planted-trusted'),
            setAttr(C.CKA_TRUSTED, TRUE),
          );
        }),
      );
      assert.equal(found('planted-trusted'), 0, warnings.join('\n'));
      assert.ok(
        warnings.some((w) =>
          /\("planted-trusted"\) is not used: it has no MAC, and only the SO sets CKA_TRUSTED/.test(
            w,
          ),
        ),
        warnings.join('\n'),
      );
      assert.equal(found('planted-plain'), 1);
      const label = storedLabelOf(r.pal, 'planted-plain');
      assert.equal(
        decodeStoredRecord(storedData(r.pal, label)).auth.kind,
        'mac',
        'adopted at login',
      );
      r.p11.C_CloseSession(s);
    });

    it('before any login, trust decisions are refused → CKR_USER_NOT_LOGGED_IN; after it they are taken', () => {
      const m = initializedModule(port);
      modules.push(m);
      provision(m);
      const r = m.restart();
      const pub = r.p11.C_OpenSession(r.slot, RW);
      const one = (label: string) =>
        findAll(r.p11, pub, [{ type: C.CKA_LABEL, value: label }])[0] as Handle;
      const wrap = () =>
        r.p11.C_WrapKey(
          pub,
          { mechanism: C.CKM_AES_KEY_WRAP },
          one('trusted-wrap'),
          one('public-secret'),
          Buffer.alloc(64),
        );
      assertRv(wrap, C.CKR_USER_NOT_LOGGED_IN);
      r.p11.C_Login(pub, C.CKU_USER, '1234');
      assert.equal(wrap().length, 40);
    });

    it('a public session’s own changes before any login (create, set a label, destroy) survive the next login, adopted', () => {
      const { r, s, warnings, found } = tampered((m) =>
        publicly(m, (pub, ps) => {
          const p = pub.p11;
          const one = (label: string) =>
            findAll(p, ps, [{ type: C.CKA_LABEL, value: label }])[0] as Handle;
          p.C_CreateObject(ps, dataTemplate('made public', [{ type: C.CKA_TOKEN, value: true }]));
          p.C_SetAttributeValue(ps, one('note'), [{ type: C.CKA_LABEL, value: 'renamed' }]);
          p.C_DestroyObject(ps, one('public-secret'));
          const stored = storedData(pub.pal, storedLabelOf(pub.pal, 'renamed'));
          const auth = decodeStoredRecord(stored).auth;
          assert.ok(auth.kind === 'none' && auth.base, 'stored without a MAC, its base kept');
        }),
      );
      assert.deepEqual(
        warnings.filter((w) => /not used|gone/.test(w)),
        [],
      );
      assert.equal(found('made public'), 1);
      assert.equal(found('renamed'), 1);
      assert.equal(found('note'), 0);
      assert.equal(found('public-secret'), 0);
      for (const label of ['made public', 'renamed']) {
        const bytes = storedData(r.pal, storedLabelOf(r.pal, label));
        assert.equal(decodeStoredRecord(bytes).auth.kind, 'mac', `${label} adopted`);
      }
      r.p11.C_CloseSession(s);
    });

    it('a public session copies a public secret key (its role history grows) and renames it: all survive the next login → CKR_OK', () => {
      const { r, s, warnings, found } = tampered((m) =>
        publicly(m, (pub, ps) => {
          const p = pub.p11;
          const [key] = findAll(p, ps, [{ type: C.CKA_LABEL, value: 'public-secret' }]);
          const copy = (token: boolean, label: string) =>
            p.C_CopyObject(ps, key as Handle, [
              { type: C.CKA_TOKEN, value: token },
              { type: C.CKA_LABEL, value: label },
            ]);
          copy(false, 'session copy');
          copy(true, 'token copy');
          p.C_SetAttributeValue(ps, key as Handle, [{ type: C.CKA_LABEL, value: 'copied' }]);
        }),
      );
      assert.deepEqual(
        warnings.filter((w) => /not used|gone/.test(w)),
        [],
      );
      assert.equal(found('copied'), 1);
      assert.equal(found('token copy'), 1);
      assert.equal(found('public-secret'), 0);
      r.p11.C_CloseSession(s);
    });
  });
}
