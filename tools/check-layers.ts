/**
 * Architecture check run in CI: the rules of tools/layers.ts (docs/architecture.md) on src/.
 * @module
 */
import { resolve } from 'node:path';
import { checkLayers } from './layers.js';

const problems = checkLayers(resolve('src'));
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('check-layers: ok\n');
