import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { baseEnv, CLI_PATH, cli } from '../../e2e/cli-harness.js';
import { scratch } from '../helpers/openssl.js';

describe('corepkcs11 --help', () => {
  const tmp = scratch('corepkcs11-help-');
  const top = cli(['--help'], { cwd: tmp.dir });
  const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1] as string);

  it('lists the commands the issue asks for', () => {
    assert.equal(top.code, 0);
    for (const c of [
      'init-token',
      'init-pin',
      'change-pin',
      'info',
      'list',
      'import',
      'export',
      'keygen',
      'csr',
      'sign',
      'verify',
      'digest',
      'random',
      'delete',
      'provision',
      'qualify',
    ]) {
      assert.ok(commands.includes(c), `${c} missing from --help`);
    }
  });

  for (const c of commands) {
    it(`${c} --help prints its usage and exits 0 without touching a store`, () => {
      const r = cli([c, '--help'], { cwd: tmp.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: corepkcs11 ${c}`));
      assert.equal(r.stderr, '');
    });
  }

  it('ends quietly when its reader closes the pipe (random 1048576 | head -c 8)', () => {
    const init = cli(['init-token', '--store', 'pipe', '--so-pin', '87654321'], { cwd: tmp.dir });
    assert.equal(init.code, 0, init.stderr);
    // 2 MiB of hex: far more than a pipe holds, so the writer meets the closed pipe
    const command = `"${process.execPath}" "${CLI_PATH}" random 1048576 --store pipe | head -c 8`;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], {
      cwd: tmp.dir,
      env: baseEnv(),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^[0-9a-f]{8}$/);
  });

  it('exits 2 with no command', () => {
    assert.equal(cli([], { cwd: tmp.dir }).code, 2);
    tmp.cleanup();
  });
});
