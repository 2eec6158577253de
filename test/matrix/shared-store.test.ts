/**
 * A store shared by processes, per PAL port that can be shared (two Tokens over one store stand for two
 * processes): a token loading the store while another process destroys or replaces objects sees the
 * store as it was before or after each change, never a half-done change reported as damage. The other
 * process's change is injected at the worst moment: after the loader read the index entry, before it
 * read the record the entry names.
 * @module
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import type { Handle } from '../../src/api/convert.js';
import { PKCS11 } from '../../src/api/pkcs11.js';
import type { Pal } from '../../src/storage/pal.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { dataTemplate, findAll, labelsOf } from '../helpers/material.js';
import { recordLabelOf } from '../helpers/store.js';
import {
  C,
  initializedModule,
  PAL_PORTS,
  TEST_TOKEN_OPTIONS,
  type TestModule,
  userSession,
} from '../helpers/token.js';

const TOKEN = [{ type: C.CKA_TOKEN, value: true }];

/** When the other process's step runs: before the loader looks the record up, or before it reads it. */
type Moment = 'lookup' | 'read';

/** `pal`, except that the first lookup or read of `label` first runs `meanwhile` (another process's step). */
function interrupted(pal: Pal, label: string, at: Moment, meanwhile: () => void): Pal {
  let pending = true;
  let handle = 0;
  const step = () => {
    pending = false;
    meanwhile();
  };
  return {
    initialize: () => pal.initialize(),
    saveObject: (l, d, p) => pal.saveObject(l, d, p),
    getObjectValue(h) {
      if (at === 'read' && pending && h === handle) step();
      return pal.getObjectValue(h);
    },
    getObjectValueCleanup: (v) => pal.getObjectValueCleanup(v),
    destroyObject: (h) => pal.destroyObject(h),
    findObject(l) {
      if (at === 'lookup' && pending && l === label) step();
      const h = pal.findObject(l);
      if (l === label) handle = h;
      return h;
    },
    ...(pal.exclusive ? { exclusive: <T>(fn: () => T): T => pal.exclusive!(fn) } : {}),
    ...(pal.generation ? { generation: () => pal.generation!() } : {}),
    ...(pal.close ? { close: () => pal.close!() } : {}),
  };
}

/** Opens a Token over `pal` as a new process would: a public session on it and the warnings it printed. */
function openOver(pal: Pal) {
  const warnings: string[] = [];
  const token = new Token(pal, createNodeCrypto(), {
    ...TEST_TOKEN_OPTIONS,
    warn: (m) => void warnings.push(m),
  });
  const p11 = new PKCS11();
  p11.attach(new Application(token));
  p11.C_Initialize();
  const s = p11.C_OpenSession(p11.C_GetSlotList(true)[0] as Handle, C.CKF_SERIAL_SESSION);
  return { p11, s, warnings };
}

for (const port of PAL_PORTS) {
  // A simulated flash chip has one owner: two PAL instances over it are two writers without a lock.
  const skip = port.name === 'flash' ? 'a flash device is not shared by processes' : false;

  describe(`a store shared by processes [${port.name}]`, { skip }, () => {
    const modules: TestModule[] = [];
    afterEach(() => {
      for (const m of modules.splice(0)) m.cleanup();
    });

    /** A store with objects 'kept' and 'doomed'; `other` is a second process's session on it. */
    function twoProcesses(doomedLabel = 'doomed') {
      const m = initializedModule(port);
      modules.push(m);
      const s = userSession(m);
      m.p11.C_CreateObject(s, dataTemplate('kept', TOKEN));
      m.p11.C_CreateObject(s, dataTemplate(doomedLabel, TOKEN));
      const other = m.restart();
      const os = userSession(other);
      return { m, other, os, doomed: recordLabelOf(m.pal, doomedLabel) };
    }

    const destroyAll = (p: TestModule, s: Handle, label: string) => {
      for (const h of findAll(p.p11, s, [{ type: C.CKA_LABEL, value: label }]))
        p.p11.C_DestroyObject(s, h);
    };

    for (const at of ['lookup', 'read'] as const) {
      it(`an object destroyed by another process while the store loads (before its ${at}): not reported as damaged, not found → CKR_OK`, () => {
        const { m, other, os, doomed } = twoProcesses();
        const pal = interrupted(m.reopen(), doomed, at, () => destroyAll(other, os, 'doomed'));
        const { p11, s, warnings } = openOver(pal);
        assert.deepEqual(warnings, []);
        assert.deepEqual(labelsOf(p11, s).sort(), ['kept']);
      });

      it(`a well-known slot emptied and refilled by another process while the store loads (before its ${at}): the new object, no damage → CKR_OK`, () => {
        const { m, other, os, doomed } = twoProcesses('Device Cert');
        assert.equal(doomed, 'Device Cert', 'the object sits in its well-known PAL slot');
        const pal = interrupted(m.reopen(), doomed, at, () => {
          destroyAll(other, os, 'Device Cert');
          other.p11.C_CreateObject(
            os,
            dataTemplate('Device Cert', [
              ...TOKEN,
              { type: C.CKA_OBJECT_ID, value: Buffer.of(6, 1, 2) },
            ]),
          );
        });
        const { p11, s, warnings } = openOver(pal);
        assert.deepEqual(warnings, []);
        assert.deepEqual(labelsOf(p11, s).sort(), ['Device Cert', 'kept']);
        const [h] = findAll(p11, s, [{ type: C.CKA_LABEL, value: 'Device Cert' }]);
        const [a] = p11.C_GetAttributeValue(s, h as Handle, [{ type: C.CKA_OBJECT_ID }]);
        assert.deepEqual(a?.value, Buffer.of(6, 1, 2), 'the object stored second');
      });
    }
  });
}
