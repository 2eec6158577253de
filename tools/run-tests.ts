/**
 * Runs every compiled `*.test.js` under dist/test with node:test. Node 20 cannot glob, and given a
 * directory it would also run every helper and fixture under a folder named test.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (name.endsWith('.test.js')) yield p;
  }
}

const only = process.argv.slice(2);
const files = [...walk('dist/test')].filter(
  (f) => only.length === 0 || only.some((o) => f.includes(o)),
);
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
