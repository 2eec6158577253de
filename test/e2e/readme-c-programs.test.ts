/**
 * The README's "Using the token from C programs" section, run as written by the test's user (root in CI)
 * with a throwaway HOME: the register session (p11-kit list-modules, pkcs11-tool through p11-kit-proxy,
 * p11tool, an OpenSSL engine CSR, unregister), then `serve` in the background and the client line
 * against it. Changed for the test only: `npm install -g corepkcs11` is left out (test/e2e/install.test.ts
 * installs `npm pack` of this tree instead; here `corepkcs11` runs this build), and the module name and
 * token label are made unique, because as root the module file is machine-wide. The ssh line:
 * test/interop/ssh.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  IS_ROOT,
  listsToken,
  registryMissing,
  remotesServing,
  systemModuleFiles,
  testUser,
  type User,
  uniqueName,
} from '../interop/helpers/p11kit.js';
import { cliWrapper, readmeBlocks } from './cli-harness.js';

const SECTION = '## Using the token from C programs';
const blocks = readmeBlocks(SECTION, 'sh');
const missing = registryMissing();

describe('README: using the token from C programs', { skip: missing }, () => {
  const tools = testUser(IS_ROOT ? 'root' : 'unprivileged', '');
  const u = tools as User;
  const bin = typeof tools === 'string' ? '' : cliWrapper(join(u.home, 'cli'));
  const path = [bin, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  const label = uniqueName('readme');
  const env = {
    PATH: path,
    COREPKCS11_PIN_ITERATIONS: '10000',
    // The runtime directory serve defaults to: a private one, not the machine's.
    XDG_RUNTIME_DIR: typeof tools === 'string' ? '' : join(u.home, 'run'),
  };
  const moduleFile = IS_ROOT
    ? `/etc/pkcs11/modules/${label}.module`
    : join(u.home ?? '', '.config/pkcs11/modules', `${label}.module`);
  const cleanup = systemModuleFiles([moduleFile]);
  after(() => {
    cleanup();
    if (typeof tools !== 'string') u.cleanup();
  });

  /** The block as the test runs it: this build instead of npm's, names no other run uses. */
  const adapt = (block: string) =>
    block
      .replace(/^npm install -g corepkcs11.*\n/m, '')
      .replaceAll('my token', label)
      .replaceAll('my%20token', label)
      .replace(/corepkcs11 (un)?register\b/g, (m) => `${m} --name ${label}`);

  it('has the blocks this test runs: the register session, serve, its client', () => {
    assert.equal(blocks.length, 3, 'three sh blocks');
    assert.match(blocks[0] as string, /^npm install -g corepkcs11 /m);
    assert.match(blocks[0] as string, /^corepkcs11 register /m);
    assert.match(blocks[1] as string, /^corepkcs11 serve /m);
    assert.match(blocks[2] as string, /p11-kit-client\.so/);
  });

  it('register, then p11-kit list-modules, pkcs11-tool via p11-kit-proxy, p11tool, openssl engine CSR, unregister', async (t) => {
    if (typeof tools === 'string') return t.skip(tools);
    mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
    const r = await u.run('bash', ['-euo', 'pipefail', '-c', adapt(blocks[0] as string)], env);
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 0, out);
    assert.match(
      out,
      new RegExp(`Registered ${u.home}/my-token with p11-kit as module '${label}'`),
    );
    assert.match(out, listsToken(label, label), 'p11-kit list-modules');
    assert.match(out, /Private Key Object; EC\s+label:\s+signer/, 'pkcs11-tool -O');
    assert.match(
      out,
      new RegExp(`URL: pkcs11:.*token=${label};.*object=signer;type=public`),
      'p11tool',
    );
    assert.match(out, /Certificate request self-signature verify OK/, 'openssl req -verify');
    assert.match(out, new RegExp(`Removed ${moduleFile}`), 'unregister');
    assert.equal(existsSync(moduleFile), false);
    assert.deepEqual(remotesServing(`${u.home}/my-token`), [], 'no corepkcs11 remote left running');
  });

  it('serve in one terminal, pkcs11-tool through p11-kit-client.so in another', async (t) => {
    if (typeof tools === 'string') return t.skip(tools);
    const server = u.start('bash', ['-c', `exec ${adapt(blocks[1] as string)}`], env);
    const exit = new Promise<number | null>((r) => server.on('close', r));
    try {
      let printed = '';
      server.stderr?.resume();
      await new Promise<void>((ready, fail) => {
        server.stdout?.on('data', (b: Buffer) => {
          printed += b.toString();
          if (printed.includes('P11_KIT_SERVER_PID')) ready();
        });
        void exit.then((code) => fail(new Error(`serve exited with ${code}: ${printed}`)));
      });
      assert.match(printed, new RegExp(`unix:path=${env.XDG_RUNTIME_DIR}/p11-kit/pkcs11;`));
      const r = await u.run('bash', ['-euo', 'pipefail', '-c', adapt(blocks[2] as string)], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Private Key Object; EC\s+label:\s+signer/);
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exit, 0);
  });
});
