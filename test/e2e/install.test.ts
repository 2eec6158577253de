/**
 * Issue 17's "done when", as a new user would do it: `npm pack` of this tree installed with
 * `npm install -g` into a throwaway prefix put first on PATH (no global install is left behind), then
 * `corepkcs11 init-token`, `keygen`, `register`, and the programs that load p11-kit's modules find the
 * token with no daemon started and no environment variable: `p11-kit list-modules`, pkcs11-tool through
 * p11-kit-proxy.so, GnuTLS `p11tool --list-all` (no --provider), and an OpenSSL engine CSR that
 * `openssl req -verify` accepts. Once as root (p11-kit reads only the system directory for root), once
 * as an unprivileged user with a throwaway HOME.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  engineCsr,
  listsToken,
  PROXY,
  registryMissing,
  remotesServing,
  systemModuleFiles,
  testUser,
  type User,
  uniqueName,
} from '../interop/helpers/p11kit.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SYSTEM_DIR = '/etc/pkcs11/modules';
const PIN = '246810';
const missing =
  registryMissing() || (spawnSync('npm', ['--version']).status === 0 ? false : 'npm not found');

describe('npm pack → npm install -g → init-token → register → C programs', {
  skip: missing,
}, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'corepkcs11-install-'));
  const prefix = join(tmp, 'prefix');
  const path = [
    join(prefix, 'bin'),
    dirname(process.execPath),
    '/usr/local/bin',
    '/usr/bin',
    '/bin',
  ].join(':');
  const written: string[] = [];
  const cleanup = systemModuleFiles(written);

  before(() => {
    chmodSync(tmp, 0o755);
    const npm = (args: string[], cwd: string) => {
      const r = spawnSync(
        'npm',
        [...args, '--cache', join(tmp, 'npm-cache'), '--no-audit', '--no-fund'],
        {
          cwd,
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    // dist/ is already built by the test run; `prepare` would only build it again.
    const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT)
      .trim()
      .split('\n')
      .at(-1);
    npm(['install', '-g', '--prefix', prefix, '--offline', join(tmp, tarball as string)], tmp);
    assert.ok(
      existsSync(join(prefix, 'bin', 'corepkcs11')),
      'the package installs the corepkcs11 command',
    );
  });

  after(() => {
    cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const kind of ['root', 'unprivileged'] as const) {
    it(`as ${kind}: every p11-kit program finds the token, no daemon started`, async (t) => {
      const user = testUser(kind, path);
      if (typeof user === 'string') return t.skip(user);
      try {
        await scenario(user, (file) => written.push(file));
      } finally {
        user.cleanup();
      }
    });
  }

  async function scenario(user: User, remember: (file: string) => void): Promise<void> {
    const label = uniqueName('cpk');
    const env = { COREPKCS11_PIN_ITERATIONS: '1000', COREPKCS11_ALLOW_WEAK_PIN_ITERATIONS: '1' };
    const ok = async (cmd: string, args: string[]) => {
      const r = await user.run(cmd, args, env);
      assert.equal(
        r.code,
        0,
        `${cmd} ${args.join(' ')} as ${user.name}:\n${r.stdout}\n${r.stderr}`,
      );
      return `${r.stdout}${r.stderr}`;
    };
    await ok('corepkcs11', ['init-token', '--label', label, '--so-pin', '87654321', '--pin', PIN]);
    await ok('corepkcs11', [
      'keygen',
      '--key-type',
      'EC:prime256v1',
      '--label',
      'dev',
      '--pin',
      PIN,
    ]);

    const registered = await ok('corepkcs11', ['register', '--name', label]);
    const file =
      user.name === 'root'
        ? join(SYSTEM_DIR, `${label}.module`)
        : join(user.home, '.config', 'pkcs11', 'modules', `${label}.module`);
    remember(file);
    assert.match(registered, new RegExp(`Registered ${join(user.home, '.token')} with p11-kit`));
    if (user.name === 'root') assert.match(registered, /running as root/);
    const line = readFileSync(file, 'utf8');
    assert.match(
      line,
      new RegExp(
        `remote: \\|\\S+ ${prefix}/lib/node_modules/corepkcs11/dist/src/cli/main\\.js remote`,
      ),
    );

    const modules = await ok('p11-kit', ['list-modules']);
    assert.match(modules, listsToken(label, label));
    const objects = await ok('pkcs11-tool', [
      '--module',
      PROXY as string,
      '--token-label',
      label,
      '-O',
      '--login',
      '--pin',
      PIN,
    ]);
    assert.match(objects, /Private Key Object; EC\s+label:\s+dev/);
    const listed = await ok('p11tool', ['--list-all', `pkcs11:token=${label}`]);
    assert.match(listed, new RegExp(`URL: pkcs11:.*token=${label};.*object=dev;type=public`));
    const key = `pkcs11:token=${label};object=dev;type=private;pin-value=${PIN}`;
    await ok('openssl', engineCsr(key, `/CN=${label}`, 'dev.csr'));
    assert.match(await ok('openssl', ['req', '-verify', '-in', 'dev.csr', '-noout']), /verify OK/);
    assert.deepEqual(
      remotesServing(join(user.home, '.token')),
      [],
      'every corepkcs11 remote ended with its client',
    );

    assert.match(await ok('corepkcs11', ['info']), new RegExp(`p11-kit:\\s+${file}`));
    await ok('corepkcs11', ['unregister', '--name', label]);
    assert.equal(existsSync(file), false);
    assert.doesNotMatch(await ok('p11-kit', ['list-modules']), new RegExp(label));
  }
});
