import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { freshToken, softHsm } from './softhsm.js';

const QUALIFY = new URL('../../../src/cli/qualify.js', import.meta.url).href;

const RANDOM_FLUKE = /PKCS11_GenerateRandom\) \S+::FAIL: Expected less than 2 Was [23]\./;

/** Runs `corepkcs11 qualify ARGS` in a child process, once more after a GenerateRandom false alarm. */
function qualify(args: string[]) {
  const first = qualifyOnce(args);
  return RANDOM_FLUKE.test(first.stdout) ? qualifyOnce(args) : first;
}

/** Runs `corepkcs11 qualify ARGS` in a child process; its exit code and output. */
function qualifyOnce(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const script = `const { qualifyCommand } = await import(${JSON.stringify(QUALIFY)});
process.exitCode = await qualifyCommand(${JSON.stringify(args)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('corepkcs11 qualify', () => {
  it('--help prints the usage and exits 0', () => {
    const r = qualify(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /usage: corepkcs11 qualify \[--module memory:\|DIR\|FILE\.so\]/);
  });

  it('exits 2 on an unknown preset, an unknown option and --workers with memory:', () => {
    for (const args of [
      ['--config', 'everything'],
      ['--frobnicate'],
      ['--workers'],
      ['--slot', 'x'],
    ]) {
      const r = qualify(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^corepkcs11 qualify: /);
    }
  });

  const hsm = softHsm();
  const skip = 'missing' in hsm ? `SoftHSMv2 unavailable: ${hsm.missing}` : false;
  it('qualifies a .so through pkcs11js: exit 0 when all pass, 1 when one fails', { skip }, () => {
    if ('missing' in hsm) return;
    freshToken();
    const passing = qualify(['--module', hsm.library, '--config', 'rsa-import']);
    assert.equal(passing.code, 0, passing.stdout + passing.stderr);
    assert.match(passing.stdout, /\n-----------------------\n17 Tests 0 Failures 0 Ignored\nOK\n$/);
    const failing = qualify(['--module', hsm.library, '--config', 'full', '--workers']);
    assert.equal(failing.code, 1, failing.stdout + failing.stderr);
    assert.match(failing.stdout, /TEST\(Full_PKCS11_EC, PKCS11_EC_Sign\) \S+:\d+::FAIL: /);
    assert.match(failing.stdout, /27 Tests 1 Failures 0 Ignored\nFAIL\n$/);
    const pre = qualify([
      '--module',
      hsm.library,
      '--config',
      'preprovisioned-rsa',
      '--preprovision',
    ]);
    assert.equal(pre.code, 0, pre.stdout + pre.stderr);
  });
});
