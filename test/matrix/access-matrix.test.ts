/**
 * The read/write access matrix of security.md §1.3 (SoftHSMv2 access.cpp, v2.40 §5.6), every cell:
 * 5 session states × public/private × session/token object × read/write, once per PAL port.
 *
 * How a cell is checked. Read: the object is found by its label and C_GetAttributeValue / C_GetObjectSize
 * answer; a private object outside a user state does not exist for the session (security.md §1.4
 * prefers CKR_OBJECT_HANDLE_INVALID to the table's CKR_USER_NOT_LOGGED_IN for an existing handle: the
 * handle is not valid there), so it is not found and its old handle is CKR_OBJECT_HANDLE_INVALID. Write:
 * C_CreateObject of a new object of the kind returns the cell's code (OK, CKR_SESSION_READ_ONLY,
 * CKR_USER_NOT_LOGGED_IN), and C_SetAttributeValue / C_CopyObject / C_DestroyObject on the existing one
 * return it too (CKR_OBJECT_HANDLE_INVALID where the object is invisible).
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Handle, Template } from '../../src/api/convert.js';
import { ckrName } from '../../src/errors.js';
import { attr, dataTemplate, findAll, handle, num } from '../helpers/material.js';
import {
  assertRv,
  C,
  initializedModule,
  PAL_PORTS,
  SO_PIN,
  type TestModule,
  USER_PIN,
} from '../helpers/token.js';

type Cell = 'OK' | 'UNLI' | 'SRO';
type Kind = 'public session' | 'private session' | 'public token' | 'private token';
type State = 'R/O Public' | 'R/W Public' | 'R/O User' | 'R/W User' | 'R/W SO';

const KINDS: Kind[] = ['public session', 'private session', 'public token', 'private token'];

/** [read, write] per kind, in the order of KINDS. */
const MATRIX: Record<State, [Cell, Cell][]> = {
  'R/O Public': [
    ['OK', 'OK'],
    ['UNLI', 'UNLI'],
    ['OK', 'SRO'],
    ['UNLI', 'SRO'],
  ],
  'R/W Public': [
    ['OK', 'OK'],
    ['UNLI', 'UNLI'],
    ['OK', 'OK'],
    ['UNLI', 'UNLI'],
  ],
  'R/O User': [
    ['OK', 'OK'],
    ['OK', 'OK'],
    ['OK', 'SRO'],
    ['OK', 'SRO'],
  ],
  'R/W User': [
    ['OK', 'OK'],
    ['OK', 'OK'],
    ['OK', 'OK'],
    ['OK', 'OK'],
  ],
  'R/W SO': [
    ['OK', 'OK'],
    ['UNLI', 'UNLI'],
    ['OK', 'OK'],
    ['UNLI', 'UNLI'],
  ],
};

const STATE_CODE: Record<State, number> = {
  'R/O Public': C.CKS_RO_PUBLIC_SESSION,
  'R/W Public': C.CKS_RW_PUBLIC_SESSION,
  'R/O User': C.CKS_RO_USER_FUNCTIONS,
  'R/W User': C.CKS_RW_USER_FUNCTIONS,
  'R/W SO': C.CKS_RW_SO_FUNCTIONS,
};

const CODE: Record<Cell, number> = {
  OK: C.CKR_OK,
  UNLI: C.CKR_USER_NOT_LOGGED_IN,
  SRO: C.CKR_SESSION_READ_ONLY,
};

const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
const RO = C.CKF_SERIAL_SESSION;

function kindTemplate(kind: Kind, label: string): Template {
  return dataTemplate(label, [
    { type: C.CKA_TOKEN, value: kind.endsWith('token') },
    { type: C.CKA_PRIVATE, value: kind.startsWith('private') },
  ]);
}

/** Runs `fn` and expects `code` (CKR_OK: it must succeed). Returns its result when it succeeds. */
function expectRv<T>(fn: () => T, code: number): T | undefined {
  if (code === C.CKR_OK) return fn();
  assertRv(fn, code);
  return undefined;
}

for (const port of PAL_PORTS) {
  for (const st of Object.keys(MATRIX) as State[]) {
    describe(`access matrix, ${st} session [${port.name}]`, () => {
      let m: TestModule;
      let s: Handle;
      const objects = new Map<Kind, number>();
      before(() => {
        m = initializedModule(port);
        const setup = m.p11.C_OpenSession(m.slot, RW);
        m.p11.C_Login(setup, C.CKU_USER, USER_PIN);
        for (const kind of KINDS) {
          objects.set(kind, num(m.p11.C_CreateObject(setup, kindTemplate(kind, kind))));
        }
        if (st === 'R/O User') s = m.p11.C_OpenSession(m.slot, RO);
        else if (st === 'R/W User') s = setup;
        else {
          m.p11.C_Logout(setup);
          if (st === 'R/W SO') m.p11.C_Login(setup, C.CKU_SO, SO_PIN);
          s = st === 'R/O Public' ? m.p11.C_OpenSession(m.slot, RO) : setup;
        }
        assert.equal(m.p11.C_GetSessionInfo(s).state, STATE_CODE[st]);
      });
      after(() => m.cleanup());

      KINDS.forEach((kind, i) => {
        const [read, write] = MATRIX[st][i] as [Cell, Cell];
        const readTitle =
          read === 'OK'
            ? 'found and readable → CKR_OK'
            : 'invisible: not found, its handle → CKR_OBJECT_HANDLE_INVALID';
        it(`${kind} object, read: ${readTitle}`, () => {
          const h = handle(objects.get(kind) as number);
          const found = findAll(m.p11, s, [{ type: C.CKA_LABEL, value: kind }]);
          if (read === 'OK') {
            assert.deepEqual(found.map(num), [num(h)]);
            assert.equal(attr(m.p11, s, h, C.CKA_LABEL).toString(), kind);
            assert.ok(m.p11.C_GetObjectSize(s, h) > 0);
          } else {
            assert.deepEqual(found, []);
            assertRv(
              () => m.p11.C_GetAttributeValue(s, h, [{ type: C.CKA_LABEL }]),
              C.CKR_OBJECT_HANDLE_INVALID,
            );
            assertRv(() => m.p11.C_GetObjectSize(s, h), C.CKR_OBJECT_HANDLE_INVALID);
          }
        });

        it(`${kind} object, write → ${ckrName(CODE[write])}`, () => {
          const code = CODE[write];
          const created = expectRv(
            () => m.p11.C_CreateObject(s, kindTemplate(kind, `${kind} new`)),
            code,
          );
          const h = handle(objects.get(kind) as number);
          // an existing object the session cannot see cannot be addressed at all
          const onExisting = read === 'OK' ? code : C.CKR_OBJECT_HANDLE_INVALID;
          expectRv(
            () => m.p11.C_SetAttributeValue(s, h, [{ type: C.CKA_APPLICATION, value: st }]),
            onExisting,
          );
          const copy = expectRv(() => m.p11.C_CopyObject(s, h, []), onExisting);
          if (onExisting === C.CKR_OK) {
            assert.equal(attr(m.p11, s, h, C.CKA_APPLICATION).toString(), st);
          }
          for (const o of [created, copy]) if (o) m.p11.C_DestroyObject(s, o);
          if (onExisting !== C.CKR_OK) {
            assertRv(() => m.p11.C_DestroyObject(s, h), onExisting);
          }
        });
      });

      it('key generation follows the same matrix (private keys default to CKA_PRIVATE true): CKR_OK / CKR_USER_NOT_LOGGED_IN / CKR_SESSION_READ_ONLY', () => {
        const gen = (token: boolean, priv?: boolean) => () =>
          m.p11.C_GenerateKey(s, { mechanism: C.CKM_AES_KEY_GEN }, [
            { type: C.CKA_VALUE_LEN, value: 16 },
            { type: C.CKA_TOKEN, value: token },
            ...(priv === undefined ? [] : [{ type: C.CKA_PRIVATE, value: priv }]),
          ]);
        const user = st.endsWith('User');
        const rw = st.startsWith('R/W');
        // a session key with no CKA_PRIVATE is private: it needs the user
        expectRv(gen(false), user ? C.CKR_OK : C.CKR_USER_NOT_LOGGED_IN);
        expectRv(gen(false, false), C.CKR_OK);
        expectRv(gen(true, false), rw ? C.CKR_OK : C.CKR_SESSION_READ_ONLY);
      });
    });
  }
}
