/**
 * Generates src/pkcs11/constants.ts from the OASIS PKCS#11 headers (pkcs11t.h), v2.40 then 3.0: every
 * name of either (3.0 dropped a few 2.40 names, such as CKM_TLS10_MAC_SERVER, that callers may still use).
 *
 * Usage: node dist/tools/gen-constants.js 2-40/pkcs11t.h 3-00/pkcs11t.h [out.ts]
 * The headers are public (github.com/oasis-tcs/pkcs11, published/2-40-errata-1/pkcs11t.h and
 * published/3-00-errata-1/pkcs11t.h); they are not vendored here, only their numeric facts are, in the
 * generated file.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Define {
  name: string;
  expr: string;
  deprecated: boolean;
}

/** Prefixes that get a number -> name table (values are unique within each of these families). */
const NAMED_FAMILIES = [
  // 3.0 gave CKP_ to profile ids too; the PBKDF2 PRFs keep a table of their own (same values).
  'CKP_PKCS5_PBKD2_',
  'CKA_',
  'CKC_',
  'CKD_',
  'CKG_',
  'CKH_',
  'CKK_',
  'CKM_',
  'CKN_',
  'CKO_',
  'CKP_',
  'CKR_',
  'CKS_',
  'CKU_',
  'CKZ_',
] as const;

/** pkcs11js's own mechanism-parameter tags (src/common.h in PeculiarVentures/pkcs11js), kept for drop-in use. */
const PKCS11JS_PARAMS = [
  'CK_PARAMS_BUFFER',
  'CK_PARAMS_AES_CBC',
  'CK_PARAMS_AES_CCM',
  'CK_PARAMS_AES_GCM',
  'CK_PARAMS_RSA_OAEP',
  'CK_PARAMS_RSA_PSS',
  'CK_PARAMS_EC_DH',
  'CK_PARAMS_AES_GCM_v240',
  'CK_PARAMS_ECDH2_DERIVE',
  'CK_PARAMS_ECMQV_DERIVE',
  'CK_PARAMS_X9_42_DH1_DERIVE',
  'CK_PARAMS_X9_42_DH2_DERIVE',
  'CK_PARAMS_X9_42_MQV_DERIVE',
  'CK_PARAMS_KEA_DERIVE',
  'CK_PARAMS_RC2',
  'CK_PARAMS_RC2_CBC',
  'CK_PARAMS_RC2_MAC_GENERAL',
  'CK_PARAMS_RC5',
  'CK_PARAMS_RC5_CBC',
  'CK_PARAMS_RC5_MAC_GENERAL',
  'CK_PARAMS_DES_CBC_ENCRYPT_DATA',
  'CK_PARAMS_SKIPJACK_PRIVATE_WRAP',
  'CK_PARAMS_SKIPJACK_RELAYX',
  'CK_PARAMS_PBE',
  'CK_PARAMS_KEY_WRAP_SET_OAEP',
  'CK_PARAMS_GCM',
  'CK_PARAMS_CCM',
];

function parseDefines(header: string): Define[] {
  const out: Define[] = [];
  const re = /^#define\s+(CK[A-Z]*_\w+)\s+(.+?)\s*$/gm;
  for (const m of header.matchAll(re)) {
    const name = m[1] as string;
    let rest = m[2] as string;
    const deprecated = /Deprecated/i.test(rest);
    rest = rest.replace(/\/\*.*?\*\//g, '').trim();
    if (rest === '' || name.endsWith('_H_')) continue;
    out.push({ name, expr: rest, deprecated });
  }
  return out;
}

/** Evaluates the tiny C expression language the header uses: literals, names, |, ~, parentheses. */
function evaluate(expr: string, known: Map<string, bigint>): bigint | undefined {
  const tokens = expr.match(/0x[0-9a-fA-F]+U?L?|\d+U?L?|[A-Za-z_]\w*|[|~()+]/g);
  if (!tokens) return undefined;
  let pos = 0;
  const mask = (1n << 64n) - 1n;
  const primary = (): bigint | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const v = orExpr();
      pos++; // ')'
      return v;
    }
    if (t === '~') {
      const v = primary();
      return v === undefined ? undefined : ~v & mask;
    }
    if (/^\d|^0x/.test(t)) return BigInt(t.replace(/U?L?$/, ''));
    return known.get(t);
  };
  const orExpr = (): bigint | undefined => {
    let v = primary();
    while (tokens[pos] === '|' || tokens[pos] === '+') {
      const op = tokens[pos++];
      const r = primary();
      if (v === undefined || r === undefined) return undefined;
      v = op === '|' ? v | r : v + r;
    }
    return v;
  };
  const v = orExpr();
  return pos === tokens.length ? v : undefined;
}

/**
 * Each constant is typed `number`, as pkcs11js declares them: with literal types, code written against
 * pkcs11js (graphene's own tests pass `CKM_*` where its narrower enum types are expected) does not
 * type-check against this module.
 */
function generate(headerPaths: string[]): string {
  const defines: Define[] = [];
  const seen = new Set<string>();
  for (const path of headerPaths) {
    for (const d of parseDefines(readFileSync(path, 'utf8'))) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      defines.push(d);
    }
  }
  const known = new Map<string, bigint>();
  const lines: string[] = [];
  const tables = new Map<string, Map<number, { name: string; deprecated: boolean }>>();
  for (const d of defines) {
    const v = evaluate(d.expr, known);
    if (v === undefined) throw new Error(`cannot evaluate ${d.name} = ${d.expr}`);
    known.set(d.name, v);
    if (d.name === 'CK_UNAVAILABLE_INFORMATION') {
      // ~0UL does not fit a JS number; the JS API uses -1 as this sentinel (the wire form stays all-ones).
      lines.push(`/** (~0UL) in C; -1 in JS. */\nexport const ${d.name}: number = -1;`);
      continue;
    }
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${d.name} too large`);
    const hex = `0x${v.toString(16).padStart(8, '0')}`;
    lines.push(`export const ${d.name}: number = ${hex};${d.deprecated ? ' // deprecated' : ''}`);
    const family = NAMED_FAMILIES.find((p) => d.name.startsWith(p));
    if (!family) continue;
    let table = tables.get(family);
    if (!table) {
      table = new Map();
      tables.set(family, table);
    }
    const prev = table.get(Number(v));
    // First definition wins, except that a current name replaces a deprecated alias.
    if (!prev || (prev.deprecated && !d.deprecated)) {
      table.set(Number(v), { name: d.name, deprecated: d.deprecated });
    }
  }
  PKCS11JS_PARAMS.forEach((name, i) => {
    lines.push(`export const ${name}: number = ${i}; // pkcs11js mechanism-parameter tag`);
  });
  const tableLines: string[] = [];
  for (const family of NAMED_FAMILIES) {
    const table = tables.get(family);
    if (!table) continue;
    const id = `${family.slice(0, -1)}_NAMES`;
    tableLines.push(`/** ${family}* value -> name. */`);
    tableLines.push(`export const ${id}: ReadonlyMap<number, string> = new Map([`);
    for (const [v, { name }] of [...table].sort((a, b) => a[0] - b[0])) {
      tableLines.push(`  [0x${v.toString(16)}, '${name}'],`);
    }
    tableLines.push(']);');
  }
  return [
    '/**',
    ' * PKCS#11 v2.40 and 3.0 constants with their exact numeric values, and value -> name tables.',
    ' * GENERATED by tools/gen-constants.ts from the OASIS headers pkcs11t.h (2-40-errata-1, then',
    ' * 3-00-errata-1 for what 2.40 lacks); do not edit.',
    ' * @module',
    ' */',
    '/* biome-ignore-all format: generated */',
    ...lines,
    '',
    ...tableLines,
    '',
  ].join('\n');
}

const args = process.argv.slice(2);
const outPath = args.find((a) => a.endsWith('.ts')) ?? 'src/pkcs11/constants.ts';
const headerPaths = args.filter((a) => !a.endsWith('.ts'));
if (headerPaths.length === 0) {
  process.stderr.write('usage: gen-constants <pkcs11t.h>... [out.ts]\n');
  process.exit(2);
}
writeFileSync(outPath, generate(headerPaths));
process.stdout.write(`wrote ${outPath}\n`);
