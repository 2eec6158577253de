/**
 * tools/layers.ts: each architecture rule fails on a violation planted in a small source tree, and the
 * real src/ passes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkLayers } from '../../../tools/layers.js';

/** A tree that keeps every rule: one file per layer, each importing the one below. */
const BASE: Record<string, string> = {
  'pkcs11/constants.ts': 'export const CKM_SHA256 = 0x250;\n',
  'errors.ts':
    "import { CKM_SHA256 } from './pkcs11/constants.js';\nexport const E = CKM_SHA256;\n",
  'util/bytes.ts': "import { E } from '../errors.js';\nexport const U = E;\n",
  'crypto/backend.ts': "import { U } from '../util/bytes.js';\nexport const B = U;\n",
  'mechanisms/registry.ts':
    "import * as C from '../pkcs11/constants.js';\nexport const pick = (m: number) => m === C.CKM_SHA256;\n",
  'token/a.ts':
    "import { pick } from '../mechanisms/registry.js';\nimport type { T } from './b.js';\nexport const A = (t: T) => pick(t);\n",
  'token/b.ts': "import { A } from './a.js';\nexport type T = number;\nexport const Bb = A;\n",
  'api/x.ts': "import { A } from '../token/a.js';\nexport const X = Buffer.from([A(1) ? 1 : 0]);\n",
  'helpers/h.ts': "import { X } from '../api/x.js';\nexport const H = X;\n",
  'rpc/r.ts': "import { createServer } from 'node:net';\nexport const R = createServer;\n",
  'adapters/crypto-node/c.ts':
    "import { createHash } from 'node:crypto';\nimport { B } from '../../crypto/backend.js';\nexport const N = [createHash, B, Buffer];\n",
  'cli/main.ts':
    "import { readFileSync } from 'node:fs';\nimport { N } from '../adapters/crypto-node/c.js';\nimport * as C from '../pkcs11/constants.js';\nexport const M = [readFileSync, N, 1 === C.CKM_SHA256];\n",
  'create.ts': "import { N } from './adapters/crypto-node/c.js';\nexport const K = N;\n",
  'index.ts': "export { K } from './create.js';\n",
};

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The problems of the base tree with `changes` applied. */
function problems(changes: Record<string, string> = {}): string[] {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  roots.push(root);
  for (const [path, text] of Object.entries({ ...BASE, ...changes })) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return checkLayers(root);
}

function fails(changes: Record<string, string>, expected: RegExp): void {
  const found = problems(changes);
  assert.ok(
    found.some((p) => expected.test(p)),
    `expected ${expected}, got ${JSON.stringify(found)}`,
  );
}

describe('check-layers', () => {
  it('passes a tree that keeps the rules, and the real src/', () => {
    assert.deepEqual(problems(), []);
    assert.deepEqual(checkLayers(resolve('src')), []);
  });

  const upward: [string, string][] = [
    ['a static import', "import { A } from '../token/a.js';\nexport const U = A;\n"],
    ['an import type', "import type { T } from '../token/b.js';\nexport type U = T;\n"],
    ['an export from', "export { A } from '../token/a.js';\n"],
    ['a bare import', "import '../token/a.js';\nexport const U = 1;\n"],
    ['a dynamic import()', "export const U = () => import('../token/a.js');\n"],
    [
      'a require()',
      "declare const require: (s: string) => unknown;\nexport const U = require('../token/a.js');\n",
    ],
    ['an import = require()', "import a = require('../token/a.js');\nexport const U = a;\n"],
  ];
  for (const [form, text] of upward) {
    it(`refuses an upward dependency through ${form}`, () => {
      fails(
        { 'util/bytes.ts': text },
        /^util\/bytes\.ts:\d+ \(L1\) imports token\/[ab]\.ts \(L5\)/,
      );
    });
  }

  it('refuses imports between the L7 siblings', () => {
    fails(
      { 'helpers/h.ts': "import { R } from '../rpc/r.js';\nexport const H = R;\n" },
      /helpers\/h\.ts.*imports rpc\/r\.ts/,
    );
  });

  it('keeps adapters beside the stack', () => {
    fails(
      { 'token/a.ts': "import { N } from '../adapters/crypto-node/c.js';\nexport const A = N;\n" },
      /token\/a\.ts:1: only composition roots/,
    );
    fails(
      {
        'adapters/crypto-node/c.ts': "import { A } from '../../token/a.js';\nexport const N = A;\n",
      },
      /adapters\/crypto-node\/c\.ts:1: adapters import only ports and L0-L2/,
    );
  });

  it('fences the built-ins, named with or without node:', () => {
    fails(
      {
        'token/b.ts': "import { createHash } from 'node:crypto';\nexport const Bb = createHash;\n",
      },
      /token\/b\.ts:1: node:crypto is fenced/,
    );
    fails(
      { 'token/b.ts': "import * as c from 'crypto';\nexport const Bb = c;\n" },
      /token\/b\.ts:1: node:crypto is fenced/,
    );
    fails(
      { 'api/x.ts': "import { readFile } from 'node:fs/promises';\nexport const X = readFile;\n" },
      /api\/x\.ts:1: node:fs is fenced/,
    );
    fails(
      { 'api/x.ts': "export const X = () => import('net');\n" },
      /api\/x\.ts:1: node:net is fenced/,
    );
  });

  it('refuses Buffer below the API, but not a property named Buffer', () => {
    fails(
      { 'token/b.ts': 'export const Bb = Buffer.alloc(1);\n' },
      /token\/b\.ts:1: Buffer below the API/,
    );
    fails(
      { 'objects/o.ts': 'export function o(b: Buffer): number { return b.length; }\n' },
      /objects\/o\.ts:1: Buffer/,
    );
    assert.deepEqual(problems({ 'token/b.ts': 'export const Bb = { Buffer: 1 }.Buffer;\n' }), []);
  });

  it('refuses CKM_ comparisons and cases outside mechanisms/', () => {
    const imp = "import * as C from '../pkcs11/constants.js';\n";
    fails(
      { 'token/b.ts': `${imp}export const Bb = (m: number) => m !== C.CKM_SHA256;\n` },
      /token\/b\.ts:2: a CKM_ comparison/,
    );
    fails(
      {
        'token/b.ts': `${imp}export function Bb(m: number) {\n  switch (m) {\n    case C.CKM_SHA256:\n      return 1;\n  }\n  return 0;\n}\n`,
      },
      /token\/b\.ts:4: a CKM_ comparison/,
    );
    fails(
      {
        'rpc/r.ts':
          "import { CKM_SHA256 } from '../pkcs11/constants.js';\nexport const R = (m: number) => CKM_SHA256 === m;\n",
      },
      /rpc\/r\.ts:2: a CKM_ comparison/,
    );
  });

  it('refuses an import cycle, but not one of type-only imports', () => {
    fails(
      {
        'token/b.ts': "import { A } from './a.js';\nexport const T = 1;\nexport const Bb = A;\n",
        'token/a.ts': "import { T } from './b.js';\nexport const A = (t: number) => t + T;\n",
      },
      /^import cycle: token\/a\.ts → token\/b\.ts$/,
    );
    assert.deepEqual(problems(), [], 'token/a.ts imports token/b.ts for a type only');
  });
});
