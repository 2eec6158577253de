import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CutMode, TornProgramModel } from '../../../../src/adapters/pal-flash/index.js';
import { cutAtEveryStep, cutTwiceEverywhere, profile } from './harness.js';
import { GEOMETRIES, NESTED_GEOMETRY, NESTED_OPS, provisioningOps } from './scenarios.js';

const MODES: [CutMode, TornProgramModel][] = [
  ['atomic', 'mixed'],
  ['torn-program', 'prefix'],
  ['torn-program', 'bits'],
  ['torn-erase', 'mixed'],
];

describe('flash PAL: a power cut at every step of provisioning (R1)', () => {
  const ops = provisioningOps();
  for (const geometry of GEOMETRIES.slice(0, 2)) {
    const { steps, erases } = profile(geometry, ops);
    const name = `${geometry.sectorCount}x${geometry.sectorSize} B sectors, ${geometry.pageSize} B pages`;
    it(`${name}: the sequence collects garbage (${steps} steps, ${erases} erases)`, () => {
      assert.ok(erases >= 2);
    });
    for (const [mode, torn] of MODES) {
      it(`${name}: cut at each of ${steps} steps, mode ${mode}/${torn}: every label old or new`, () => {
        assert.equal(cutAtEveryStep(geometry, ops, mode, torn), steps);
      });
    }
  }
});

describe('flash PAL: nested cuts, a second cut at every step of recovery and retry (R2)', () => {
  const { steps, erases } = profile(NESTED_GEOMETRY, NESTED_OPS);
  // 'torn' tears both programs and erases; scripts/soak-flash.ts adds the atomic variant.
  it(`${NESTED_OPS.length} ops, ${steps} steps (${erases} erases), torn: every (k1, k2) pair`, () => {
    const pairs = cutTwiceEverywhere(NESTED_GEOMETRY, NESTED_OPS, 'torn', 'mixed');
    assert.ok(erases >= 2 && pairs > steps);
  });
});
