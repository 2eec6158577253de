import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import { encodeFrame } from '../../../src/rpc/frame.js';
import { decodeMessage, encodeMessage } from '../../../src/rpc/message.js';
import { HANDSHAKE, RawClient, RpcClient } from './helpers/client.js';
import { PRIVATE_KEY, SLOT } from './helpers/fake-cryptoki.js';
import { type FakeServer, fakeServer } from './helpers/serve.js';

const ECDSA = { type: C.CKM_ECDSA, param: { form: 'none' as const } };
const digest = createHash('sha256').update('x').digest();
const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
};

describe('RPC connections', () => {
  let s: FakeServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it('negotiates min(client byte, 2): 0 → 0, 1 → 1, 2 → 2, 9 → 2; a server capped at 0 answers 0', async () => {
    s = await fakeServer();
    for (const [sent, got] of [
      [0, 0],
      [1, 1],
      [2, 2],
      [9, 2],
    ]) {
      const c = await s.open(sent);
      assert.equal(c.version, got);
      c.close();
    }
    const capped = await fakeServer({}, { maxProtocolVersion: 0 });
    const c = await capped.open(2);
    assert.equal(c.version, 0);
    c.close();
    await capped.stop();
  });

  it('answers pipelined requests in order, each with its own serial', async () => {
    s = await fakeServer({ signDelayMs: 30 });
    const { client, session } = await s.session();
    await client.call('C_SignInit', [session, ECDSA, PRIVATE_KEY]);
    const serials = [
      client.send('C_Sign', [session, digest, 512]),
      client.send('C_GetSlotList', [1, 4]),
      client.send('C_GetSessionInfo', [session]),
    ];
    const frames = [await client.next(), await client.next(), await client.next()];
    assert.deepEqual(
      frames.map((f) => f.serial),
      serials,
    );
    const sig = decodeMessage(frames[0]!.body, 'reply', { version: 0 }).args[0] as Uint8Array;
    assert.equal(sig.length, 64);
    client.close();
  });

  it('gives every connection its own application; closing one finalizes only that one', async () => {
    s = await fakeServer();
    const a = await s.session();
    const b = await s.session();
    assert.equal(s.apps.length, 2);
    assert.notEqual(s.apps[0], s.apps[1]);
    a.client.close();
    await until(() => s!.apps[0]!.finalized === 1, 'first application finalized on EOF');
    assert.equal(s.apps[1]!.finalized, 0);
    assert.equal((await b.client.call('C_GetSessionInfo', [b.session])).rv, 0);
    b.client.close();
  });

  it('after C_Finalize, closing the connection does not finalize again', async () => {
    s = await fakeServer();
    const { client } = await s.session();
    assert.equal((await client.call('C_Finalize', [])).rv, 0);
    client.close();
    await client.raw.closed;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.apps[0]!.finalized, 1);
  });

  it('a client killed during a slow operation: the operation ends, then its application is finalized', async () => {
    s = await fakeServer({ signDelayMs: 50 });
    const { client, session } = await s.session();
    await client.call('C_SignInit', [session, ECDSA, PRIVATE_KEY]);
    client.send('C_Sign', [session, digest, 512]);
    await new Promise((r) => setTimeout(r, 10));
    client.raw.socket.destroy();
    await until(() => s!.apps[0]!.finalized === 1, 'finalized after the pending sign');
    assert.ok(s.apps[0]!.calls.indexOf('sign') < s.apps[0]!.calls.indexOf('finalize'));
    const next = await s.session();
    assert.equal((await next.client.call('C_GetSessionInfo', [next.session])).rv, 0);
    next.client.close();
  });

  it('closes a connection whose frame header announces more than the limit; others keep working', async () => {
    s = await fakeServer({}, { limits: { maxBody: 1024 } });
    const good = await s.session();
    const bad = await RawClient.open(s.path);
    bad.write(Uint8Array.of(0));
    const header = new Uint8Array(12);
    new DataView(header.buffer).setUint32(0, 0x10);
    new DataView(header.buffer).setUint32(8, 0x4000_0000);
    bad.write(header);
    await bad.closed;
    assert.equal((await good.client.call('C_GetSlotList', [1, 4])).rv, 0);
    good.client.close();
  });

  it('refuses connections beyond maxConnections and keeps serving the others', async () => {
    s = await fakeServer({}, { maxConnections: 4 });
    const clients = await Promise.all(Array.from({ length: 4 }, () => s!.session()));
    const extra = await RawClient.open(s.path);
    await extra.closed;
    assert.equal(s.server.connections, 4);
    for (const c of clients) assert.equal((await c.client.call('C_GetSlotList', [1, 4])).rv, 0);
    for (const c of clients) c.client.close();
  });

  it('survives a flood of 200 connections opened and dropped at once', async () => {
    s = await fakeServer();
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const c = await RawClient.open(s!.path);
        if (i % 2) c.write(Uint8Array.of(0, 0, 0));
        c.socket.destroy();
      }),
    );
    await until(() => s!.server.connections === 0, 'all flood connections closed');
    const ok = await s.session();
    assert.equal((await ok.client.call('C_GetSlotInfo', [SLOT])).rv, 0);
    ok.client.close();
  });

  it('answers 500 pipelined requests in order (reading pauses while the queue is full)', async () => {
    s = await fakeServer({}, { limits: { maxQueuedFrames: 8 } });
    const client = await RpcClient.open(s.path);
    const init = encodeMessage(1, 'request', [HANDSHAKE, 0, new Uint8Array(1)], { version: 0 });
    const info = encodeMessage(5, 'request', [SLOT], { version: 0 });
    const frames = [
      encodeFrame(1, init),
      ...Array.from({ length: 500 }, (_, i) => encodeFrame(i + 2, info)),
    ];
    client.raw.write(Buffer.concat(frames));
    for (let i = 1; i <= 501; i++) assert.equal((await client.next()).serial, i);
    client.close();
  });

  it('closes every connection and finalizes its application on server close', async () => {
    s = await fakeServer();
    const { client } = await s.session();
    await s.server.close();
    await client.raw.closed;
    assert.equal(s.apps[0]!.finalized, 1);
  });
});
