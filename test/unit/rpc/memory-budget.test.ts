import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CALL_ID } from '../../../src/rpc/calls.js';
import { encodeFrame } from '../../../src/rpc/frame.js';
import { encodeMessage } from '../../../src/rpc/message.js';
import type { ServerEvent } from '../../../src/rpc/server.js';
import { RawClient } from './helpers/client.js';
import { type FakeServer, fakeServer } from './helpers/serve.js';

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
};

/** Version byte plus a C_SeedRandom request of `size` seed bytes (any request would do). */
function request(serial: number, size: number): Uint8Array {
  const body = encodeMessage(CALL_ID.C_SeedRandom as number, 'request', [1, new Uint8Array(size)], {
    version: 0,
  });
  return Buffer.concat([Uint8Array.of(0), encodeFrame(serial, body)]);
}

describe('RPC memory budget (maxBufferedBytes)', () => {
  let s: FakeServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it('a request in pieces that would pass the budget waits, logged, until another connection gives bytes back', async () => {
    const events: ServerEvent[] = [];
    s = await fakeServer({}, { maxBufferedBytes: 1000, log: (e) => events.push(e) });
    const a = request(0x10, 600);
    const b = request(0x10, 600);
    const first = await RawClient.open(s.path);
    first.write(a.subarray(0, 200));
    await until(
      () => s!.server.budgetedBytes >= a.length - 1,
      'the first request is counted at its full length',
    );
    const second = await RawClient.open(s.path);
    second.write(b.subarray(0, 200));
    await until(() => s!.server.waiting === 1, 'the second one waits');
    const log = events.find((e) => e.call === 'memory');
    assert.match(
      log?.detail ?? '',
      /a \d+-byte request waits: \d+ of the 1000-byte memory budget in use/,
    );
    assert.ok(s.server.bufferedBytes <= 400 + 2, 'nothing beyond what arrived is held');
    second.write(b.subarray(200));
    first.close();
    await until(() => s!.server.waiting === 0, 'let in once the first connection left');
    await second.waitFor(1 + 12);
    assert.equal(second.received.readUInt32BE(1), 0x10, 'the waiting request was answered');
    second.close();
    await until(() => s!.server.connections === 0, 'both closed');
    assert.equal(s.server.budgetedBytes, 0, 'every byte given back');
    assert.equal(s.server.bufferedBytes, 0);
  });

  it('a connection closed while its request waits leaves the queue; the next one gets in', async () => {
    s = await fakeServer({}, { maxBufferedBytes: 1000 });
    const holder = await RawClient.open(s.path);
    holder.write(request(0x10, 900).subarray(0, 100));
    await until(() => s!.server.budgetedBytes > 900, 'holder admitted');
    const quitter = await RawClient.open(s.path);
    quitter.write(request(0x10, 500).subarray(0, 100));
    const patient = await RawClient.open(s.path);
    patient.write(request(0x10, 50).subarray(0, 30));
    await until(() => s!.server.waiting === 2, 'two waiting');
    quitter.close();
    await until(() => s!.server.waiting === 1, 'the quitter left the queue');
    holder.close();
    await until(() => s!.server.waiting === 0, 'the patient one got in');
    patient.close();
  });
});
