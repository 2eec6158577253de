import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BadSectorMode,
  createFlashPal,
  FlashDevice,
  type FlashDeviceOptions,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';
import { apply, applyChecked, Model, type Op } from './harness.js';
import { provisioningOps } from './scenarios.js';

const GEOMETRY = { sectorSize: 4096, pageSize: 256, sectorCount: 8, writeSize: 8 };
const MODES: BadSectorMode[] = ['prog-error', 'prog-noop', 'erase-error', 'erase-noop'];
const LABELS = ['Device Priv TLS Key', 'Device Cert', 'Root Cert', 'Code Verify Key'];

describe('flash PAL: wear levelling (R4)', () => {
  it('10,000 overwrites of one key: most-erased sector ≤ 2 × mean, credentials intact', () => {
    const device = new FlashDevice({ geometry: GEOMETRY, strict: 'erased' });
    const pal = createFlashPal({ device });
    const model = new Model();
    for (const op of provisioningOps().slice(0, 6)) {
      apply(pal, op);
      model.ack(op);
    }
    for (let i = 0; i < 10_000; i++) {
      const op: Op = {
        kind: 'save',
        label: 'Device Priv TLS Key',
        size: 1218,
        fill: i,
        isPrivate: true,
      };
      apply(pal, op);
      model.ack(op);
    }
    model.check(createFlashPal({ device }), 'after 10,000 overwrites');
    const counts = device.eraseCounts;
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const max = Math.max(...counts);
    assert.ok(mean > 100, `only ${mean} erases per sector`);
    assert.ok(max <= 2 * mean, `erase counts ${counts.join(',')}: max ${max} > 2 × mean ${mean}`);
  });
});

/** Saves and destroys over a few labels, checking the model as it goes and after remounts. */
function churn(device: FlashDevice, ops: number, afterProvisioning?: () => void) {
  const model = new Model();
  let pal = createFlashPal({ device });
  let refused = 0;
  let badSeen = 0;
  const run = (op: Op) => {
    const before = model.begin(op);
    try {
      apply(pal, op);
      model.ack(op);
    } catch (e) {
      // Failures are reported, never silent: after CKR_DEVICE_ERROR the value is old or new; after
      // CKR_DEVICE_MEMORY (worn-out sectors shrink the store) nothing was written.
      if (isPkcs11Error(e, CKR_DEVICE_MEMORY)) model.refuse(op, before);
      else if (!isPkcs11Error(e, CKR_DEVICE_ERROR)) throw e;
      refused++;
    }
  };
  provisioningOps().forEach(run);
  afterProvisioning?.();
  for (let i = 0; i < ops; i++) {
    const label = LABELS[i % LABELS.length]!;
    const size = 100 + ((i * 397) % 1900);
    run(
      i % 13 === 12
        ? { kind: 'destroy', label }
        : { kind: 'save', label, size, fill: i, isPrivate: i % 2 === 0 },
    );
    if (i % 100 === 99) {
      model.check(pal, `after ${i + 1} ops`);
      badSeen = Math.max(badSeen, pal.stats().bad);
      pal = createFlashPal({ device });
      model.check(pal, `remount after ${i + 1} ops`);
    }
  }
  model.check(pal, 'final');
  return { model, refused, badSeen };
}

describe('flash PAL: bad sectors never corrupt an acknowledged object (R4)', () => {
  for (const mode of MODES) {
    it(`a sector bad from the start (${mode}) is routed around`, () => {
      const device = new FlashDevice({
        geometry: GEOMETRY,
        strict: 'erased',
        badSectors: { 2: mode },
      });
      const { model, refused, badSeen } = churn(device, 600);
      assert.equal(refused, 0, 'one bad sector of eight must not make operations fail');
      assert.ok(badSeen >= 1, 'the bad sector was never detected');
      model.check(createFlashPal({ device }), 'remount');
    });

    it(`the active sector going bad mid-life (${mode}) loses nothing`, () => {
      const device = new FlashDevice({ geometry: GEOMETRY, strict: 'erased' });
      const { model, refused } = churn(device, 600, () => {
        const active = createFlashPal({ device }).stats().activeSector!;
        device.setBadSector(active, mode);
        device.setBadSector((active + 3) % GEOMETRY.sectorCount, mode);
      });
      assert.equal(refused, 0);
      model.check(createFlashPal({ device }), 'remount');
    });

    it(`sectors wearing out (endurance 15, then ${mode}): errors reported, nothing lost`, () => {
      const options: FlashDeviceOptions = {
        geometry: GEOMETRY,
        strict: 'erased',
        endurance: 15,
        wearOutMode: mode,
      };
      const device = new FlashDevice(options);
      const { model, refused, badSeen } = churn(device, 1200);
      assert.ok(badSeen >= 1 && refused > 0, 'the flash never wore out');
      model.check(createFlashPal({ device }), 'remount');
    });
  }
});

describe('flash PAL: a program failure in the middle of garbage collection', () => {
  it('the destination failing after the first sector is collected loses nothing', () => {
    let lastProgrammed = -1;
    let armed = true;
    const device: FlashDevice = new FlashDevice({
      geometry: { sectorSize: 2048, pageSize: 128, sectorCount: 4, writeSize: 4 },
      strict: 'erased',
      onStep: (st) => {
        if (st.kind === 'program') lastProgrammed = st.sector;
        // First erase = the first collected sector: its live objects now exist only in the destination.
        if (st.kind === 'erase' && armed) {
          armed = false;
          device.setBadSector(lastProgrammed, 'prog-error');
        }
      },
    });
    const pal = createFlashPal({ device });
    const model = new Model();
    let i = 0;
    while (armed && i < 200) {
      const op: Op =
        i % 5 === 0
          ? { kind: 'save', label: `static.${i}`, size: 60, fill: i, isPrivate: false }
          : { kind: 'save', label: 'Device Priv TLS Key', size: 300, fill: i, isPrivate: true };
      applyChecked(pal, op, model, true);
      i++;
    }
    assert.equal(armed, false, 'no garbage collection happened');
    model.check(pal, 'after the failure');
    model.check(createFlashPal({ device }), 'after a remount');
  });
});
