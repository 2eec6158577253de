import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cli } from '../../e2e/cli-harness.js';
import { scratch } from '../helpers/openssl.js';

describe('corepkcs11 init-token --profile, info', () => {
  const tmp = scratch('corepkcs11-profile-');
  after(() => tmp.cleanup());
  const env = { COREPKCS11_SO_PIN: '87654321', COREPKCS11_PIN: '246810' };
  const run = (args: string[]) => cli(args, { cwd: tmp.dir, env });

  it('a token initialized without --profile is compatible; info shows it', () => {
    assert.equal(run(['init-token', '--store', 'a', '--label', 'a']).code, 0);
    const info = run(['info', '--store', 'a']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^Profile: +compatible$/m);
  });

  it('--profile strict is recorded; info --json reports token.profile', () => {
    const init = run([
      'init-token',
      '--store',
      'b',
      '--label',
      'b',
      '--profile',
      'strict',
      '--json',
    ]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(JSON.parse(init.stdout).token.profile, 'strict');
    const info = run(['info', '--store', 'b', '--json']);
    assert.equal(JSON.parse(info.stdout).token.profile, 'strict');
    const rsa = run(['info', '--store', 'b', '-M']);
    assert.match(rsa.stdout, /^RSA-PKCS-KEY-PAIR-GEN +2048–4096 /m);
  });

  it('--profile other than compatible or strict exits 2 and creates nothing', () => {
    const r = run(['init-token', '--store', 'c', '--label', 'c', '--profile', 'lenient']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--profile must be compatible or strict/);
    assert.equal(run(['info', '--store', 'c']).code, 7);
  });
});
