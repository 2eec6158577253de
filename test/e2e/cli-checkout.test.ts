import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scratch } from '../unit/helpers/openssl.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPX_MISSING =
  spawnSync('npx', ['--version'], { encoding: 'utf8' }).status === 0 ? false : 'npx is not on PATH';

describe('the command line in a checkout', () => {
  it('README introduces it as `npx corepkcs11`, and that runs in the clone without a download', {
    skip: NPX_MISSING,
  }, () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The command line'));
    assert.match(section.slice(0, 600), /`npx corepkcs11 …`/);
    const r = spawnSync('npx', ['--offline', 'corepkcs11', '--help'], {
      cwd: join(ROOT, 'docs'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: corepkcs11 <command> \[options\]\n/);
  });

  it('files the tools write (bench results) are not read by the checks: bench, then biome check passes', () => {
    const tmp = scratch('corepkcs11-bench-');
    after(() => tmp.cleanup());
    for (const f of ['biome.json', '.gitignore']) copyFileSync(join(ROOT, f), join(tmp.dir, f));
    symlinkSync(join(ROOT, 'node_modules'), join(tmp.dir, 'node_modules'));
    const bench = spawnSync(
      process.execPath,
      [join(ROOT, 'dist/bench/run.js'), '--quick', '--json', '--only', 'no-such-case'],
      { cwd: tmp.dir, encoding: 'utf8' },
    );
    assert.equal(bench.status, 0, bench.stderr);
    assert.ok(existsSync(join(tmp.dir, 'bench-results.json')));
    const biome = () =>
      spawnSync(join(ROOT, 'node_modules/.bin/biome'), ['check', '.'], {
        cwd: tmp.dir,
        encoding: 'utf8',
      });
    const checked = biome();
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    // The same results file where the checks do read it fails them: the test above can fail.
    writeFileSync(join(tmp.dir, '.gitignore'), 'node_modules/\n');
    assert.notEqual(biome().status, 0);
  });
});
