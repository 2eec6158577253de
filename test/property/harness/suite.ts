/**
 * What a property suite is: a named set of fast-check properties that runs with a case budget and a
 * seed, and reports how many cases it ran (and how many API calls or bytes those held). The same suites
 * run bounded under `npm test` and by the million in `npm run soak` (scripts/soak.ts).
 * @module
 */
import fc from 'fast-check';
import { progress } from './progress.js';

export interface SuiteOptions {
  /** Generated cases per property. */
  numRuns: number;
  seed: number;
  /** Replays one failure (fast-check's counterexample path). */
  path?: string;
}

export interface SuiteResult {
  suite: string;
  /** Generated cases run, over all the suite's properties. */
  cases: number;
  /** What the cases held, when it says more than the count (API calls, commands). */
  detail: Record<string, number>;
  seed: number;
  /** The first failure: property, counterexample, path to replay it, and the error. */
  failure?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of properties over different value types
export type AnyProperty = fc.IRawProperty<any, boolean>;

export type Suite = (options: SuiteOptions) => Promise<SuiteResult>;

/** Counters a property bumps while it runs (calls made, commands run …), reported with the result. */
export class Tally {
  readonly counts: Record<string, number> = {};
  add(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
}

function describe(value: unknown): string {
  try {
    return fc.stringify(value).slice(0, 4000);
  } catch {
    return String(value);
  }
}

/**
 * Runs the properties one after the other with the suite's budget (`share` scales one property's
 * count), stopping at the first failure.
 */
export async function runProperties(
  suite: string,
  options: SuiteOptions,
  tally: Tally,
  properties: [name: string, property: AnyProperty, share?: number][],
): Promise<SuiteResult> {
  let cases = 0;
  for (const [name, property, share = 1] of properties) {
    progress(`${suite}/${name}: start`);
    const details = await fc.check(property, {
      numRuns: Math.max(1, Math.round(options.numRuns * share)),
      seed: options.seed,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
    cases += details.numRuns;
    if (details.failed) {
      const error = details.errorInstance;
      return {
        suite,
        cases,
        detail: tally.counts,
        seed: options.seed,
        failure:
          `${suite}/${name} failed after ${details.numRuns} cases (seed ${details.seed}, ` +
          `path '${details.counterexamplePath}', ${details.numShrinks} shrinks)\n` +
          `counterexample: ${describe(details.counterexample)}\n` +
          `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      };
    }
  }
  return { suite, cases, detail: tally.counts, seed: options.seed };
}
