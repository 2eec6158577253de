import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import * as C from '../../../src/pkcs11/constants.js';
import { type BlockingIo, serveBlocking } from '../../../src/rpc/blocking.js';
import { CALL_ID } from '../../../src/rpc/calls.js';
import type { DispatchEvent } from '../../../src/rpc/dispatch.js';
import { encodeFrame, type Frame, FrameDecoder, HEADER_LENGTH } from '../../../src/rpc/frame.js';
import { type Arg, decodeMessage, encodeMessage } from '../../../src/rpc/message.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../../src/rpc/server.js';
import { HANDSHAKE } from './helpers/client.js';
import { FakeCryptoki, PRIVATE_KEY, SLOT } from './helpers/fake-cryptoki.js';

const ECDSA = { type: C.CKM_ECDSA, param: { form: 'none' as const } };

/** Requests as one byte string: the version byte, then one frame per call, serials from 0x10. */
function script(version: number, calls: [string, Arg[]][]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(version)];
  calls.forEach(([name, args], i) => {
    const body = encodeMessage(CALL_ID[name] as number, 'request', args, { version });
    parts.push(encodeFrame(0x10 + i, body, new TextEncoder().encode('client')));
  });
  return Buffer.concat(parts);
}

/** Blocking io over a byte string cut into reads of `cut` bytes, recording what was written. */
function io(input: Uint8Array, cut = input.length): BlockingIo & { out: Buffer[]; reads: number } {
  let at = 0;
  const out: Buffer[] = [];
  return {
    out,
    reads: 0,
    read(buf) {
      this.reads++;
      const n = Math.min(cut, buf.length, input.length - at);
      buf.set(input.subarray(at, at + n));
      at += n;
      return n;
    },
    write(bytes) {
      out.push(Buffer.from(bytes));
    },
  };
}

function replies(out: Buffer[]): { version: number; frames: Frame[] } {
  const all = Buffer.concat(out);
  const frames = new FrameDecoder().push(new Uint8Array(all.subarray(1)));
  return { version: all[0] as number, frames };
}

const rvOf = (f: Frame, version = 0) => {
  const { call, args } = decodeMessage(f.body, 'reply', { version });
  return call.id === 0 ? (args[0] as number) : C.CKR_OK;
};

const serve = (app: FakeCryptoki, s: BlockingIo, log?: (e: DispatchEvent) => void) =>
  serveBlocking(s, { app, limits: DEFAULT_CONNECTION_LIMITS, ...(log ? { log } : {}) });

describe('serveBlocking (corepkcs11 remote)', () => {
  it('answers min(client byte, 2) and speaks that version: 0 → 0, 1 → 1, 9 → 2', async () => {
    for (const [sent, got] of [
      [0, 0],
      [1, 1],
      [9, 2],
    ] as const) {
      const s = io(script(sent, [['C_GetSlotList', [1, 4]]]));
      await serve(new FakeCryptoki(), s);
      const r = replies(s.out);
      assert.equal(r.version, got);
      assert.equal(r.frames.length, 1);
    }
  });

  it('answers every request in order with its serial, however the bytes are cut into reads', async () => {
    const digest = createHash('sha256').update('x').digest();
    const input = script(0, [
      ['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]],
      ['C_OpenSession', [SLOT, 4]],
      ['C_SignInit', [0x11, ECDSA, PRIVATE_KEY]],
      ['C_Sign', [0x11, digest, 512]],
      ['C_GetSlotList', [1, 4]],
    ]);
    for (const cut of [1, 7, HEADER_LENGTH + 1, 4096]) {
      const app = new FakeCryptoki();
      const s = io(input, cut);
      await serve(app, s);
      const { frames } = replies(s.out);
      assert.deepEqual(
        frames.map((f) => f.serial),
        [0x10, 0x11, 0x12, 0x13, 0x14],
        `reads of ${cut} bytes`,
      );
      assert.deepEqual(
        frames.map((f) => rvOf(f)),
        [0, 0, 0, 0, 0],
      );
      const sig = decodeMessage(frames[3]!.body, 'reply', { version: 0 }).args[0] as Uint8Array;
      const key = { key: app.key.publicKey, dsaEncoding: 'ieee-p1363' as const };
      assert.ok(verify('sha256', Buffer.from('x'), key, sig), 'the signature verifies');
    }
  });

  it('uses the synchronous engine calls: one client has nothing to overlap', async () => {
    const app = new FakeCryptoki();
    app.signAsync = () => Promise.reject(new Error('the async form was used'));
    const s = io(
      script(0, [
        ['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]],
        ['C_OpenSession', [SLOT, 4]],
        ['C_SignInit', [0x11, ECDSA, PRIVATE_KEY]],
        ['C_Sign', [0x11, new Uint8Array(32), 512]],
      ]),
    );
    await serve(app, s);
    assert.equal(rvOf(replies(s.out).frames[3]!), C.CKR_OK);
  });

  it('finalizes an application left initialized when the stream ends, and only then', async () => {
    const open = new FakeCryptoki();
    await serve(open, io(script(0, [['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]]])));
    assert.equal(open.finalized, 1);
    const closed = new FakeCryptoki();
    await serve(
      closed,
      io(
        script(0, [
          ['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]],
          ['C_Finalize', []],
        ]),
      ),
    );
    assert.equal(closed.finalized, 1, 'C_Finalize, then EOF: not finalized twice');
  });

  it('a bad call id gets CKR_FUNCTION_NOT_SUPPORTED and the stream goes on', async () => {
    const bad = encodeFrame(0x10, Uint8Array.of(0, 0, 0x7f, 0x7f, 0, 0, 0, 0));
    const init = script(0, [['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]]]);
    const next = script(0, [['C_GetSlotList', [1, 4]]]).subarray(1);
    const s = io(Buffer.concat([init, bad, next]));
    const events: DispatchEvent[] = [];
    await serve(new FakeCryptoki(), s, (e) => events.push(e));
    const { frames } = replies(s.out);
    assert.equal(rvOf(frames[1]!), C.CKR_FUNCTION_NOT_SUPPORTED);
    assert.equal(rvOf(frames[2]!), C.CKR_OK);
    assert.match(events[0]?.detail ?? '', /unknown call id/);
  });

  it('a header announcing more than maxBody ends the stream, logged, without reading the body', async () => {
    const header = new Uint8Array(HEADER_LENGTH);
    new DataView(header.buffer).setUint32(0, 0x10);
    new DataView(header.buffer).setUint32(8, DEFAULT_CONNECTION_LIMITS.maxBody + 1);
    const app = new FakeCryptoki();
    const init = script(0, [['C_Initialize', [HANDSHAKE, 0, new Uint8Array(1)]]]);
    const s = io(Buffer.concat([init, header, new Uint8Array(100)]), init.length);
    const events: DispatchEvent[] = [];
    await serve(app, s, (e) => events.push(e));
    assert.equal(replies(s.out).frames.length, 1, 'only C_Initialize answered');
    assert.equal(s.reads, 2, 'nothing read after the bad header');
    assert.equal(app.finalized, 1);
    assert.match(events.at(-1)?.detail ?? '', /exceeds/);
  });

  it('an empty stream ends at once with nothing written', async () => {
    const s = io(new Uint8Array(0));
    await serve(new FakeCryptoki(), s);
    assert.equal(s.out.length, 0);
  });
});
