import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { Pkcs11Error } from '../../../src/errors.js';
import type { Pal } from '../../../src/storage/pal.js';
import { WELL_KNOWN_LABELS } from '../../../src/token/object-store.js';
import { indexBuckets } from '../../helpers/store.js';
import { assertRv, C, initializedModule, type PalPort, userSession } from '../../helpers/token.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

/** A memory PAL that logs every write and can be told to fail the n-th save of a label prefix. */
function recordingPort() {
  const log: string[] = [];
  let failOn: { prefix: string; left: number; code: number } | undefined;
  const store = createMemoryPal();
  const wrap = (inner: Pal): Pal => ({
    ...inner,
    saveObject(label, data, isPrivate) {
      if (failOn && label.startsWith(failOn.prefix) && --failOn.left === 0) {
        failOn = undefined;
        throw new Pkcs11Error(C.CKR_DEVICE_ERROR, 'injected');
      }
      log.push(`save ${label}`);
      return inner.saveObject(label, data, isPrivate);
    },
    destroyObject(h) {
      log.push('destroy');
      inner.destroyObject(h);
    },
  });
  const port: PalPort = {
    name: 'recording',
    create: () => ({ pal: wrap(store), reopen: () => wrap(store), cleanup() {} }),
  };
  return {
    port,
    log,
    store,
    failNext(prefix: string, nth = 1) {
      failOn = { prefix, left: nth, code: C.CKR_DEVICE_ERROR };
    },
  };
}

function tokenPair(p11: ReturnType<typeof initializedModule>['p11'], s: Buffer, label = 'pair') {
  return p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [
      { type: C.CKA_EC_PARAMS, value: P256 },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: label },
    ],
    [
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_SIGN, value: true },
      { type: C.CKA_LABEL, value: label },
    ],
  );
}

function tokenObjectCount(m: ReturnType<typeof initializedModule>, s: Buffer): number {
  m.p11.C_FindObjectsInit(s, [{ type: C.CKA_TOKEN, value: true }]);
  const found = m.p11.C_FindObjects(s, 100);
  m.p11.C_FindObjectsFinal(s);
  return found.length;
}

describe('a key pair into token objects', () => {
  it('writes both records, then one index update naming both (ids in one bucket)', () => {
    const r = recordingPort();
    const m = initializedModule(r.port);
    const s = userSession(m);
    r.log.length = 0;
    tokenPair(m.p11, s);
    assert.deepEqual(
      r.log.map((l) => l.replace(/\.[0-9a-f]+$/, '.N')),
      ['save corepkcs11.obj.N', 'save corepkcs11.obj.N', 'save corepkcs11.idx.N'],
    );
    const buckets = [...indexBuckets(m.pal).values()].filter((b) => b.length === 2);
    assert.equal(buckets.length, 1);
    const again = m.restart();
    const s2 = userSession(again);
    assert.equal(tokenObjectCount(again, s2), 2);
  });

  for (const [what, prefix, nth, written] of [
    ['the second record', 'corepkcs11.obj.', 2, 1],
    ['the index update', 'corepkcs11.idx.', 1, 2],
  ] as const) {
    it(`a failure storing ${what} leaves no half pair, in memory or in storage → CKR_DEVICE_ERROR`, () => {
      const r = recordingPort();
      const m = initializedModule(r.port);
      const s = userSession(m);
      r.failNext(prefix, nth);
      r.log.length = 0;
      assertRv(() => tokenPair(m.p11, s), C.CKR_DEVICE_ERROR);
      assert.equal(tokenObjectCount(m, s), 0);
      // every record written was destroyed again, and no index names anything
      assert.equal(r.log.filter((l) => l.startsWith('save corepkcs11.obj.')).length, written);
      assert.equal(r.log.filter((l) => l === 'destroy').length, written);
      assert.equal([...indexBuckets(m.pal).values()].flat().length, 0);
      const again = m.restart();
      assert.equal(tokenObjectCount(again, userSession(again)), 0);
      tokenPair(m.p11, s);
      assert.equal(tokenObjectCount(m, s), 2);
    });
  }

  it('both halves under well-known labels on a port without room for the index are kept (probed at load)', () => {
    const store = createMemoryPal();
    const fixed = (inner: Pal): Pal => ({
      ...inner,
      saveObject(label, data, isPrivate) {
        if (!WELL_KNOWN_LABELS.includes(label) && label.startsWith('corepkcs11.idx.'))
          throw new Pkcs11Error(C.CKR_DEVICE_MEMORY, `no slot for ${label}`);
        return inner.saveObject(label, data, isPrivate);
      },
    });
    const port: PalPort = {
      name: 'no-index',
      create: () => ({ pal: fixed(store), reopen: () => fixed(store), cleanup() {} }),
    };
    const m = initializedModule(port);
    const s = userSession(m);
    m.p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [
        { type: C.CKA_EC_PARAMS, value: P256 },
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_LABEL, value: 'Device Pub TLS Key' },
      ],
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_SIGN, value: true },
        { type: C.CKA_LABEL, value: 'Device Priv TLS Key' },
      ],
    );
    const again = m.restart();
    assert.equal(tokenObjectCount(again, userSession(again)), 2);
    // With a label that needs the index, the pair is refused whole.
    assertRv(() => tokenPair(m.p11, s, 'other'), C.CKR_DEVICE_MEMORY);
    assert.equal(tokenObjectCount(m, s), 2);
  });
});

describe('values read from a port', () => {
  it('a port handing out Buffers and zeroing them at cleanup loses nothing (the store keeps copies)', () => {
    const store = createMemoryPal();
    const buffers = (inner: Pal): Pal => ({
      ...inner,
      getObjectValue(h) {
        const v = inner.getObjectValue(h);
        // A Buffer whose slice() is a view of the bytes the cleanup below zeroes.
        return { data: Buffer.from(v.data), isPrivate: v.isPrivate };
      },
      getObjectValueCleanup(v) {
        v.data.fill(0);
      },
    });
    const port: PalPort = {
      name: 'buffer-port',
      create: () => ({ pal: buffers(store), reopen: () => buffers(store), cleanup() {} }),
    };
    const m = initializedModule(port);
    tokenPair(m.p11, userSession(m), 'kept');
    const again = m.restart();
    const s = userSession(again);
    assert.equal(tokenObjectCount(again, s), 2);
    again.p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: 'kept' }]);
    assert.equal(again.p11.C_FindObjects(s, 10).length, 2);
    again.p11.C_FindObjectsFinal(s);
  });
});
