/**
 * Architecture check run in CI: imports point down the layer stack, adapters stay beside it, and each
 * Node built-in with side effects on the outside world is fenced in its one place (DESIGN §1, style §6.2).
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');

/**
 * Layer of a path relative to src/ (first segment). Adapters get 2.5: they sit beside L3+. The composition
 * roots are create.ts (8) and cli/ and index.ts (9): only they may import adapters.
 */
function layerOf(rel: string): number {
  const top = rel.split('/')[0] ?? '';
  const table: Record<string, number> = {
    pkcs11: 0,
    'errors.ts': 1,
    util: 1,
    attributes: 2,
    crypto: 2,
    storage: 2,
    objects: 3,
    mechanisms: 4,
    token: 5,
    api: 6,
    helpers: 7,
    rpc: 7,
    qualification: 7,
    cli: 9,
    adapters: 2.5,
    'create.ts': 8,
    'index.ts': 9,
  };
  const layer = table[top];
  if (layer === undefined) throw new Error(`check-layers: no layer assigned to src/${top}`);
  return layer;
}

/** Built-ins allowed only under these src/ prefixes. */
const FENCES: Record<string, string[]> = {
  'node:crypto': ['adapters/crypto-node/', 'helpers/host-crypto.ts'],
  'node:fs': [
    'adapters/fs-common/',
    'adapters/pal-file/',
    'adapters/pal-flash/',
    'cli/',
    'qualification/',
  ],
  'node:net': ['rpc/'],
};

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const problems: string[] = [];
for (const file of walk(SRC)) {
  const rel = relative(SRC, file);
  const from = layerOf(rel);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)) {
    const spec = m[1] as string;
    if (spec.startsWith('node:')) {
      const allowed = FENCES[spec];
      if (allowed && !allowed.some((p) => rel.startsWith(p))) {
        problems.push(`${rel}: ${spec} is fenced to ${allowed.join(', ')}`);
      }
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
    if (target.startsWith('..')) continue;
    const to = layerOf(target);
    const sameTop = rel.split('/')[0] === target.split('/')[0];
    if (sameTop) continue;
    if (to === 2.5 && from < 8) {
      problems.push(`${rel}: only composition roots (create.ts, index.ts, cli/) import adapters`);
    } else if (from === 2.5 && to > 2) {
      problems.push(`${rel}: adapters import only ports and L0-L2, not ${target}`);
    } else if (to > from || (to === from && from === 7)) {
      problems.push(`${rel} (L${from}) imports ${target} (L${to}): imports must point down`);
    }
  }
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('check-layers: ok\n');
