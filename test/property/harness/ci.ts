/**
 * How `npm test` runs a property suite: a bounded case count (PROPERTY_SCALE multiplies it), a seed that
 * changes per run unless PROPERTY_SEED pins it, the watchdog, and a failure message that says how to
 * replay the case (the suite, seed and path).
 * @module
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { defaultSeed, runSuite } from './run.js';

export function ciRuns(base: number): number {
  return Math.max(1, Math.round(base * Number(process.env.PROPERTY_SCALE ?? 1)));
}

/** Runs `suite` for `runs` cases and fails the test with the replay information. */
export async function checkSuite(t: TestContext, suite: string, runs: number): Promise<void> {
  const seed = defaultSeed();
  const r = await runSuite(suite, { numRuns: runs, seed });
  const detail = Object.entries(r.detail)
    .filter(([k]) => !k.startsWith('ok '))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  t.diagnostic(`${suite}: ${r.cases} cases (${detail}), seed ${seed}`);
  assert.equal(
    r.failure,
    undefined,
    `${r.failure}\nreplay: PROPERTY_SEED=${seed} node dist/scripts/soak.js --only ${suite} --runs ${runs}`,
  );
}
