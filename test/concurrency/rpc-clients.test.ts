/**
 * The RPC server over a real token under many clients at once: dozens of connections with pipelined
 * calls in flight each get their own correct answers; clients making a few round trips are served
 * while another floods the server; connections beyond maxConnections are closed and logged while the
 * others keep working; and the bytes the server holds stay bounded when a client sends a huge declared
 * length or sends requests without reading its replies. A hang fails through the test timeouts.
 * @module
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createNodeCrypto } from '../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../src/adapters/pal-memory/index.js';
import * as C from '../../src/pkcs11/constants.js';
import type { WireAttribute } from '../../src/rpc/attributes.js';
import { CALL_ID } from '../../src/rpc/calls.js';
import { encodeFrame, FrameDecoder } from '../../src/rpc/frame.js';
import { decodeMessage, encodeMessage } from '../../src/rpc/message.js';
import { type RpcServer, type RpcServerOptions, startRpcServer } from '../../src/rpc/server.js';
import { Application } from '../../src/token/application.js';
import { Token } from '../../src/token/token.js';
import { utf8 } from '../../src/util/bytes.js';
import { EC_PARAMS } from '../helpers/keys.js';
import { HANDSHAKE, RawClient, RpcClient, socketDir } from '../unit/rpc/helpers/client.js';

const SO = utf8('87654321');
const PIN = utf8('1234');
const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
const ECDSA = { type: C.CKM_ECDSA, param: { form: 'none' as const } };
const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
};

/** A token with a user PIN and one EC key pair labelled 'shared'; returns its public key. */
function provisionedToken() {
  const token = new Token(createMemoryPal(), createNodeCrypto(), {
    pinIterations: 10,
    allowWeakPinIterations: true,
    warn: () => {},
  });
  const app = new Application(token);
  app.initialize();
  app.initToken(1, SO, new Uint8Array(32).fill(0x20));
  const s = app.openSession(1, RW);
  app.login(s, C.CKU_SO, SO);
  app.initPin(s, PIN);
  app.logout(s);
  app.login(s, C.CKU_USER, PIN);
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  const bool = Uint8Array.of(1);
  const ulong = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, v, true);
    return b;
  };
  app.createObject(s, [
    { type: C.CKA_CLASS, value: ulong(C.CKO_PRIVATE_KEY) },
    { type: C.CKA_KEY_TYPE, value: ulong(C.CKK_EC) },
    { type: C.CKA_TOKEN, value: bool },
    { type: C.CKA_SIGN, value: bool },
    { type: C.CKA_LABEL, value: utf8('shared') },
    { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
    { type: C.CKA_VALUE, value: Buffer.from(jwk.d as string, 'base64url') },
  ]);
  app.finalize();
  return { token, publicKey: pair.publicKey };
}

interface Served {
  server: RpcServer;
  path: string;
  events: string[];
  stop(): Promise<void>;
}

async function serve(token: Token, options: Partial<RpcServerOptions> = {}): Promise<Served> {
  const dir = socketDir();
  const events: string[] = [];
  const server = await startRpcServer({
    socketPath: dir.path,
    createApplication: () => new Application(token),
    log: (e) => {
      if (e.call === 'accept' || e.call === 'frame') events.push(`${e.call}: ${e.detail}`);
    },
    ...options,
  });
  return {
    server,
    path: dir.path,
    events,
    async stop() {
      await server.close();
      dir.cleanup();
    },
  };
}

const label = (v: string): WireAttribute => ({
  type: C.CKA_LABEL,
  length: v.length,
  value: { kind: 'bytes', value: utf8(v) },
});

/** Connects, initializes, opens `sessions` R/W sessions, logs in; returns the shared key's handle. */
async function connect(path: string, sessions = 1) {
  const c = await RpcClient.open(path);
  const ok = async (name: string, args: Parameters<RpcClient['call']>[1], mech?: number) => {
    const r = await c.call(name, args, mech);
    assert.equal(r.rv, 0, `${name} → 0x${r.rv.toString(16)}`);
    return r.args;
  };
  await ok('C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]);
  const s: number[] = [];
  for (let i = 0; i < sessions; i++) s.push((await ok('C_OpenSession', [1, RW]))[0] as number);
  await ok('C_Login', [s[0] as number, C.CKU_USER, PIN]);
  await ok('C_FindObjectsInit', [s[0] as number, [label('shared')]]);
  const [[key]] = (await ok('C_FindObjects', [s[0] as number, 4])) as [number[]];
  await ok('C_FindObjectsFinal', [s[0] as number]);
  return { c, s, key: key as number, ok };
}

/** Decodes the reply frames of pipelined calls: `{ rv }` for an error, `{ args }` otherwise. */
async function replies(c: RpcClient, mechanisms: (number | undefined)[]) {
  const out: { rv: number; args: unknown[] }[] = [];
  for (const mechanism of mechanisms) {
    const f = await c.next();
    const ctx =
      mechanism === undefined ? { version: c.version } : { version: c.version, mechanism };
    const { call, args } = decodeMessage(f.body, 'reply', ctx);
    out.push(call.id === 0 ? { rv: args[0] as number, args: [] } : { rv: 0, args });
  }
  return out;
}

describe('RPC server over a real token under many clients', () => {
  let token: Token;
  let publicKey: ReturnType<typeof provisionedToken>['publicKey'];
  let served: Served | undefined;
  before(() => {
    ({ token, publicKey } = provisionedToken());
  });
  after(async () => {
    await served?.stop();
  });

  it('48 connections with pipelined signs, digests and random calls in flight each get their own right answers', {
    timeout: 60_000,
  }, async () => {
    served = await serve(token);
    const path = served.path;
    await Promise.all(
      Array.from({ length: 48 }, async (_, i) => {
        const { c, s, key } = await connect(path, 2);
        const [s1, s2] = s as [number, number];
        const messages = Array.from({ length: 6 }, () => randomBytes(20));
        const mechs: (number | undefined)[] = [];
        for (const [k, m] of messages.entries()) {
          c.send('C_SignInit', [s1, ECDSA, key]);
          c.send('C_Sign', [s1, createHash('sha256').update(m).digest(), 64]);
          c.send('C_DigestInit', [s2, { type: C.CKM_SHA256, param: { form: 'none' } }]);
          c.send('C_Digest', [s2, m, 32]);
          c.send('C_GenerateRandom', [s2, 8 + i + k]);
          mechs.push(undefined, C.CKM_ECDSA, undefined, C.CKM_SHA256, undefined);
        }
        const got = await replies(c, mechs);
        for (const [k, m] of messages.entries()) {
          const [init, sign, dinit, digest, random] = got.slice(5 * k, 5 * k + 5);
          for (const r of [init, sign, dinit, digest, random]) assert.equal(r?.rv, 0);
          const sig = sign?.args[0] as Uint8Array;
          assert.ok(verify('sha256', m, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig));
          assert.deepEqual(
            Buffer.from(digest?.args[0] as Uint8Array),
            createHash('sha256').update(m).digest(),
          );
          assert.equal((random?.args[0] as Uint8Array | undefined)?.length, 8 + i + k, 'its own');
        }
        c.close();
      }),
    );
    await until(() => served?.server.connections === 0, 'every connection closed');
    await served.stop();
    served = undefined;
  });

  it('clients making round trips are served while another client floods the server', {
    timeout: 60_000,
  }, async () => {
    served = await serve(token);
    const path = served.path;
    const greedy = await connect(path);
    let flooding = true;
    let greedyReplies = 0;
    // Keeps 256 cheap requests in flight until the others are done.
    const flood = (async () => {
      const inFlight = 256;
      for (let i = 0; i < inFlight; i++)
        greedy.c.send('C_GenerateRandom', [greedy.s[0] as number, 64]);
      while (flooding) {
        await greedy.c.next();
        greedyReplies++;
        greedy.c.send('C_GenerateRandom', [greedy.s[0] as number, 64]);
      }
    })();
    await until(() => greedyReplies > 256, 'the flood is running');
    const before = greedyReplies;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        const { c, s, ok } = await connect(path);
        for (let r = 0; r < 20; r++) {
          const [bytes] = await ok('C_GenerateRandom', [s[0] as number, 16 + r]);
          assert.equal((bytes as Uint8Array).length, 16 + r);
        }
        c.close();
      }),
    );
    assert.ok(greedyReplies > before, 'the flooding client was served meanwhile too');
    flooding = false;
    await flood;
    greedy.c.close();
    await served.stop();
    served = undefined;
  });

  it('connections beyond maxConnections are closed and logged; the others keep working', {
    timeout: 30_000,
  }, async () => {
    served = await serve(token, { maxConnections: 8 });
    const { path, server, events } = served;
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(path)));
    const extra = await Promise.all(Array.from({ length: 4 }, () => RawClient.open(path)));
    await Promise.all(extra.map((e) => e.closed));
    assert.equal(server.connections, 8);
    assert.equal(events.filter((e) => /too many connections .*maxConnections 8/.test(e)).length, 4);
    for (const { s, ok } of clients) await ok('C_GetSessionInfo', [s[0] as number]);
    clients[0]?.c.close();
    await until(() => server.connections === 7, 'a closed connection frees its place');
    const again = await connect(path);
    await again.ok('C_GetSessionInfo', [again.s[0] as number]);
    for (const { c } of [...clients.slice(1), again]) c.close();
    await served.stop();
    served = undefined;
  });

  it('holds a bounded number of bytes for a client that never reads its replies or declares a huge frame', {
    timeout: 60_000,
  }, async () => {
    const limits = {
      maxBody: 256 * 1024,
      maxOutput: 256 * 1024,
      maxQueuedBytes: 512 * 1024,
      maxPendingWrite: 512 * 1024,
    };
    served = await serve(token, { limits });
    const { path, server, events } = served;
    // What one connection may hold: a partial frame, the queue, the unsent replies and one more reply.
    const bound =
      limits.maxBody +
      64 * 1024 +
      limits.maxQueuedBytes +
      limits.maxPendingWrite +
      limits.maxOutput +
      4096;

    const huge = await RawClient.open(path);
    huge.write(Uint8Array.of(0));
    const header = new Uint8Array(12);
    new DataView(header.buffer).setUint32(8, 0xffff_fff0);
    huge.write(header);
    await huge.closed;
    assert.ok(
      events.some((e) => /frame: .*exceeds/.test(e)),
      'the huge frame is logged',
    );

    const { c, s } = await connect(path);
    const frame = (name: string, args: Parameters<RpcClient['call']>[1]) =>
      encodeFrame(
        0,
        encodeMessage(CALL_ID[name] as number, 'request', args, { version: c.version }),
      );
    const request = frame('C_GenerateRandom', [s[0] as number, 200 * 1024]);
    const seed = frame('C_SeedRandom', [s[0] as number, new Uint8Array(200 * 1024)]);
    // Before the fix every wait for 'drain' left a 'close' listener behind (MaxListenersExceededWarning).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    // 60 requests of 200 KiB out and 60 of 200 KiB in: ~24 MiB if nothing pushed back.
    const N = 60;
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, server.bufferedBytes);
    }, 2);
    c.raw.socket.pause();
    for (let i = 0; i < N; i++) {
      c.raw.write(request);
      c.raw.write(seed);
    }
    await new Promise((r) => setTimeout(r, 300));
    peak = Math.max(peak, server.bufferedBytes);
    assert.ok(peak > limits.maxPendingWrite, `the server did buffer (${peak} bytes)`);
    assert.ok(peak <= bound, `server held ${peak} bytes for one connection, bound ${bound}`);
    // Now read: every reply arrives, in order, whole (read straight off the socket: 24 MiB).
    const decoder = new FrameDecoder({ maxBody: 1 << 20, maxOptions: 0 });
    const lengths: number[] = [];
    const all = new Promise<void>((resolve) => {
      c.raw.socket.on('data', (b: Buffer) => {
        for (const f of decoder.push(new Uint8Array(b.buffer, b.byteOffset, b.length))) {
          const { call, args } = decodeMessage(f.body, 'reply', { version: c.version });
          lengths.push(
            // C_SeedRandom's reply has no argument; C_GenerateRandom's carries the bytes
            call.id === 0
              ? -(args[0] as number)
              : ((args[0] as Uint8Array | undefined)?.length ?? 0),
          );
          if (lengths.length === 2 * N) resolve();
        }
      });
    });
    c.raw.socket.resume();
    await all;
    for (let i = 0; i < 2 * N; i += 2) assert.equal(lengths[i], 200 * 1024, `reply ${i} whole`);
    clearInterval(sample);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(warnings, [], 'no listener piled up on the connection');
    c.close();
    await served.stop();
    served = undefined;
  });
});
