import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type BadSectorMode,
  type CutMode,
  createFlashPal,
  FlashDevice,
  type FlashGeometry,
  type FlashStep,
  PowerCutError,
} from '../../../../src/adapters/pal-flash/index.js';
import { isPkcs11Error } from '../../../../src/errors.js';
import { CKR_DEVICE_MEMORY } from '../../../../src/pkcs11/constants.js';
import { applyChecked, Model, type Op, verifyAfterRun } from './harness.js';

const SMALL: FlashGeometry = { sectorSize: 512, pageSize: 128, sectorCount: 8, writeSize: 4 };

/** Two small static objects, then one label rewritten `n` times (the PIN-counter pattern). */
function churnOps(n: number, size = 60): Op[] {
  const ops: Op[] = [
    { kind: 'save', label: 'X', size, fill: 1, isPrivate: false },
    { kind: 'save', label: 'Y', size, fill: 2, isPrivate: true },
  ];
  for (let i = 0; i < n; i++)
    ops.push({ kind: 'save', label: 'c', size, fill: 10 + i, isPrivate: false });
  return ops;
}

/**
 * The sector opened `opening`-th fails at its 3rd program step (prog-error), as a GC destination does
 * while the copies are written; with `eraseNoop` its erase then silently does nothing as well.
 */
function failingOpening(opening: number, eraseNoop: boolean) {
  let opens = 0;
  let victim = -1;
  let programs = 0;
  let phase: 'arm' | 'count' | 'failing' | 'done' = 'arm';
  const device: FlashDevice = new FlashDevice({
    geometry: SMALL,
    strict: 'erased',
    onStep: (st: FlashStep) => {
      const header = st.kind === 'program' && st.address % SMALL.sectorSize === 0;
      if (phase === 'arm' && header && ++opens === opening) {
        victim = st.sector;
        phase = 'count';
      } else if (phase === 'count' && st.kind === 'program' && st.sector === victim) {
        if (++programs === 2) {
          device.setBadSector(victim, 'prog-error');
          phase = 'failing';
        }
      } else if (phase === 'failing' && st.kind === 'erase' && st.sector === victim) {
        if (eraseNoop) device.setBadSector(victim, 'erase-noop');
        phase = 'done';
      }
    },
  });
  return { device, fired: () => phase !== 'arm' && phase !== 'count' };
}

/** Runs `ops` on `device`, rebooting after every power cut, and checks the model after each mount. */
function runRebooting(device: FlashDevice, ops: Op[], cut?: { after: number; mode: CutMode }) {
  const model = new Model();
  let next = 0;
  if (cut) device.armPowerCut(cut.after, cut.mode);
  for (let phase = 0; ; phase++) {
    try {
      const pal = createFlashPal({ device });
      pal.initialize();
      if (phase > 0) model.check(pal, `after cut ${phase}`);
      for (; next < ops.length; next++) applyChecked(pal, ops[next]!, model, false);
      return model;
    } catch (e) {
      if (!(e instanceof PowerCutError)) throw e;
      device.powerOn();
    }
  }
}

describe('flash PAL: a GC destination failing while the copies are written (F1)', () => {
  for (const eraseNoop of [false, true]) {
    const how = eraseNoop ? 'prog-error, then a silent no-op erase' : 'prog-error';
    it(`${how}: the sector is retired and writes keep succeeding, before and after a remount`, () => {
      // 8 sectors: the 8th opening is a GC destination (with one spare it was the last erased sector,
      // and its failure left every write failing with "no erased flash sector left").
      const { device, fired } = failingOpening(8, eraseNoop);
      const model = runRebooting(device, churnOps(120));
      assert.ok(fired(), 'the GC destination never failed');
      let pal = createFlashPal({ device });
      model.check(pal, 'after the failure');
      pal = createFlashPal({ device });
      for (let i = 0; i < 60; i++) {
        applyChecked(
          pal,
          { kind: 'save', label: 'c', size: 60, fill: i, isPrivate: false },
          model,
          false,
        );
      }
      model.check(createFlashPal({ device }), 'after a remount and 60 more writes');
    });
  }

  it('objects deleted after being copied into the failed destination stay deleted after a remount', () => {
    // The failed destination keeps its copies of X and Y (its erase is a no-op). Once the tombstones
    // are collected, only the mount rule "a GC destination without the marker for its source is dead"
    // keeps those copies from coming back.
    const { device, fired } = failingOpening(8, true);
    const ops = churnOps(20);
    ops.push({ kind: 'destroy', label: 'X' }, { kind: 'destroy', label: 'Y' });
    ops.push(...churnOps(150).slice(2));
    const model = runRebooting(device, ops);
    assert.ok(fired(), 'the GC destination never failed');
    model.check(createFlashPal({ device }), 'after a remount');
  });

  it('every opening failing in turn (1st–20th, both erase behaviours): nothing lost, no write fails', () => {
    for (let opening = 1; opening <= 20; opening++) {
      for (const eraseNoop of [false, true]) {
        const { device, fired } = failingOpening(opening, eraseNoop);
        const model = runRebooting(device, churnOps(150));
        assert.ok(fired(), `opening ${opening} never failed`);
        verifyAfterRun(device, model, `opening ${opening}, eraseNoop ${eraseNoop}`, 0, true);
      }
    }
  });

  it('live data outgrowing the sectors left → CKR_DEVICE_MEMORY, never a brick', () => {
    const { device, fired } = failingOpening(7, true);
    runRebooting(device, churnOps(40));
    assert.ok(fired(), 'the GC destination never failed');
    const pal = createFlashPal({ device });
    const stored: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        pal.saveObject(`big.${i}`, new Uint8Array(200).fill(i), false);
        stored.push(`big.${i}`);
      } catch (e) {
        assert.ok(isPkcs11Error(e, CKR_DEVICE_MEMORY), `save ${i}: ${String(e)}`);
        break;
      }
    }
    // 7 good sectors less 2 spares: 5 × (512 − 2 × 32) bytes, 232 per object with its entry slot.
    assert.ok(stored.length > 0 && stored.length < 20, `${stored.length} objects stored`);
    assert.ok(pal.stats().capacityBytes <= 5 * 448);
    pal.destroyObject(pal.findObject(stored.pop()!));
    for (let i = 0; i < 40; i++) pal.saveObject('c', new Uint8Array(60).fill(i), false);
    const again = createFlashPal({ device });
    for (const label of stored) {
      const n = Number(label.slice(4));
      assert.deepEqual(
        again.getObjectValue(again.findObject(label)).data,
        new Uint8Array(200).fill(n),
      );
    }
  });
});

describe('flash PAL: power cuts around a failing GC destination (F1)', () => {
  const ops = churnOps(40);
  for (const eraseNoop of [false, true]) {
    const probe = failingOpening(7, eraseNoop);
    runRebooting(probe.device, ops);
    const steps = probe.device.steps;
    for (const mode of ['atomic', 'torn'] as CutMode[]) {
      it(`erase no-op ${eraseNoop}, a ${mode} cut at each of ${steps} steps: every label old or new`, () => {
        for (let k = 0; k < steps; k++) {
          const { device } = failingOpening(7, eraseNoop);
          device.reseed(k + 1);
          const model = runRebooting(device, ops, { after: k, mode });
          verifyAfterRun(device, model, `cut after ${k} steps`, 0, true);
        }
      });
    }
  }
});

interface Event {
  atStep: number;
  /** The failing program or erase does nothing silently (else it reports an error). */
  silent: boolean;
}

/** A device where, at each event's step, the sector being programmed or erased goes bad at once. */
/** Sector failures injected so far by failingDevice (the property checks that enough happened). */
let failuresInjected = 0;

function failingDevice(geometry: FlashGeometry, events: Event[]): FlashDevice {
  const pending = [...events].sort((a, b) => a.atStep - b.atStep);
  const device: FlashDevice = new FlashDevice({
    geometry,
    strict: 'erased',
    onStep: (st) => {
      const e = pending[0];
      if (!e || st.index < e.atStep) return;
      pending.shift();
      failuresInjected++;
      const mode: BadSectorMode =
        st.kind === 'program'
          ? e.silent
            ? 'prog-noop'
            : 'prog-error'
          : e.silent
            ? 'erase-noop'
            : 'erase-error';
      device.setBadSector(st.sector, mode);
    },
  });
  return device;
}

/** Bounded for CI; each run is 300 overwrites with up to 5 sectors failing. */
const RUNS = 100;
/**
 * Program/erase steps between two failures. The spares absorb one failure and are restored by the next
 * collections; two failures within one garbage collection can still use both up (see flash-log.ts).
 */
const GAP = 50;

describe('flash PAL: random sector failures during a long overwrite loop (F1)', () => {
  it(`${RUNS} generated runs: live data within the good sectors less the spares never bricks the store`, () => {
    const scenario = fc
      .record({
        sectorCount: fc.integer({ min: 6, max: 10 }),
        sectorSize: fc.constantFrom(512, 1024),
        writeSize: fc.constantFrom(4, 8),
        statics: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 4 }),
        sizes: fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 300, maxLength: 300 }),
        remounts: fc.array(fc.nat(299), { maxLength: 3 }),
        events: fc.array(
          fc.record({ gap: fc.integer({ min: GAP, max: 400 }), silent: fc.boolean() }),
          {
            maxLength: 5,
          },
        ),
      })
      .map((s) => {
        // Good sectors stay ≥ 5 (two spares). Retirements live in RAM only: after a remount each bad
        // sector is found again by failing, so remounts are mixed in only with a single failure.
        let atStep = 0;
        const events = s.events.slice(0, s.sectorCount - 5).map((e) => {
          atStep += e.gap;
          return { atStep, silent: e.silent };
        });
        return { ...s, events, remounts: events.length <= 1 ? s.remounts : [] };
      });
    fc.assert(
      fc.property(scenario, (s) => {
        const geometry = { ...s, pageSize: 128 };
        const device = failingDevice(geometry, s.events);
        const model = new Model();
        let pal = createFlashPal({ device });
        s.statics.forEach((size, i) => {
          const op: Op = { kind: 'save', label: `static.${i}`, size, fill: i, isPrivate: true };
          applyChecked(pal, op, model, false);
        });
        s.sizes.forEach((size, i) => {
          if (s.remounts.includes(i)) pal = createFlashPal({ device });
          const op: Op = { kind: 'save', label: 'pin-counter', size, fill: i, isPrivate: true };
          applyChecked(pal, op, model, false);
        });
        for (let i = 0; i < 30; i++) {
          const op: Op = {
            kind: 'save',
            label: `after.${i % 3}`,
            size: 40,
            fill: i,
            isPrivate: false,
          };
          applyChecked(pal, op, model, false);
        }
        model.check(pal, 'after the loop');
        verifyAfterRun(device, model, JSON.stringify(s.events), 0, true);
      }),
      { numRuns: RUNS },
    );
    assert.ok(failuresInjected > RUNS, `only ${failuresInjected} sector failures injected`);
  });
});
