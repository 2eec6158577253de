/**
 * tools/check-size.ts on planted trees: a file of src/ over 400 lines fails the check, tests, tools and
 * benches over 600, and the generated constants are exempt.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const SCRIPT = resolve('dist/tools/check-size.js');

/** Runs check-size in a tree of files of the given line counts. */
function checkSize(files: Record<string, number>): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'check-size-'));
  try {
    for (const [name, lines] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), 'export const x = 1;\n'.repeat(lines));
    }
    const r = spawnSync(process.execPath, [SCRIPT], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('check-size', () => {
  it('passes src/ files of 400 lines, tests of 600 and the generated constants at any size', () => {
    const r = checkSize({
      'src/a.ts': 400,
      'test/a.test.ts': 600,
      'src/pkcs11/constants.ts': 2000,
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('fails a src/ file of 401 lines and a test of 601', () => {
    const r = checkSize({ 'src/util/big.ts': 401, 'test/big.test.ts': 601 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /src\/util\/big\.ts: 401 lines \(cap 400\)/);
    assert.match(r.stderr, /test\/big\.test\.ts: 601 lines \(cap 600\)/);
  });
});
