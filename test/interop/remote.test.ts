/**
 * `corepkcs11 remote` as p11-kit runs it: pkcs11-tool through p11-kit-client.so with the address
 * `|corepkcs11 remote --store DIR` (the form a module file's `remote:` line takes), a store path that
 * needs p11-kit's quoting, a flash image (one program at a time), and the process on its own: only
 * protocol bytes on stdout, EOF ends it, refusals in --log, a missing store refused before any byte is
 * written.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { remoteCommandLine } from '../../src/cli/p11kit-modules.js';
import * as C from '../../src/pkcs11/constants.js';
import { CALL_ID } from '../../src/rpc/calls.js';
import { encodeFrame, type Frame, FrameDecoder } from '../../src/rpc/frame.js';
import { type Arg, decodeMessage, encodeMessage } from '../../src/rpc/message.js';
import { baseEnv, CLI_PATH, cli } from '../e2e/cli-harness.js';
import { HANDSHAKE } from '../unit/rpc/helpers/client.js';
import { findTools, run, workdir } from './helpers/env.js';

const PIN = '246810';
const PKCS11JS = createRequire(import.meta.url).resolve('pkcs11js');

/** Runs `corepkcs11 remote ARGS` with its stdin and stdout as pipes (as sshd gives them). */
function remote(args: string[], requests: Uint8Array) {
  const child = spawn(process.execPath, [CLI_PATH, 'remote', ...args], {
    env: baseEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.end(requests);
  return new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve) =>
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString(),
      }),
    ),
  );
}

function requests(calls: [string, Arg[]][]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0)];
  calls.forEach(([name, args], i) => {
    const body = encodeMessage(CALL_ID[name] as number, 'request', args, { version: 0 });
    parts.push(encodeFrame(0x10 + i, body, new TextEncoder().encode('client')));
  });
  return Buffer.concat(parts);
}

/** The reply stream split exactly: one version byte, then whole frames and not one byte more. */
function split(stdout: Buffer): Frame[] {
  assert.equal(stdout[0], 0, 'version byte');
  const decoder = new FrameDecoder();
  const frames = decoder.push(new Uint8Array(stdout.subarray(1)));
  assert.equal(decoder.buffered, 0, 'nothing but whole frames on stdout');
  return frames;
}

describe('corepkcs11 remote', () => {
  const dir = workdir('corepkcs11-remote-');
  const store = dir.file('token');
  before(() => {
    const r = cli(
      ['init-token', '--store', store, '--label', 'remote', '--so-pin', '87654321', '--pin', PIN],
      {
        cwd: dir.path,
      },
    );
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => dir.cleanup());

  it('serves one client on stdin/stdout: only protocol bytes on stdout, exit 0 at EOF', async () => {
    const r = await remote(
      ['--store', store],
      requests([
        ['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]],
        ['C_GetSlotList', [1, 8]],
      ]),
    );
    assert.equal(r.code, 0, r.stderr);
    const frames = split(r.stdout);
    assert.deepEqual(
      frames.map((f) => f.serial),
      [0x10, 0x11],
    );
    const slots = decodeMessage(frames[1]!.body, 'reply', { version: 0 }).args[0] as number[];
    assert.equal(slots.length, 1);
  });

  it('--log FILE records refused requests; the client’s stderr stays quiet', async () => {
    const log = dir.file('remote.log');
    const r = await remote(
      ['--store', store, '--log', log],
      requests([
        ['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]],
        ['C_GetSlotInfo', [0x7777]],
      ]),
    );
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    const rv = decodeMessage(split(r.stdout)[1]!.body, 'reply', { version: 0 }).args[0];
    assert.equal(rv, C.CKR_SLOT_ID_INVALID);
    assert.match(readFileSync(log, 'utf8'), /C_GetSlotInfo → CKR_SLOT_ID_INVALID: /);
  });

  it('a missing store → exit 7 with the fix on stderr, nothing on stdout', async () => {
    const r = await remote(['--store', dir.file('nope')], requests([]));
    assert.equal(r.code, 7);
    assert.equal(r.stdout.length, 0);
    assert.match(r.stderr, /no token store at .*nope.*init-token/);
  });

  describe('through p11-kit-client.so (P11_KIT_SERVER_ADDRESS=|command)', () => {
    const tools = findTools();
    const skip = typeof tools === 'string' ? tools : false;
    const via = (storePath: string) => ({
      P11_KIT_SERVER_ADDRESS: `|${remoteCommandLine(storePath)}`,
    });

    it('pkcs11-tool lists the token, logs in and passes --test', { skip }, async () => {
      if (typeof tools === 'string') return;
      const list = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], via(store));
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /token label\s+: remote/);
      const gen = await run(
        tools.pkcs11Tool,
        [
          '--module',
          tools.client,
          '--login',
          '--pin',
          PIN,
          '--keypairgen',
          '--key-type',
          'EC:prime256v1',
          '--label',
          'k',
        ],
        via(store),
      );
      assert.equal(gen.code, 0, gen.stderr);
      const test = await run(
        tools.pkcs11Tool,
        ['--module', tools.client, '--login', '--pin', PIN, '--test'],
        via(store),
      );
      assert.equal(test.code, 0, test.stderr);
      assert.match(test.stdout, /No errors/);
    });

    it('a flash image: served to one program at a time; a second one at once gets CKR_DEVICE_ERROR naming the holder', {
      skip,
    }, async () => {
      if (typeof tools === 'string') return;
      const image = dir.file('token.img');
      const init = cli(
        ['init-token', '--store', `flash:${image}`, '--label', 'flashy', '--so-pin', '87654321'],
        {
          cwd: dir.path,
        },
      );
      assert.equal(init.code, 0, init.stderr);
      const address = via(`flash:${image}`);
      const list = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], address);
      assert.match(list.stdout, /token label\s+: flashy/, list.stderr);
      // The first program keeps its remote (and the image) until it finalizes.
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const p = new (require(${JSON.stringify(PKCS11JS)}).PKCS11)(); p.load(${JSON.stringify(tools.client)});
           p.C_Initialize({ flags: 2 }); console.log('open'); process.stdin.once('data', () => p.C_Finalize());`,
        ],
        { env: { ...baseEnv(), ...address }, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise((r) => holder.stdout.once('data', r));
      const second = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], address);
      holder.stdin.end('x');
      await new Promise((r) => holder.on('close', r));
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /flash image in use: the store is locked by process \d+/);
      assert.match(second.stdout + second.stderr, /CKR_DEVICE_ERROR/);
    });

    it("a store path with spaces and a quote survives p11-kit's argv splitting", {
      skip,
    }, async () => {
      if (typeof tools === 'string') return;
      const odd = dir.file("my token's dir");
      mkdirSync(odd);
      const r = cli(['init-token', '--store', odd, '--label', 'odd one', '--so-pin', '87654321'], {
        cwd: dir.path,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(remoteCommandLine(odd), /'.*my token\\'s dir'/);
      const list = await run(tools.pkcs11Tool, ['--module', tools.client, '-L'], via(odd));
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /token label\s+: odd one/);
    });
  });
});
