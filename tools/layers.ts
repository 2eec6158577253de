/**
 * The architecture rules of docs/architecture.md, checked on the TypeScript syntax tree of every file
 * under a source directory (tools/check-layers.ts runs it on src/ in CI; its test plants violations):
 * - imports point down the layer stack, whatever their form (`import`, `import type`, `export … from`,
 *   bare `import '…'`, dynamic `import()`, `require()`, `import x = require()`); the siblings of L7 do
 *   not import each other; adapters import only L0–L2 and each other, and only composition roots
 *   import adapters;
 * - no import cycle among the modules (type-only imports excepted: they are erased);
 * - each Node built-in with side effects on the outside world is fenced to its places, named with or
 *   without `node:`;
 * - no `Buffer` below the API (L0–L5 use Uint8Array);
 * - no comparison with or `case` on a CKM_ value in the token's code outside mechanisms/ (mechanism
 *   dispatch lives in one registry).
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Layer of a path relative to the source root (first segment). Adapters get 2.5: they sit beside L3+.
 * The composition roots are create.ts (8) and cli/ and index.ts (9): only they may import adapters.
 */
const LAYERS: Record<string, number> = {
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
const ADAPTERS = 2.5;
const ROOTS = 8;

/** Built-ins allowed only under these prefixes (of paths relative to the source root). */
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

/** Below this layer the code works on Uint8Array: no Buffer (the API converts at its edge). */
const BUFFER_BELOW = 6;

/** Where CKM_ values may be compared: the mechanisms, the constants, and the token's callers. */
const MECHANISM_CHOICE = ['mechanisms/', 'pkcs11/', 'helpers/', 'qualification/', 'cli/'];

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

function layerOf(rel: string): number {
  const top = rel.split('/')[0] ?? '';
  const layer = LAYERS[top];
  if (layer === undefined) throw new Error(`check-layers: no layer assigned to ${top}`);
  return layer;
}

/** 'crypto', 'node:crypto', 'node:fs/promises' → 'node:crypto', 'node:fs'; undefined for other modules. */
function builtinOf(spec: string): string | undefined {
  const name = spec.replace(/^node:/, '');
  if (!spec.startsWith('node:') && !BUILTINS.has(name)) return undefined;
  return `node:${name.split('/')[0]}`;
}

interface Import {
  spec: string;
  line: number;
  /** Erased at compile time (`import type`, `export type`, every named binding type-only). */
  typeOnly: boolean;
}

/** Every module specifier a file names, in any import form. */
function importsOf(sf: ts.SourceFile): Import[] {
  const out: Import[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined, typeOnly: boolean) => {
    if (literal && ts.isStringLiteralLike(literal)) {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      out.push({ spec: literal.text, line, typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings;
      const allTypes =
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly) &&
        c?.name === undefined;
      add(node, node.moduleSpecifier, c !== undefined && (c.isTypeOnly || allTypes));
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node)) {
      const ref = node.moduleReference;
      if (ts.isExternalModuleReference(ref)) add(node, ref.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const dynamic = callee.kind === ts.SyntaxKind.ImportKeyword;
      const required = ts.isIdentifier(callee) && callee.text === 'require';
      if (dynamic || required) add(node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(node, arg.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function isCkm(e: ts.Expression): boolean {
  const name = ts.isIdentifier(e) ? e.text : ts.isPropertyAccessExpression(e) ? e.name.text : '';
  return name.startsWith('CKM_');
}

const COMPARISONS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** Lines that use Buffer, and lines that compare with or switch on a CKM_ value. */
function usesOf(sf: ts.SourceFile): { buffer: number[]; ckm: number[] } {
  const buffer: number[] = [];
  const ckm: number[] = [];
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'Buffer') {
      const p = node.parent;
      const member =
        (ts.isPropertyAccessExpression(p) && p.name === node) ||
        (ts.isPropertyAssignment(p) && p.name === node) ||
        (ts.isPropertySignature(p) && p.name === node);
      if (!member) buffer.push(line(node));
    } else if (ts.isBinaryExpression(node) && COMPARISONS.has(node.operatorToken.kind)) {
      if (isCkm(node.left) || isCkm(node.right)) ckm.push(line(node));
    } else if (ts.isCaseClause(node) && isCkm(node.expression)) {
      ckm.push(line(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { buffer, ckm };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

/** The file a relative specifier names, relative to the root (`.js` written for `.ts`). */
function targetOf(root: string, file: string, spec: string): string {
  const abs = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
  return relative(root, abs);
}

/** Import cycles (strongly connected components of the value-import graph), Tarjan's algorithm. */
function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) connect(v);
  return found;
}

/** Every violation of the rules in the TypeScript files under `root`, one line each. */
export function checkLayers(root: string): string[] {
  const problems: string[] = [];
  const graph = new Map<string, Set<string>>();
  for (const file of walk(root)) {
    const rel = relative(root, file);
    const from = layerOf(rel);
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const edges = new Set<string>();
    graph.set(rel, edges);
    for (const { spec, line, typeOnly } of importsOf(sf)) {
      const at = `${rel}:${line}`;
      const builtin = builtinOf(spec);
      if (builtin !== undefined) {
        const allowed = FENCES[builtin];
        if (allowed && !allowed.some((p) => rel.startsWith(p))) {
          problems.push(`${at}: ${builtin} is fenced to ${allowed.join(', ')}`);
        }
        continue;
      }
      if (!spec.startsWith('.')) continue;
      const target = targetOf(root, file, spec);
      if (target.startsWith('..')) continue;
      if (!typeOnly) edges.add(target);
      const to = layerOf(target);
      if (rel.split('/')[0] === target.split('/')[0]) continue;
      if (to === ADAPTERS && from < ROOTS) {
        problems.push(`${at}: only composition roots (create.ts, index.ts, cli/) import adapters`);
      } else if (from === ADAPTERS && to > 2) {
        problems.push(`${at}: adapters import only ports and L0-L2, not ${target}`);
      } else if (to > from || (to === from && from === 7)) {
        problems.push(`${at} (L${from}) imports ${target} (L${to}): imports must point down`);
      }
    }
    const uses = usesOf(sf);
    if (from < BUFFER_BELOW && from !== ADAPTERS) {
      for (const l of uses.buffer) problems.push(`${rel}:${l}: Buffer below the API (Uint8Array)`);
    }
    if (!MECHANISM_CHOICE.some((p) => rel.startsWith(p))) {
      for (const l of uses.ckm) {
        problems.push(`${rel}:${l}: a CKM_ comparison outside mechanisms/ (use the registry)`);
      }
    }
  }
  for (const cycle of cyclesOf(graph)) problems.push(`import cycle: ${cycle.join(' → ')}`);
  return problems;
}
