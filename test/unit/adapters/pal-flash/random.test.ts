import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { runScenario } from './harness.js';
import { faultyScenarioArbitrary, scenarioArbitrary } from './scenarios.js';

/** Bounded here; scripts/soak-flash.ts runs the same property thousands of times. */
const RUNS = 300;

describe('flash PAL: random operation sequences with random cuts against a model (R3)', () => {
  it(`${RUNS} generated sequences: every label old or new after every cut`, () => {
    let cuts = 0;
    fc.assert(
      fc.property(scenarioArbitrary(), (s) => {
        cuts += runScenario(s, 1).cutsFired;
      }),
      { numRuns: RUNS },
    );
    assert.ok(cuts > RUNS / 2, `only ${cuts} cuts fired`);
  });

  it(`${RUNS / 2} generated sequences with sectors going bad as well: nothing acknowledged lost`, () => {
    fc.assert(
      fc.property(faultyScenarioArbitrary(), (s) => {
        runScenario(s, 0);
      }),
      { numRuns: RUNS / 2 },
    );
  });
});
