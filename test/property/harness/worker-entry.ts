/**
 * Worker side of runSuite: loads the suite named in workerData, runs it with the heartbeat attached and
 * posts its result.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSuite } from '../suites/index.js';
import { attachHeartbeat } from './progress.js';
import type { SuiteOptions } from './suite.js';

const { suite, options, heartbeat } = workerData as {
  suite: string;
  options: SuiteOptions;
  heartbeat: SharedArrayBuffer;
};
attachHeartbeat(heartbeat);
try {
  const run = await loadSuite(suite);
  const result = await run(options);
  parentPort?.postMessage({ type: 'result', result });
} catch (e) {
  parentPort?.postMessage({
    type: 'result',
    result: {
      suite,
      cases: 0,
      detail: {},
      seed: options.seed,
      failure: `${suite} threw outside its properties: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    },
  });
}
