/**
 * The npm package as users install it: what `npm pack` puts in the tarball. No install-time script
 * (npm warns about, and some installs refuse, a packed `prepare`/`install`), no source maps pointing at
 * sources that are not shipped, and every subpath's types found by TypeScript's old `node10` resolution
 * too (through typesVersions), not only by `node16`/`bundler` through exports.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scratch } from '../unit/helpers/openssl.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  exports: Record<string, unknown>;
};
const tmp = scratch('corepkcs11-package-');
after(() => tmp.cleanup());

describe('the packed npm package', () => {
  it('carries no prepare, install, preinstall or postinstall script', () => {
    for (const s of ['prepare', 'install', 'preinstall', 'postinstall']) {
      assert.equal(pkg.scripts[s], undefined, `scripts.${s} runs when users install`);
    }
  });

  it('ships no source map (its sources are not shipped) and the built entry points', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]?.files.map(
      (f) => f.path,
    );
    assert.ok(files);
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/helpers/index.d.ts']) {
      assert.ok(files.includes(f), `${f} is not packed`);
    }
  });

  for (const resolution of ['node10', 'node16']) {
    it(`every subpath's types resolve with moduleResolution ${resolution}`, () => {
      const dir = join(tmp.dir, resolution);
      mkdirSync(join(dir, 'node_modules'), { recursive: true });
      symlinkSync(ROOT, join(dir, 'node_modules', 'corepkcs11'));
      // node16: an ES module consumer (the package is ESM); node10: the CommonJS era's resolution.
      const file = resolution === 'node10' ? 'use.ts' : 'use.mts';
      writeFileSync(
        join(dir, file),
        [
          "import { PKCS11, CKM_SHA256 } from 'corepkcs11';",
          "import { parsePkcs11Uri } from 'corepkcs11/helpers';",
          "import { runQualification } from 'corepkcs11/qualification';",
          'export const used = [PKCS11, CKM_SHA256, parsePkcs11Uri, runQualification];',
          '',
        ].join('\n'),
      );
      const module = resolution === 'node10' ? 'commonjs' : 'node16';
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = spawnSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          '--types',
          'node',
          '--typeRoots',
          join(ROOT, 'node_modules', '@types'),
          '--module',
          module,
          '--moduleResolution',
          resolution,
          '--ignoreDeprecations',
          '6.0',
          file,
        ],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });
  }
});
