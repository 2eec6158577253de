/**
 * `corepkcs11 serve` as a process: the printed address, the socket's mode, the default path (and its
 * fallback without a runtime directory, where the client finds it unaided), stale and busy sockets, errors
 * that name the fix, systemd socket activation with docs/systemd's units, a token directory that survives
 * a SIGTERM/SIGINT restart, and pkcs11-tool through it.
 * (The test for src/cli/serve.ts lives here, not in test/unit/cli/, because it drives real processes.)
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { defaultSocketPath } from '../../src/cli/serve.js';
import * as C from '../../src/pkcs11/constants.js';
import { CLI_PATH } from '../e2e/cli-harness.js';
import { HANDSHAKE, RpcClient } from '../unit/rpc/helpers/client.js';
import { findTools, run, workdir } from './helpers/env.js';

interface Serving {
  child: ChildProcess;
  stdout: string;
  stderr(): string;
  exit: Promise<number>;
}

/**
 * Starts `corepkcs11 serve ARGS` (through `wrap`, a command prefix, when given); resolves once the
 * address line is printed (or the process ends). `fd3` is passed to it as descriptor 3.
 */
function serve(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { wrap?: string[]; fd3?: number } = {},
): Promise<Serving> {
  const argv = [...(options.wrap ?? []), process.execPath, CLI_PATH, 'serve', ...args];
  const all: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: all,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.fd3 === undefined ? [] : [options.fd3])],
  });
  const exit = new Promise<number>((r) => child.on('close', (code) => r(code ?? 128)));
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  return new Promise((resolve) => {
    let stdout = '';
    const done = () => resolve({ child, stdout, exit, stderr: () => stderr });
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('P11_KIT_SERVER_PID')) done();
    });
    void exit.then(done);
  });
}

const labelOf = async (path: string): Promise<string> => {
  const c = await RpcClient.open(path);
  await c.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]);
  const slots = (await c.call('C_GetSlotList', [1, 8])).args[0] as number[];
  const info = await c.call('C_GetTokenInfo', [slots[0]!]);
  c.close();
  return Buffer.from(info.args[0] as Uint8Array)
    .toString()
    .trim();
};

describe('corepkcs11 serve', () => {
  const dir = workdir('corepkcs11-serve-');
  after(() => dir.cleanup());

  it('prints the P11_KIT_SERVER_ADDRESS line, creates the socket 0600 and removes it on SIGTERM', async () => {
    const sock = dir.file('a.sock');
    const s = await serve(['--store', 'memory:', '--socket', sock]);
    assert.match(
      s.stdout,
      new RegExp(`^P11_KIT_SERVER_ADDRESS=unix:path=${sock}; export P11_KIT_SERVER_ADDRESS;$`, 'm'),
    );
    assert.match(s.stdout, /^P11_KIT_SERVER_PID=\d+; export P11_KIT_SERVER_PID;$/m);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    const tools = findTools();
    if (typeof tools !== 'string') {
      const r = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], {
        P11_KIT_SERVER_ADDRESS: `unix:path=${sock}`,
      });
      assert.match(r.stdout, /Slot 0/);
    } else {
      console.log(`# pkcs11-tool part skipped: ${tools}`);
    }
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
    assert.equal(existsSync(sock), false);
  });

  it('defaults to $XDG_RUNTIME_DIR/p11-kit/pkcs11, creating p11-kit/ with mode 0700', async () => {
    const runtime = dir.file('runtime');
    mkdirSync(runtime);
    const s = await serve(['--store', 'memory:'], { XDG_RUNTIME_DIR: runtime });
    assert.match(s.stdout, new RegExp(`unix:path=${runtime}/p11-kit/pkcs11;`));
    assert.equal(statSync(`${runtime}/p11-kit`).mode & 0o777, 0o700);
    s.child.kill('SIGINT');
    assert.equal(await s.exit, 0);
  });

  it('--socket in a directory that exists leaves its mode alone (it may be /tmp)', async () => {
    const shared = dir.file('shared');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o1777);
    const s = await serve(['--store', 'memory:', '--socket', `${shared}/x.sock`]);
    assert.equal(statSync(shared).mode & 0o7777, 0o1777);
    assert.equal(statSync(`${shared}/x.sock`).mode & 0o777, 0o600);
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
  });

  it('replaces a stale socket but refuses one a live server listens on', async () => {
    const sock = dir.file('busy.sock');
    const other = createServer().listen(sock);
    await new Promise((r) => other.once('listening', r));
    const refused = await serve(['--store', 'memory:', '--socket', sock]);
    assert.equal(await refused.exit, 1);
    assert.match(refused.stderr(), /already listening on .*busy\.sock \(hint: stop it/);
    // A socket file nobody listens on any more (a server that was killed).
    await new Promise((r) => other.close(r));
    const stale = dir.file('stale.sock');
    const dead = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((r) => dead.on('close', r));
    assert.ok(existsSync(stale), 'the killed server left its socket');
    const s = await serve(['--store', 'memory:', '--socket', stale]);
    assert.match(s.stdout, /P11_KIT_SERVER_ADDRESS/);
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
  });

  it('keeps a token directory across a SIGTERM and a restart', async () => {
    const sock = dir.file('t.sock');
    const store = dir.file('store');
    mkdirSync(store); // serve opens a store, never creates one: an empty directory is a new token
    const first = await serve(['--store', store, '--socket', sock]);
    const c = await RpcClient.open(sock);
    await c.call('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]);
    const slots = (await c.call('C_GetSlotList', [1, 8])).args[0] as number[];
    const so = new TextEncoder().encode('12345678');
    const init = await c.call('C_InitToken', [slots[0]!, so, new TextEncoder().encode('kept')]);
    assert.equal(init.rv, C.CKR_OK);
    c.close();
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    const second = await serve(['--store', store, '--socket', sock]);
    assert.equal(await labelOf(sock), 'kept');
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0);
  });

  it('without XDG_RUNTIME_DIR or /run/user/UID: $XDG_CACHE_HOME/p11-kit/pkcs11 (dir 0700), where p11-kit-client.so looks by itself', async (t) => {
    const uid = process.getuid?.();
    const runtime = ['/run', '/var/run'].map((b) => `${b}/user/${uid}`).find(existsSync);
    if (runtime) return t.skip(`${runtime} exists: the client would look there`);
    const cache = dir.file('cache');
    const env = { XDG_RUNTIME_DIR: undefined, XDG_CACHE_HOME: cache };
    const s = await serve(['--store', 'memory:'], env);
    assert.match(s.stdout, new RegExp(`unix:path=${cache}/p11-kit/pkcs11;`));
    assert.equal(statSync(`${cache}/p11-kit`).mode & 0o777, 0o700);
    const tools = findTools();
    if (typeof tools !== 'string') {
      // No address given: the client finds the socket on its own.
      const r = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], {
        P11_KIT_SERVER_ADDRESS: '',
        XDG_RUNTIME_DIR: '',
        XDG_CACHE_HOME: cache,
      });
      assert.match(r.stdout, /Slot 0/, r.stderr);
    }
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
  });

  it('a runtime directory it cannot create: exit 1 naming the fix (--socket)', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run as a user without a home');
    // nobody's home (/nonexistent) cannot be created: no runtime dir, no XDG_CACHE_HOME, no ~/.cache.
    const wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'];
    const s = await serve(
      ['--store', 'memory:'],
      { XDG_RUNTIME_DIR: undefined, XDG_CACHE_HOME: undefined },
      { wrap },
    );
    assert.equal(await s.exit, 1);
    assert.match(
      s.stderr(),
      /cannot create \/nonexistent\/\.cache\/p11-kit: EACCES \(hint: give --socket PATH/,
    );
  });

  it("systemd socket activation as docs/systemd sets it up: the unit's ExecStart serves the socket passed as fd 3 (LISTEN_FDS, LISTEN_PID) and leaves it in place", async () => {
    const unit = (name: string) =>
      readFileSync(new URL(`../../../docs/systemd/${name}`, import.meta.url), 'utf8');
    assert.match(unit('corepkcs11.socket'), /^ListenStream=%t\/p11-kit\/pkcs11$/m);
    assert.equal(
      defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/1000' }),
      '/run/user/1000/p11-kit/pkcs11',
    );
    const exec = /^ExecStart=(\S+) serve (.*)$/m.exec(unit('corepkcs11.service'));
    assert.ok(exec, 'ExecStart runs corepkcs11 serve');
    const home = dir.file('home');
    // The unit serves a store made beforehand (corepkcs11 init-token): serve never creates one.
    mkdirSync(`${home}/.local/share/corepkcs11/token`, { recursive: true });
    const args = (exec[2] as string).replaceAll('%h', home).split(' ');
    const sock = dir.file('activated.sock');
    const listener = createServer();
    await new Promise<void>((r) => listener.listen(sock, r));
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    // LISTEN_PID must be the server's own pid: the shell's, which exec keeps.
    const wrap = ['sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', 'sh'];
    const s = await serve(args, {}, { wrap, fd3: fd });
    try {
      // Only the server may accept from now on: close our copy without the unlink Node does on close.
      linkSync(sock, `${sock}.keep`);
      await new Promise((r) => listener.close(r));
      renameSync(`${sock}.keep`, sock);
      assert.match(s.stdout, new RegExp(`unix:path=${sock};`));
      assert.equal(await labelOf(sock), '');
      assert.ok(existsSync(`${home}/.local/share/corepkcs11/token`), 'the store named in the unit');
    } finally {
      s.child.kill('SIGTERM');
    }
    assert.equal(await s.exit, 0);
    assert.match(s.stderr(), /on .*activated\.sock \(from systemd\)/);
    assert.ok(existsSync(sock), 'the socket belongs to systemd: not removed');
  });
});
