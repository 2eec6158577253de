/**
 * Size check run in CI: no file of src/ over 400 lines (small files, docs/architecture.md), tests,
 * tools and benches under a looser cap; the generated constants excepted.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SRC_CAP = 400;
const OTHER_CAP = 600;
const EXEMPT = new Set(['src/pkcs11/constants.ts']);
/**
 * Files of src/ that passed 400 lines in the storage-reliability work (issue 16) while the cap came in:
 * they keep the looser cap until they are split, and are named on every run so that they are.
 */
const NOT_YET_SPLIT = new Set(['src/token/token.ts', 'src/adapters/pal-flash/flash-log.ts']);

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const over: string[] = [];
const pending: string[] = [];
for (const root of ['src', 'test', 'tools', 'bench', 'scripts']) {
  try {
    statSync(root);
  } catch {
    continue;
  }
  for (const file of walk(root)) {
    if (EXEMPT.has(file)) continue;
    const cap = root === 'src' && !NOT_YET_SPLIT.has(file) ? SRC_CAP : OTHER_CAP;
    const lines = readFileSync(file, 'utf8').replace(/\n$/, '').split('\n').length;
    if (lines > cap) over.push(`${file}: ${lines} lines (cap ${cap})`);
    else if (lines > SRC_CAP && root === 'src') pending.push(`${file} (${lines})`);
  }
}
if (over.length > 0) {
  process.stderr.write(`${over.join('\n')}\n`);
  process.exit(1);
}
const note = pending.length > 0 ? ` (over 400, to split: ${pending.join(', ')})` : '';
process.stdout.write(`check-size: ok${note}\n`);
