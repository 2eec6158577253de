/**
 * One directory store used at once by worker threads, child processes, real CLI commands
 * (`corepkcs11 keygen/sign/list/delete`) and a `corepkcs11 serve` server with an RPC client: creates,
 * finds, signs and destroys from all of them. At the end the store is opened afresh and must hold
 * exactly what every actor reports it created and did not destroy — nothing lost, duplicated or torn,
 * no damaged or orphan record. Every child runs under a watchdog that kills it and fails the test
 * (a deadlock shows as a timeout, not as slowness).
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { createFilePal } from '../../src/adapters/pal-file/index.js';
import type { Handle } from '../../src/api/convert.js';
import { PKCS11 } from '../../src/api/pkcs11.js';
import * as C from '../../src/pkcs11/constants.js';
import type { WireAttribute } from '../../src/rpc/attributes.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { EC_PARAMS, publicKeyOf } from '../helpers/keys.js';
import { attr, findAll } from '../helpers/material.js';
import { SO_PIN, USER_PIN } from '../helpers/token.js';
import { HANDSHAKE, RpcClient } from '../unit/rpc/helpers/client.js';
import type { ActorReport } from './actors/store-actor.js';
import { contentOf } from './actors/store-actor.js';

const ACTOR = fileURLToPath(new URL('./actors/store-actor.js', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** A child still running after this long is deadlocked (the whole test takes a few seconds). */
const WATCHDOG_MS = 90_000;
const ROUNDS = 60;

const work = mkdtempSync(join(tmpdir(), 'corepkcs11-procs-'));
const dir = join(work, 'store');
after(() => rmSync(work, { recursive: true, force: true }));

function open(warn: (m: string) => void = () => {}): PKCS11 {
  const p = new PKCS11();
  p.attach(
    new Application(
      new Token(createFilePal(dir), createNodeCrypto(), {
        pinIterations: 10,
        allowWeakPinIterations: true,
        warn,
      }),
    ),
  );
  p.C_Initialize();
  return p;
}

/** Runs a command to its end under the watchdog. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, COREPKCS11_PIN: USER_PIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const dog = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`watchdog: ${args.slice(1, 3).join(' ')} still running after ${WATCHDOG_MS} ms`),
      );
    }, WATCHDOG_MS);
    child.on('close', (code) => {
      clearTimeout(dog);
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
}

async function cli(...args: string[]): Promise<string> {
  const r = await run([CLI, ...args, '--store', dir]);
  assert.equal(r.code, 0, `corepkcs11 ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function workerActor(name: string): Promise<ActorReport> {
  return new Promise((resolve, reject) => {
    const w = new Worker(ACTOR, {
      workerData: { actor: { dir, name, rounds: ROUNDS, pin: USER_PIN } },
    });
    const dog = setTimeout(() => {
      void w.terminate();
      reject(new Error(`watchdog: worker ${name} still running after ${WATCHDOG_MS} ms`));
    }, WATCHDOG_MS);
    w.once('message', (r: ActorReport) => resolve(r));
    w.once('error', reject);
    w.once('exit', () => clearTimeout(dog));
  });
}

async function processActor(name: string): Promise<ActorReport> {
  const r = await run([ACTOR, dir, name, String(ROUNDS), USER_PIN]);
  assert.equal(r.code, 0, `${name}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as ActorReport;
}

/** keygen, sign, list and delete through the CLI, one command after the other. */
async function cliActor(): Promise<ActorReport> {
  const report: ActorReport = {
    name: 'cli',
    created: [],
    destroyed: [],
    signatures: 0,
    warnings: [],
  };
  const message = join(work, 'message');
  writeFileSync(message, 'signed by the CLI');
  const started = Date.now();
  for (let r = 0; r < 5; r++) {
    const label = `cli-${r}`;
    await cli('keygen', '--label', label, '-o', join(work, `${label}.pem`));
    report.created.push(label, label);
    await cli('sign', '--label', 'shared', '-i', message, '-o', join(work, `${label}.sig`));
    report.signatures++;
    const listed = await cli('list', '--label', label, '--json');
    assert.match(listed, new RegExp(`"${label}"`));
    if (r % 2 === 1) {
      await cli('delete', '--label', `cli-${r - 1}`, '--all');
      report.destroyed.push(`cli-${r - 1}`, `cli-${r - 1}`);
    }
  }
  report.span = [started, Date.now()];
  return report;
}

const ulongAttr = (type: number, v: number): WireAttribute => ({
  type,
  length: 8,
  value: { kind: 'ulong', value: BigInt(v) },
});
const bytesAttr = (type: number, v: Uint8Array): WireAttribute => ({
  type,
  length: v.length,
  value: { kind: 'bytes', value: v },
});
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A `corepkcs11 serve` process over the store and a client doing the actors' round over RPC. */
async function rpcActor(pub: ReturnType<typeof publicKeyOf>): Promise<ActorReport> {
  const socket = join(work, 'rpc.sock');
  const server = spawn(process.execPath, [CLI, 'serve', '--store', dir, '--socket', socket, '-q'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number>((r) => server.on('close', (c) => r(c ?? 128)));
  const dog = setTimeout(() => server.kill('SIGKILL'), WATCHDOG_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('P11_KIT_SERVER_PID')) resolve();
      });
      void exited.then(() => reject(new Error('serve exited before listening')));
    });
    const c = await RpcClient.open(socket);
    const ok = async (name: string, args: Parameters<RpcClient['call']>[1], mech?: number) => {
      const r = await c.call(name, args, mech);
      assert.equal(r.rv, 0, `${name} over RPC → ${r.rv}`);
      return r.args;
    };
    const find = async (s: number, t: WireAttribute[]) => {
      await ok('C_FindObjectsInit', [s, t]);
      const [found] = await ok('C_FindObjects', [s, 100]);
      await ok('C_FindObjectsFinal', [s]);
      return found as number[];
    };
    await ok('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]);
    const [slots] = await ok('C_GetSlotList', [1, 8]);
    const [s] = (await ok('C_OpenSession', [(slots as number[])[0] as number, 6])) as [number];
    await ok('C_Login', [s, C.CKU_USER, utf8(USER_PIN)]);
    const [key] = await find(s, [
      ulongAttr(C.CKA_CLASS, C.CKO_PRIVATE_KEY),
      bytesAttr(C.CKA_LABEL, utf8('shared')),
    ]);
    const report: ActorReport = {
      name: 'rpc',
      created: [],
      destroyed: [],
      signatures: 0,
      warnings: [],
    };
    const kept: { label: string; h: number }[] = [];
    const started = Date.now();
    for (let r = 0; r < ROUNDS; r++) {
      const label = `rpc-${r}`;
      const [h] = (await ok('C_CreateObject', [
        s,
        [
          ulongAttr(C.CKA_CLASS, C.CKO_DATA),
          { type: C.CKA_TOKEN, length: 1, value: { kind: 'byte', value: 1 } },
          bytesAttr(C.CKA_LABEL, utf8(label)),
          bytesAttr(C.CKA_VALUE, contentOf(label)),
        ],
      ])) as [number];
      report.created.push(label);
      kept.push({ label, h });
      assert.deepEqual(await find(s, [bytesAttr(C.CKA_LABEL, utf8(label))]), [h]);
      const message = randomBytes(24);
      const digest = createHash('sha256').update(message).digest();
      await ok('C_SignInit', [s, { type: C.CKM_ECDSA, param: { form: 'none' } }, key as number]);
      const [sig] = await ok('C_Sign', [s, digest, 64], C.CKM_ECDSA);
      assert.ok(
        verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig as Uint8Array),
      );
      report.signatures++;
      if (r % 2 === 1) {
        const gone = kept.shift() as { label: string; h: number };
        await ok('C_DestroyObject', [s, gone.h]);
        report.destroyed.push(gone.label);
      }
    }
    report.span = [started, Date.now()];
    await ok('C_Finalize', []);
    c.close();
    return report;
  } finally {
    server.kill('SIGTERM');
    assert.equal(await exited, 0, 'serve ends cleanly on SIGTERM');
    clearTimeout(dog);
  }
}

describe('one directory store used by workers, processes, the CLI and an RPC server at once', () => {
  it('holds exactly what every actor kept: nothing lost, duplicated, torn or left behind', {
    timeout: 3 * WATCHDOG_MS,
  }, async () => {
    const setup = open();
    const slot = setup.C_GetSlotList(true)[0] as Handle;
    setup.C_InitToken(slot, SO_PIN, 'many');
    const s = setup.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
    setup.C_Login(s, C.CKU_SO, SO_PIN);
    setup.C_InitPIN(s, USER_PIN);
    setup.C_Logout(s);
    setup.C_Login(s, C.CKU_USER, USER_PIN);
    const { publicKey } = setup.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_LABEL, value: 'shared' },
        { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
      ],
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_LABEL, value: 'shared' },
        { type: C.CKA_SIGN, value: true },
      ],
    );
    const pub = publicKeyOf(setup, s, publicKey);
    setup.C_Finalize();

    const reports = await Promise.all([
      workerActor('worker-a'),
      workerActor('worker-b'),
      workerActor('worker-c'),
      processActor('process-a'),
      processActor('process-b'),
      cliActor(),
      rpcActor(pub),
    ]);

    const t0 = Math.min(...reports.map((r) => r.span?.[0] ?? Number.POSITIVE_INFINITY));
    for (const r of reports) {
      const [a, b] = (r.span ?? [t0, t0]).map((t) => t - t0);
      console.log(
        `${r.name}: ${r.created.length} created, ${r.destroyed.length} destroyed, ${r.signatures} signatures, ms ${a}–${b}`,
      );
    }
    const expected = ['shared', 'shared'];
    for (const r of reports) {
      assert.deepEqual(r.warnings, [], `${r.name} saw no damaged record`);
      const left = [...r.created];
      for (const d of r.destroyed) left.splice(left.indexOf(d), 1);
      expected.push(...left);
    }
    const warnings: string[] = [];
    const fresh = open((m) => warnings.push(m));
    const fs = fresh.C_OpenSession(slot, C.CKF_SERIAL_SESSION);
    fresh.C_Login(fs, C.CKU_USER, USER_PIN);
    const handles = findAll(fresh, fs, []);
    const labels = handles.map((h) => attr(fresh, fs, h, C.CKA_LABEL).toString('utf8'));
    assert.deepEqual(
      [...labels].sort(),
      expected.sort(),
      'the objects every actor kept, each once',
    );
    for (const [i, h] of handles.entries()) {
      const label = labels[i] as string;
      if (/^(worker|process|rpc)-/.test(label))
        assert.deepEqual(attr(fresh, fs, h, C.CKA_VALUE), contentOf(label), `${label} whole`);
    }
    assert.deepEqual(warnings, [], 'no damaged record');
    const records = readdirSync(dir).filter((f) => f.startsWith('o-corepkcs11.obj.'));
    assert.equal(records.length, handles.length, 'no orphan record');
    assert.equal(
      reports.reduce((n, r) => n + r.signatures, 0),
      5 * ROUNDS + 5 + ROUNDS,
    );
  });
});
