/**
 * Soak run of the flash PAL's power-loss properties (security.md R1–R3), too long for `npm test`:
 * thousands of random operation sequences with random cuts against a model (a quarter of that count
 * again with sectors going bad), a cut at every step of
 * provisioning with several torn patterns per step on every test geometry, and exhaustive double cuts
 * in both atomic and torn modes, and bit rot: every bit of six provisioned images flipped alone.
 * Prints each count and exits non-zero on the first failure.
 * Usage: node dist/scripts/soak-flash.js [--runs N] [--seed S] [--seeds T]
 *        [--only random|faulty|linear|nested|bitflip]
 * @module
 */
import fc from 'fast-check';
import { makeRandom } from '../src/adapters/pal-flash/flash-device.js';
import type { CutMode, TornProgramModel } from '../src/adapters/pal-flash/index.js';
import {
  checkBitFlip,
  interestingBits,
  provision,
} from '../test/unit/adapters/pal-flash/bit-flip.js';
import {
  cutAtEveryStep,
  cutTwiceEverywhere,
  describeScenario,
  type Op,
  runScenario,
} from '../test/unit/adapters/pal-flash/harness.js';
import {
  faultyScenarioArbitrary,
  GEOMETRIES,
  NESTED_GEOMETRY,
  NESTED_OPS,
  provisioningOps,
  scenarioArbitrary,
} from '../test/unit/adapters/pal-flash/scenarios.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const runs = Number(option('runs', '10000'));
const seed = Number(option('seed', String(Date.now() % 2 ** 31)));
const tornSeeds = Number(option('seeds', '3'));
const only = option('only', 'all');
let failed = false;

function report(line: string): void {
  process.stdout.write(`${line}\n`);
}

function section(name: string, fn: () => string): void {
  if (only !== 'all' && only !== name) return;
  const start = performance.now();
  try {
    report(`${fn()} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    report(`${name}: FAILED\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

section('random', () => {
  let cuts = 0;
  let ops = 0;
  const result = fc.check(
    fc.property(scenarioArbitrary(), (s) => {
      cuts += runScenario(s, 1).cutsFired;
      ops += s.ops.length;
    }),
    { numRuns: runs, seed },
  );
  if (result.failed) {
    const example = result.counterexample?.[0];
    throw new Error(
      `random: failed after ${result.numRuns} runs (seed ${seed}, path ${result.counterexamplePath})\n` +
        `${example ? describeScenario(example) : ''}\n${JSON.stringify(example)}\n${String(result.errorInstance)}`,
    );
  }
  return `R3 random: ${result.numRuns} sequences, ${ops} operations, ${cuts} cuts fired, 0 failures (seed ${seed})`;
});

section('faulty', () => {
  const result = fc.check(
    fc.property(faultyScenarioArbitrary(), (s) => {
      runScenario(s, 0);
    }),
    { numRuns: Math.ceil(runs / 4), seed },
  );
  if (result.failed) {
    const example = result.counterexample?.[0];
    throw new Error(
      `faulty: failed after ${result.numRuns} runs (seed ${seed}, path ${result.counterexamplePath})\n` +
        `${example ? describeScenario(example) : ''}\n${JSON.stringify(example)}\n${String(result.errorInstance)}`,
    );
  }
  return `R3+R4 random with bad sectors: ${result.numRuns} sequences, 0 failures (seed ${seed})`;
});

section('linear', () => {
  const modes: [CutMode, TornProgramModel][] = [
    ['atomic', 'mixed'],
    ['torn-program', 'prefix'],
    ['torn-program', 'bits'],
    ['torn-erase', 'mixed'],
    ['torn', 'mixed'],
  ];
  let total = 0;
  for (const geometry of GEOMETRIES.slice(0, 3)) {
    for (const [mode, torn] of modes) {
      total += cutAtEveryStep(
        geometry,
        provisioningOps(),
        mode,
        torn,
        mode === 'atomic' ? 1 : tornSeeds,
      );
    }
  }
  return `R1 linear: provisioning cut at every step, 3 geometries x 5 modes, ${total} runs, 0 failures`;
});

section('nested', () => {
  const torn = cutTwiceEverywhere(NESTED_GEOMETRY, NESTED_OPS, 'torn', 'mixed');
  const atomic = cutTwiceEverywhere(NESTED_GEOMETRY, NESTED_OPS, 'atomic', 'mixed');
  return `R2 nested: ${torn} torn + ${atomic} atomic double-cut pairs, 0 failures`;
});

section('bitflip', () => {
  // Every bit of every programmed byte (and of every header slot) of each image, one at a time: the
  // provisioned image, and the same after a seeded churn that leaves GC markers and tombstones behind.
  let flips = 0;
  const rnd = makeRandom(seed);
  for (const geometry of GEOMETRIES.slice(0, 3)) {
    const churn: Op[] = Array.from({ length: 40 }, (_, i) =>
      rnd() < 0.2
        ? { kind: 'destroy', label: `churn ${i % 7}` }
        : {
            kind: 'save',
            label: `churn ${i % 7}`,
            size: Math.floor(rnd() * 900),
            fill: i,
            isPrivate: rnd() < 0.5,
          },
    );
    for (const ops of [provisioningOps(), [...provisioningOps(), ...churn]]) {
      const image = provision(geometry, ops);
      for (const bit of interestingBits(image)) {
        checkBitFlip(image, bit);
        flips++;
      }
    }
  }
  return `bit rot: every bit of 6 provisioned images flipped alone, ${flips} flips, 0 failures (seed ${seed})`;
});

process.exitCode = failed ? 1 : 0;
