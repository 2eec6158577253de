/**
 * The README's other-host line, `remote: |ssh -T user@hsm-box corepkcs11 remote --store /srv/token`, run
 * against a local sshd on a spare port with a throwaway host key and client key (all in a temporary
 * directory): the module file is registered as the README says, and p11-kit list-modules, pkcs11-tool
 * through p11-kit-proxy.so and an OpenSSL engine CSR reach the token through ssh. Only the host part is
 * changed (`-F CONFIG` naming the test's sshd). Skips, saying why, without sshd or ssh.
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { baseEnv, cli, cliWrapper, readmeBlocks } from '../e2e/cli-harness.js';
import { run } from './helpers/env.js';
import {
  engineCsr,
  IS_ROOT,
  listsToken,
  PROXY,
  registryMissing,
  systemModuleFiles,
  uniqueName,
} from './helpers/p11kit.js';

const SSHD = '/usr/sbin/sshd';
const PIN = '246810';
const missing =
  registryMissing() ||
  (existsSync(SSHD) ? false : 'sshd not found (apt-get install openssh-server)') ||
  (spawnSync('ssh', ['-V']).error ? 'ssh not found (apt-get install openssh-client)' : false);

/** The README's module line for another host. */
function readmeLine(): { line: string; host: string; store: string } {
  const [block] = readmeBlocks('## Using the token from C programs', '');
  const m = /^remote: \|ssh -T (\S+) corepkcs11 remote --store (\S+)$/m.exec(block ?? '');
  assert.ok(m, 'the README shows `remote: |ssh -T HOST corepkcs11 remote --store DIR`');
  return { line: m[0], host: m[1] as string, store: m[2] as string };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('a token on another host, over ssh (README)', { skip: missing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'corepkcs11-ssh-'));
  const file = (name: string) => join(dir, name);
  const label = uniqueName('ssh');
  const home = file('home');
  const moduleFile = IS_ROOT
    ? `/etc/pkcs11/modules/${label}.module`
    : join(home, '.config/pkcs11/modules', `${label}.module`);
  const madeRunSshd = IS_ROOT && !existsSync('/run/sshd');
  const cleanup = systemModuleFiles([moduleFile]);
  let sshd: ChildProcess | undefined;

  before(async () => {
    for (const key of ['host_key', 'client_key']) {
      const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file(key)]);
      assert.equal(r.status, 0, String(r.stderr));
    }
    writeFileSync(file('authorized_keys'), readFileSync(file('client_key.pub')));
    const hostKey = readFileSync(file('host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(file('known_hosts'), `corepkcs11-test ${hostKey}\n`);
    const port = await freePort();
    // The remote side's PATH finds `corepkcs11` (this build), as an installed one would be found.
    const bin = cliWrapper(dir);
    writeFileSync(
      file('sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${file('host_key')}`,
        `PidFile ${file('sshd.pid')}`,
        `AuthorizedKeysFile ${file('authorized_keys')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `SetEnv PATH=${bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      file('ssh_config'),
      [
        'Host corepkcs11-test',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${userInfo().username}`,
        `  IdentityFile ${file('client_key')}`,
        '  IdentitiesOnly yes',
        '  HostKeyAlias corepkcs11-test',
        `  UserKnownHostsFile ${file('known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    // sshd as root needs its privilege-separation directory (systemd makes it for the real service).
    if (IS_ROOT) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    sshd = spawn(SSHD, ['-D', '-e', '-f', file('sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const child = sshd;
    await new Promise<void>((ready, fail) => {
      let log = '';
      child.stderr?.on('data', (b: Buffer) => {
        log += b.toString();
        if (log.includes('Server listening on')) ready();
      });
      child.on('close', (code) => fail(new Error(`sshd exited with ${code}: ${log}`)));
    });
    child.stderr?.resume();
    const init = cli(
      [
        'init-token',
        '--store',
        file('token'),
        '--label',
        label,
        '--so-pin',
        '87654321',
        '--pin',
        PIN,
      ],
      {
        cwd: dir,
      },
    );
    assert.equal(init.code, 0, init.stderr);
    const key = cli(
      [
        'keygen',
        '--store',
        file('token'),
        '--pin',
        PIN,
        '--key-type',
        'EC:prime256v1',
        '--label',
        'far',
      ],
      {
        cwd: dir,
      },
    );
    assert.equal(key.code, 0, key.stderr);
  });

  after(() => {
    sshd?.kill('SIGTERM');
    cleanup();
    if (madeRunSshd) rmSync('/run/sshd', { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('p11-kit list-modules, pkcs11-tool via p11-kit-proxy and an OpenSSL engine CSR reach the token through ssh', async () => {
    const { line, host, store } = readmeLine();
    const ours = line
      .replace(`ssh -T ${host}`, `ssh -F ${file('ssh_config')} -T corepkcs11-test`)
      .replace(store, file('token'));
    mkdirSync(dirname(moduleFile), { recursive: true });
    writeFileSync(moduleFile, `${ours}\n`);
    // The programs run locally: a clean HOME (where a non-root user's module file is), no store of ours.
    const env = { ...baseEnv(), HOME: home, COREPKCS11_STORE: '' };
    const ok = async (cmd: string, args: string[]) => {
      const r = await run(cmd, args, env);
      assert.equal(r.code, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      return `${r.stdout}${r.stderr}`;
    };
    assert.match(await ok('p11-kit', ['list-modules']), listsToken(label, label));
    const objects = await ok('pkcs11-tool', [
      '--module',
      PROXY as string,
      '--token-label',
      label,
      '--login',
      '--pin',
      PIN,
      '-O',
    ]);
    assert.match(objects, /Private Key Object; EC\s+label:\s+far/);
    const key = `pkcs11:token=${label};object=far;type=private;pin-value=${PIN}`;
    const csr = file('far.csr');
    await ok('openssl', engineCsr(key, '/CN=far', csr));
    assert.match(await ok('openssl', ['req', '-verify', '-in', csr, '-noout']), /verify OK/);
  });
});
