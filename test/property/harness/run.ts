/**
 * Runs a property suite in a worker thread under a watchdog: when the suite's heartbeat stops for
 * `stallMs` (a call that never returns, a promise that never settles), the worker is terminated and the
 * result names the step that hung. This is how "never a hang" is checked rather than hoped for.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { SuiteOptions, SuiteResult } from './suite.js';

export interface RunOptions extends Partial<SuiteOptions> {
  /** Longest time without a heartbeat before the suite counts as hung (default 30 s). */
  stallMs?: number;
}

/** A seed that differs per run unless one is given (PROPERTY_SEED pins it for every suite). */
export function defaultSeed(): number {
  const pinned = process.env.PROPERTY_SEED;
  return pinned ? Number(pinned) : (Date.now() ^ (process.pid << 8)) >>> 1;
}

export function runSuite(suite: string, options: RunOptions = {}): Promise<SuiteResult> {
  const seed = options.seed ?? defaultSeed();
  const suiteOptions: SuiteOptions = {
    numRuns: options.numRuns ?? 100,
    seed,
    ...(options.path === undefined ? {} : { path: options.path }),
  };
  const stallMs = options.stallMs ?? 30_000;
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Int32Array(heartbeat);
  const labels = new Map<number, string>();
  const worker = new Worker(new URL('./worker-entry.js', import.meta.url), {
    workerData: { suite, options: suiteOptions, heartbeat },
  });
  return new Promise((resolve) => {
    let settled = false;
    let last = -1;
    let lastChange = Date.now();
    const finish = (r: SuiteResult) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve(r);
    };
    const fail = (failure: string) => finish({ suite, cases: 0, detail: {}, seed, failure });
    const timer = setInterval(
      () => {
        const now = Atomics.load(beat, 0);
        if (now !== last) {
          last = now;
          lastChange = Date.now();
          return;
        }
        if (Date.now() - lastChange < stallMs) return;
        const step = labels.get(Atomics.load(beat, 1)) ?? 'before the first step';
        void worker.terminate();
        fail(`${suite} hung: no progress for ${stallMs} ms in '${step}' (seed ${seed})`);
      },
      Math.min(1000, stallMs / 4),
    );
    worker.on(
      'message',
      (m: { type: string; id?: number; label?: string; result?: SuiteResult }) => {
        if (m.type === 'label') labels.set(m.id as number, m.label as string);
        else if (m.type === 'result') {
          finish(m.result as SuiteResult);
          void worker.terminate();
        }
      },
    );
    worker.on('error', (e) => fail(`${suite} worker crashed: ${e.stack ?? e.message}`));
    worker.on('exit', (code) => {
      if (!settled) fail(`${suite} worker exited (${code}) without a result (seed ${seed})`);
    });
  });
}
