/**
 * Issue 16 #5: a store written before records carried MACs still opens, on every PAL port. Its public
 * objects are usable before any login; the first login migrates it (every record MACed as it is, the
 * PIN's key wrap renewed) with nothing lost; from then on an offline edit is caught, and stripping
 * every MAC to make the store look unmigrated again does not work (the renewed wrap says it was).
 * The store is a fixture made by the code from before (test/fixtures/pre-mac-store).
 * @module
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createFilePal } from '../../src/adapters/pal-file/index.js';
import { createFlashPal } from '../../src/adapters/pal-flash/index.js';
import { createMemoryPal } from '../../src/adapters/pal-memory/index.js';
import type { Pal } from '../../src/storage/pal.js';
import { decodeStoredRecord, encodeRecord } from '../../src/storage/record.js';
import { encodeBool } from '../../src/util/bytes.js';
import { findAll } from '../helpers/material.js';
import { indexBuckets, rewriteStored, storedData } from '../helpers/store.js';
import { editRecord, setAttr, storedLabelOf } from '../helpers/tamper.js';
import {
  C,
  freshModule,
  type PalPort,
  TEST_TOKEN_OPTIONS,
  type TestModule,
} from '../helpers/token.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/pre-mac-store/', import.meta.url));
const USER = '246810';
const SO = '87654321';
const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;

/** The fixture as each port holds it (copies: the tests change them). */
const PORTS: PalPort[] = [
  {
    name: 'memory',
    create() {
      const pal = createMemoryPal();
      const dir = join(FIXTURE, 'directory');
      for (const name of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, name));
        const label = decodeURIComponent(name.slice(2, -'.obj'.length));
        pal.saveObject(label, bytes.subarray(1), bytes[0] === 1);
      }
      return { pal, reopen: () => pal, cleanup() {} };
    },
  },
  {
    name: 'flash',
    create() {
      const image = new Uint8Array(readFileSync(join(FIXTURE, 'flash.img')));
      const geometry = { sectorSize: 4096, sectorCount: 8, writeSize: 4 };
      return {
        pal: createFlashPal({ image, geometry }),
        reopen: () => createFlashPal({ image, geometry }),
        cleanup() {},
      };
    },
  },
  {
    name: 'file',
    create() {
      const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-premac-'));
      cpSync(join(FIXTURE, 'directory'), dir, { recursive: true });
      return {
        dir,
        pal: createFilePal(dir),
        reopen: () => createFilePal(dir),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

const pinRecord = (pal: Pal, who: 'so' | 'user') =>
  JSON.parse(storedData(pal, 'corepkcs11.token').subarray(0, -4).toString())[who];

function login(m: TestModule, who = C.CKU_USER, pin = USER) {
  const s = m.p11.C_OpenSession(m.slot, RW);
  m.p11.C_Login(s, who, pin);
  return s;
}

function signs(m: TestModule, s: ReturnType<typeof login>): boolean {
  const [key] = findAll(m.p11, s, [
    { type: C.CKA_LABEL, value: 'device' },
    { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
  ]);
  if (!key) return false;
  m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, key);
  return m.p11.C_Sign(s, Buffer.alloc(32, 1), Buffer.alloc(128)).length === 64;
}

for (const port of PORTS) {
  describe(`a store from before record MACs [${port.name}]`, () => {
    const modules: TestModule[] = [];
    after(() => {
      for (const m of modules) m.cleanup();
    });
    const open = (warnings: string[] = []) => {
      const m = freshModule(port, { ...TEST_TOKEN_OPTIONS, warn: (w) => warnings.push(w) });
      modules.push(m);
      return m;
    };

    it('opens as it is: its public objects are usable before any login, nothing is reported → CKR_OK', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      assert.equal(m.p11.C_GetTokenInfo(m.slot).label.trimEnd(), 'pre-mac');
      const s = m.p11.C_OpenSession(m.slot, RW);
      assert.equal(findAll(m.p11, s, [{ type: C.CKA_LABEL, value: 'note' }]).length, 1);
      assert.equal(findAll(m.p11, s, [{ type: C.CKA_LABEL, value: 'device' }]).length, 1);
      assert.deepEqual(warnings, []);
    });

    it('the first user login migrates it: every object kept and usable, every record MACed, the user PIN’s wrap renewed → CKR_OK', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      const s = login(m);
      assert.deepEqual(warnings, []);
      assert.equal(findAll(m.p11, s, [{ type: C.CKA_TOKEN, value: true }]).length, 4);
      assert.ok(signs(m, s));
      for (const entries of indexBuckets(m.pal).values()) {
        for (const [, label] of entries) {
          const auth = decodeStoredRecord(storedData(m.pal, label)).auth;
          assert.equal(auth.kind, 'mac', `${label} migrated`);
        }
      }
      assert.equal(pinRecord(m.pal, 'user').wrap, 2);
      assert.equal(
        pinRecord(m.pal, 'so').wrap,
        undefined,
        'the SO PIN is renewed at its own login',
      );
      const again = m.restart();
      assert.ok(signs(again, login(again)), 'the renewed PIN still opens the token key');
      const other = again.another();
      other.C_Login(other.C_OpenSession(again.slot, RW), C.CKU_SO, SO);
      assert.equal(pinRecord(again.pal, 'so').wrap, 2);
    });

    it('after the migration an offline edit is caught: CKA_EXTRACTABLE true on the private key → not used', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      login(m);
      const priv = storedLabelOf(m.pal, 'device', C.CKO_PRIVATE_KEY);
      editRecord(m.pal, priv, setAttr(C.CKA_EXTRACTABLE, encodeBool(true)));
      const r = m.restart();
      const s = login(r);
      assert.equal(signs(r, s), false);
      assert.ok(
        warnings.some((w) => /is not used: it fails its MAC/.test(w)),
        warnings.join('\n'),
      );
    });

    it('stripping every MAC and authenticated set afterwards does not make it migrate again: the private objects are refused', () => {
      const warnings: string[] = [];
      const m = open(warnings);
      login(m);
      for (const [bucket, entries] of indexBuckets(m.pal)) {
        rewriteStored(m.pal, bucket, () => {
          const body = Buffer.from(JSON.stringify(entries));
          const out = Buffer.alloc(body.length + 4);
          body.copy(out);
          out.writeUInt32BE(crc(body), body.length);
          return out;
        });
        for (const [, label] of entries) {
          rewriteStored(m.pal, label, (b) =>
            Buffer.from(encodeRecord(decodeStoredRecord(b).record)),
          );
        }
      }
      const r = m.restart();
      const s = login(r);
      assert.equal(signs(r, s), false);
      assert.ok(
        warnings.some((w) =>
          /"device"\) is not used: it has no MAC, and (it holds sealed|it is private)/.test(w),
        ),
        warnings.join('\n'),
      );
    });
  });
}

function crc(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}
