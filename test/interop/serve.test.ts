/**
 * `corepkcs11 serve` as a process: the printed address, the socket's mode, the default path, stale and
 * busy sockets, a token directory that survives a SIGTERM/SIGINT restart, and pkcs11-tool through it.
 * (The test for src/cli/serve.ts lives here, not in test/unit/cli/, because it drives real processes.)
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as C from '../../src/pkcs11/constants.js';
import { HANDSHAKE, RpcClient } from '../unit/rpc/helpers/client.js';
import { findTools, run, workdir } from './helpers/env.js';

const SERVE = fileURLToPath(new URL('../../src/cli/serve.js', import.meta.url));
const SCRIPT = `const { serveCommand } = await import(${JSON.stringify(SERVE)});
process.exitCode = await serveCommand(process.argv.slice(1));`;

interface Serving {
  child: ChildProcess;
  stdout: string;
  exit: Promise<number>;
}

/** Starts `corepkcs11 serve ARGS`; resolves once the address line is printed (or the process ends). */
function serve(args: string[], env: Record<string, string> = {}): Promise<Serving> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT, '--', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number>((r) => child.on('close', (code) => r(code ?? 128)));
  child.stderr?.resume();
  return new Promise((resolve) => {
    let stdout = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('P11_KIT_SERVER_PID')) resolve({ child, stdout, exit });
    });
    void exit.then(() => resolve({ child, stdout, exit }));
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

  it('replaces a stale socket but refuses one a live server listens on', async () => {
    const sock = dir.file('busy.sock');
    const other = createServer().listen(sock);
    await new Promise((r) => other.once('listening', r));
    const refused = await serve(['--store', 'memory:', '--socket', sock]);
    assert.equal(await refused.exit, 1);
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
});
