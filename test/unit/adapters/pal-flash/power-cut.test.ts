import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CutMode,
  createFlashPal,
  FlashDevice,
  type FlashGeometry,
  type TornProgramModel,
} from '../../../../src/adapters/pal-flash/index.js';
import { apply, GEOMETRIES, type Op, provisioningOps, runScenario } from './harness.js';

const MODES: [CutMode, TornProgramModel][] = [
  ['atomic', 'mixed'],
  ['torn-program', 'prefix'],
  ['torn-program', 'bits'],
  ['torn-erase', 'mixed'],
];

/** Program and erase steps of an uncut run. */
function profile(geometry: FlashGeometry, ops: Op[]): { steps: number; erases: number } {
  let erases = 0;
  const device = new FlashDevice({
    geometry,
    onStep: (s) => (erases += s.kind === 'erase' ? 1 : 0),
  });
  const pal = createFlashPal({ device });
  for (const op of ops) apply(pal, op);
  return { steps: device.steps, erases };
}

describe('flash PAL: a power cut at every step of provisioning (R1)', () => {
  const ops = provisioningOps();
  for (const geometry of GEOMETRIES.slice(0, 2)) {
    const { steps, erases } = profile(geometry, ops);
    const name = `${geometry.sectorCount}x${geometry.sectorSize} B sectors, ${geometry.pageSize} B pages`;
    it(`${name}: the sequence garbage-collects (${steps} steps, ${erases} erases)`, () => {
      assert.ok(erases >= 2);
    });
    for (const [mode, torn] of MODES) {
      it(`${name}: cut at each of ${steps} steps, mode ${mode}/${torn}: every label old or new`, () => {
        for (let k = 0; k < steps; k++) {
          const out = runScenario({
            geometry,
            ops,
            cuts: [{ afterSteps: k, mode, torn, seed: k + 1 }],
          });
          assert.equal(out.cutsFired, 1, `cut at step ${k} did not fire`);
        }
      });
    }
  }
});

describe('flash PAL: nested cuts, a second cut at every step of recovery and retry (R2)', () => {
  const geometry = { sectorSize: 2048, pageSize: 128, sectorCount: 3, writeSize: 4 };
  const ops: Op[] = [
    { kind: 'save', label: 'Device Priv TLS Key', size: 900, fill: 1, isPrivate: true },
    { kind: 'save', label: 'Device Cert', size: 800, fill: 2, isPrivate: false },
    { kind: 'save', label: 'Device Priv TLS Key', size: 950, fill: 3, isPrivate: true },
    { kind: 'save', label: 'Root Cert', size: 700, fill: 4, isPrivate: false },
    { kind: 'destroy', label: 'Device Cert' },
    { kind: 'save', label: 'Device Priv TLS Key', size: 850, fill: 5, isPrivate: true },
    { kind: 'save', label: 'Root Cert', size: 500, fill: 6, isPrivate: false },
  ];
  const { steps, erases } = profile(geometry, ops);
  for (const [mode, torn] of [
    ['torn', 'mixed'],
    ['atomic', 'mixed'],
  ] as const) {
    it(`${ops.length} ops, ${steps} steps (${erases} erases), mode ${mode}: every (k1, k2) pair`, () => {
      let pairs = 0;
      for (let k1 = 0; k1 < steps; k1++) {
        const first = { afterSteps: k1, mode, torn, seed: k1 + 1 };
        const once = runScenario({ geometry, ops, cuts: [first] }, 0);
        const n2 = once.phaseSteps[1]!;
        for (let k2 = 0; k2 < n2; k2++) {
          const second = { afterSteps: k2, mode, torn, seed: 1000 + k2 };
          const out = runScenario({ geometry, ops, cuts: [first, second] }, 0);
          assert.equal(out.cutsFired, 2);
          pairs++;
        }
      }
      assert.ok(erases >= 2 && pairs > steps);
    });
  }
});
