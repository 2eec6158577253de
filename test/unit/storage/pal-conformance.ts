/**
 * The PAL conformance checklist (src/storage/pal.ts), reusable for every port: call
 * `palConformance(name, factory)` at the top level of a test file. The factory returns a fresh port over
 * empty storage; `reopen` (optional) opens another port over the same storage, as after a restart.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPkcs11Error } from '../../../src/errors.js';
import { CKR_DEVICE_MEMORY, CKR_OBJECT_HANDLE_INVALID } from '../../../src/pkcs11/constants.js';
import type { Pal } from '../../../src/storage/pal.js';

export interface PalFixture {
  /** A port over fresh, empty storage (not yet initialized). */
  pal: Pal;
  /** A new port over the same storage, as after a restart; the checklist closes `pal` first. */
  reopen?: () => Pal;
  /** Releases the storage (temporary files). */
  dispose?: () => void;
  /** Why this storage has no capacity limit a test can reach (skips the CKR_DEVICE_MEMORY check). */
  unbounded?: string;
}

export interface PalFixtureOptions {
  /** Storage small enough to fill quickly (at most a few MiB) for the CKR_DEVICE_MEMORY check. */
  small: boolean;
}

/** The corePKCS11 labels (core_pkcs11_config.h defaults) plus token-style record labels. */
const LABELS = [
  'Device Priv TLS Key',
  'Device Pub TLS Key',
  'Device Cert',
  'Code Verify Key',
  'JITP Cert',
  'Root Cert',
  'corepkcs11.token',
  'corepkcs11.idx.3',
  'corepkcs11.obj.17',
];

export function throwsRv(fn: () => unknown, code: number): void {
  assert.throws(fn, (e: unknown) => isPkcs11Error(e, code), `expected CKR 0x${code.toString(16)}`);
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

function read(pal: Pal, label: string): { data: Uint8Array; isPrivate: boolean } | undefined {
  const h = pal.findObject(label);
  if (h === 0) return undefined;
  const v = pal.getObjectValue(h);
  const copy = { data: v.data.slice(), isPrivate: v.isPrivate };
  pal.getObjectValueCleanup(v);
  return copy;
}

export function palConformance(name: string, factory: (o: PalFixtureOptions) => PalFixture): void {
  const withPal = (small: boolean, fn: (fx: PalFixture, pal: Pal) => void) => () => {
    const fx = factory({ small });
    try {
      fx.pal.initialize();
      fn(fx, fx.pal);
    } finally {
      fx.pal.close?.();
      fx.dispose?.();
    }
  };

  describe(`PAL conformance: ${name}`, () => {
    it(
      'initialize is idempotent; an unknown label finds handle 0',
      withPal(false, (_fx, pal) => {
        pal.initialize();
        assert.equal(pal.findObject('Device Cert'), 0);
      }),
    );

    it(
      'saves, finds and reads back bytes and the private flag',
      withPal(false, (_fx, pal) => {
        const h1 = pal.saveObject('Device Priv TLS Key', bytes(121, 1), true);
        const h2 = pal.saveObject('Device Cert', bytes(1100, 2), false);
        assert.ok(h1 > 0 && h2 > 0 && h1 !== h2);
        assert.equal(pal.findObject('Device Priv TLS Key'), h1);
        assert.equal(pal.findObject('Device Cert'), h2);
        assert.deepEqual(read(pal, 'Device Priv TLS Key'), {
          data: bytes(121, 1),
          isPrivate: true,
        });
        assert.deepEqual(read(pal, 'Device Cert'), { data: bytes(1100, 2), isPrivate: false });
      }),
    );

    it(
      'copies on save and on read; cleanup zeroizes the value',
      withPal(false, (_fx, pal) => {
        const input = bytes(64, 3);
        const h = pal.saveObject('corepkcs11.obj.17', input, true);
        input.fill(0);
        const v = pal.getObjectValue(h);
        assert.deepEqual(v.data, bytes(64, 3));
        v.data.fill(0xee, 0, 1);
        assert.deepEqual(read(pal, 'corepkcs11.obj.17')?.data, bytes(64, 3));
        pal.getObjectValueCleanup(v);
        assert.ok(v.data.every((b) => b === 0));
      }),
    );

    it(
      'overwrite replaces the value and keeps the handle',
      withPal(false, (_fx, pal) => {
        const h = pal.saveObject('Device Cert', bytes(900, 4), false);
        assert.equal(pal.saveObject('Device Cert', bytes(1300, 5), true), h);
        assert.equal(pal.findObject('Device Cert'), h);
        assert.deepEqual(read(pal, 'Device Cert'), { data: bytes(1300, 5), isPrivate: true });
      }),
    );

    it(
      'stores empty and 16 KiB values',
      withPal(false, (_fx, pal) => {
        pal.saveObject('corepkcs11.idx.3', new Uint8Array(0), false);
        pal.saveObject('corepkcs11.obj.17', bytes(16 * 1024, 6), true);
        assert.equal(read(pal, 'corepkcs11.idx.3')?.data.length, 0);
        assert.deepEqual(read(pal, 'corepkcs11.obj.17')?.data, bytes(16 * 1024, 6));
      }),
    );

    it(
      'keeps many labels apart (case, spaces, non-ASCII)',
      withPal(false, (_fx, pal) => {
        const labels = [
          ...LABELS,
          'device cert',
          'Clé privée ☃',
          ...range(150).map((i) => `obj.${i}`),
        ];
        const handles = new Set<number>();
        labels.forEach((l, i) => {
          handles.add(pal.saveObject(l, bytes(40 + (i % 200), i), i % 2 === 0));
        });
        assert.equal(handles.size, labels.length);
        labels.forEach((l, i) => {
          assert.deepEqual(read(pal, l), {
            data: bytes(40 + (i % 200), i),
            isPrivate: i % 2 === 0,
          });
        });
      }),
    );

    it(
      'destroy removes only that object; stale handle → CKR_OBJECT_HANDLE_INVALID',
      withPal(false, (_fx, pal) => {
        const h = pal.saveObject('JITP Cert', bytes(700, 7), false);
        pal.saveObject('Root Cert', bytes(800, 8), false);
        pal.destroyObject(h);
        assert.equal(pal.findObject('JITP Cert'), 0);
        throwsRv(() => pal.getObjectValue(h), CKR_OBJECT_HANDLE_INVALID);
        throwsRv(() => pal.destroyObject(h), CKR_OBJECT_HANDLE_INVALID);
        assert.deepEqual(read(pal, 'Root Cert')?.data, bytes(800, 8));
        pal.saveObject('JITP Cert', bytes(50, 9), false);
        assert.deepEqual(read(pal, 'JITP Cert')?.data, bytes(50, 9));
      }),
    );

    it(
      'unknown handles → CKR_OBJECT_HANDLE_INVALID',
      withPal(false, (_fx, pal) => {
        pal.saveObject('Code Verify Key', bytes(91, 10), false);
        for (const h of [0, 12345, -1, 1.5]) {
          throwsRv(() => pal.getObjectValue(h), CKR_OBJECT_HANDLE_INVALID);
          throwsRv(() => pal.destroyObject(h), CKR_OBJECT_HANDLE_INVALID);
        }
      }),
    );

    it('overwrite (where the port has it): a value of the same length replaced in place, flag and handle kept; another length or no value → false, nothing written', (t) => {
      const fx = factory({ small: false });
      try {
        const pal = fx.pal;
        if (!pal.overwrite) return void t.skip('the port has no in-place writes (optional)');
        pal.initialize();
        const h = pal.saveObject('corepkcs11.tries.0', bytes(33, 1), true);
        assert.equal(pal.overwrite('corepkcs11.tries.0', bytes(33, 2)), true);
        assert.equal(pal.findObject('corepkcs11.tries.0'), h);
        assert.deepEqual(read(pal, 'corepkcs11.tries.0'), { data: bytes(33, 2), isPrivate: true });
        assert.equal(pal.overwrite('corepkcs11.tries.0', bytes(34, 3)), false);
        assert.equal(pal.overwrite('corepkcs11.tries.1', bytes(33, 3)), false);
        assert.deepEqual(read(pal, 'corepkcs11.tries.0'), { data: bytes(33, 2), isPrivate: true });
        assert.equal(read(pal, 'corepkcs11.tries.1'), undefined);
      } finally {
        fx.pal.close?.();
        fx.dispose?.();
      }
    });

    it('values survive a restart', (t) => {
      const fx = factory({ small: false });
      try {
        if (!fx.reopen) {
          t.skip('this port has no persistent storage (no reopen)');
          return;
        }
        fx.pal.initialize();
        LABELS.forEach((l, i) => {
          fx.pal.saveObject(l, bytes(100 + 37 * i, i), i < 3);
        });
        fx.pal.destroyObject(fx.pal.findObject('Root Cert'));
        fx.pal.saveObject('Device Cert', bytes(333, 99), false);
        fx.pal.close?.();
        const again = fx.reopen();
        try {
          again.initialize();
          LABELS.forEach((l, i) => {
            const want =
              l === 'Root Cert'
                ? undefined
                : l === 'Device Cert'
                  ? bytes(333, 99)
                  : bytes(100 + 37 * i, i);
            assert.deepEqual(read(again, l)?.data, want, l);
          });
          assert.equal(read(again, 'Device Priv TLS Key')?.isPrivate, true);
        } finally {
          again.close?.();
        }
      } finally {
        fx.dispose?.();
      }
    });

    it('full storage → CKR_DEVICE_MEMORY; nothing lost; space returns after destroy', (t) => {
      const fx = factory({ small: true });
      if (fx.unbounded) {
        fx.dispose?.();
        t.skip(fx.unbounded);
        return;
      }
      try {
        const pal = fx.pal;
        pal.initialize();
        const saved: string[] = [];
        let full = false;
        for (let i = 0; i < 32 * 1024 && !full; i++) {
          try {
            pal.saveObject(`fill.${i}`, bytes(2000, i), false);
            saved.push(`fill.${i}`);
          } catch (e) {
            assert.ok(isPkcs11Error(e, CKR_DEVICE_MEMORY), String(e));
            full = true;
          }
        }
        if (!full) {
          t.skip('no capacity limit reached after 64 MiB');
          return;
        }
        saved.forEach((l, i) => {
          assert.deepEqual(read(pal, l)?.data, bytes(2000, i), l);
        });
        for (const l of saved.slice(0, 4)) pal.destroyObject(pal.findObject(l));
        pal.saveObject('after', bytes(2000, 77), true);
        assert.deepEqual(read(pal, 'after')?.data, bytes(2000, 77));
      } finally {
        fx.pal.close?.();
        fx.dispose?.();
      }
    });
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
