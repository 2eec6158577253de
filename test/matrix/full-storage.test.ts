/**
 * Full storage (issue 16 §3), per PAL port: once the store is full (objects until CKR_DEVICE_MEMORY),
 * logins are still checked and counted, and deleting still works — also a delete that must rewrite an
 * index bucket (one half of a key pair) — so the user can free space through the token. The memory port
 * is filled to its byte capacity, the flash port to its sectors; the file port is filled on a real tmpfs
 * in test/unit/adapters/pal-file/full-disk.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createFlashPal } from '../../src/adapters/pal-flash/index.js';
import { createMemoryPal } from '../../src/adapters/pal-memory/index.js';
import type { Handle } from '../../src/api/convert.js';
import { ckrName, isPkcs11Error } from '../../src/errors.js';
import { EC_PARAMS } from '../helpers/keys.js';
import { dataTemplate, findAll } from '../helpers/material.js';
import {
  C,
  initializedModule,
  type PalPort,
  type TestModule,
  USER_PIN,
  userSession,
} from '../helpers/token.js';

const SMALL_PORTS: PalPort[] = [
  {
    name: 'memory',
    create() {
      const pal = createMemoryPal({ capacity: 24 * 1024 });
      return { pal, reopen: () => pal, cleanup() {} };
    },
  },
  {
    name: 'flash',
    create() {
      const geometry = { sectorSize: 8192, pageSize: 256, sectorCount: 6, writeSize: 8 };
      const image = new Uint8Array(geometry.sectorSize * geometry.sectorCount).fill(0xff);
      return {
        pal: createFlashPal({ image, geometry }),
        reopen: () => createFlashPal({ image, geometry }),
        cleanup() {},
      };
    },
  },
];

const TOKEN = [{ type: C.CKA_TOKEN, value: true }];

function rvOf(fn: () => unknown): string {
  try {
    fn();
    return 'CKR_OK';
  } catch (e) {
    if (!isPkcs11Error(e)) throw e;
    return ckrName(e.code);
  }
}

/** Creates data objects of `size` bytes until one does not fit; their labels. */
function fill(m: TestModule, s: Handle, size: number, from: number): string[] {
  const made: string[] = [];
  for (let i = from; i < from + 10_000; i++) {
    const label = `filler ${i}`;
    const template = dataTemplate(label, TOKEN).map((a) =>
      a.type === C.CKA_VALUE ? { ...a, value: Buffer.alloc(size, i) } : a,
    );
    const rv = rvOf(() => m.p11.C_CreateObject(s, template));
    if (rv === 'CKR_DEVICE_MEMORY') return made;
    assert.equal(rv, 'CKR_OK');
    made.push(label);
  }
  assert.fail('the store never filled up');
}

/** Takes what room is left below the token, down to the last byte, as another user of the store would. */
function fillPal(m: TestModule): void {
  let n = 0;
  for (const size of [4096, 1024, 256, 64, 16, 4, 1]) {
    while (
      rvOf(() => m.pal.saveObject(`raw filler ${n}`, new Uint8Array(size), false)) === 'CKR_OK'
    )
      n++;
  }
}

for (const port of SMALL_PORTS) {
  describe(`full storage [${port.name}]`, () => {
    const modules: TestModule[] = [];
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    it('on a full store a wrong PIN → CKR_PIN_INCORRECT (counted), the right one → CKR_OK, deletes → CKR_OK, then there is room again', () => {
      const m = initializedModule(port, {
        pinIterations: 10,
        allowWeakPinIterations: true,
        maxPinTries: 3,
        warn: () => {},
      });
      modules.push(m);
      const s = userSession(m);
      m.p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [
          ...TOKEN,
          { type: C.CKA_LABEL, value: 'pair' },
          { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
        ],
        [...TOKEN, { type: C.CKA_LABEL, value: 'pair' }, { type: C.CKA_SIGN, value: true }],
      );
      const made = [...fill(m, s, 1500, 0)];
      made.push(...fill(m, s, 1, made.length));
      assert.ok(made.length > 3, `only ${made.length} objects fitted`);
      m.p11.C_Logout(s);
      fillPal(m);

      // a new process on the full store
      const r = m.restart();
      const rs = r.p11.C_OpenSession(r.slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
      const flags = () => r.p11.C_GetTokenInfo(r.slot).flags & C.CKF_USER_PIN_COUNT_LOW;
      assert.equal(
        rvOf(() => r.p11.C_Login(rs, C.CKU_USER, '0000')),
        'CKR_PIN_INCORRECT',
      );
      assert.equal(flags(), C.CKF_USER_PIN_COUNT_LOW, 'the wrong PIN was counted');
      assert.equal(
        rvOf(() => r.p11.C_Login(rs, C.CKU_USER, USER_PIN)),
        'CKR_OK',
      );
      assert.equal(flags(), 0, 'the right PIN gave the try back');
      const [pub] = findAll(r.p11, rs, [
        { type: C.CKA_LABEL, value: 'pair' },
        { type: C.CKA_CLASS, value: C.CKO_PUBLIC_KEY },
      ]);
      assert.equal(
        rvOf(() => r.p11.C_DestroyObject(rs, pub as Handle)),
        'CKR_OK',
      );
      for (const label of made.slice(0, 2)) {
        const [h] = findAll(r.p11, rs, [{ type: C.CKA_LABEL, value: label }]);
        assert.equal(
          rvOf(() => r.p11.C_DestroyObject(rs, h as Handle)),
          'CKR_OK',
          label,
        );
      }
      assert.equal(
        rvOf(() => r.p11.C_CreateObject(rs, dataTemplate('after', TOKEN))),
        'CKR_OK',
      );

      const again = r.restart();
      const as = userSession(again);
      const privs = findAll(again.p11, as, [{ type: C.CKA_LABEL, value: 'pair' }]);
      assert.equal(privs.length, 1, 'the other half of the pair is still there');
      assert.equal(
        findAll(again.p11, as, [{ type: C.CKA_CLASS, value: C.CKO_DATA }]).length,
        made.length - 1,
      );
    });
  });
}
