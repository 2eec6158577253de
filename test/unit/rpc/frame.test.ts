import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CKR_DEVICE_ERROR } from '../../../src/pkcs11/constants.js';
import { encodeFrame, FrameDecoder } from '../../../src/rpc/frame.js';

const opts = new TextEncoder().encode('client');

describe('frames', () => {
  it('encodes serial, options length, body length big-endian, then options and body', () => {
    const f = encodeFrame(0x10, Uint8Array.of(0, 0, 0, 2, 0, 0, 0, 0), opts);
    assert.equal(
      Buffer.from(f).toString('hex'),
      `000000100000000600000008${Buffer.from(opts).toString('hex')}0000000200000000`,
    );
  });

  it('cuts a stream delivered one byte at a time, and several frames from one chunk', () => {
    const a = encodeFrame(0x10, Uint8Array.of(1, 2, 3), opts);
    const b = encodeFrame(0x11, new Uint8Array(0));
    const stream = Buffer.concat([a, b, a]);
    const d = new FrameDecoder();
    const frames = [...stream].flatMap((byte) => d.push(Uint8Array.of(byte)));
    assert.deepEqual(
      frames.map((f) => [f.serial, f.body.length, f.options.length]),
      [
        [0x10, 3, 6],
        [0x11, 0, 0],
        [0x10, 3, 6],
      ],
    );
    assert.equal(new FrameDecoder().push(stream).length, 3);
    assert.equal(d.buffered, 0);
  });

  it('refuses a header announcing more than the limits, before buffering the body → CKR_DEVICE_ERROR', () => {
    const big = new Uint8Array(12);
    new DataView(big.buffer).setUint32(8, 0xffff_ffff);
    assert.throws(() => new FrameDecoder({ maxBody: 1024, maxOptions: 64 }).push(big), {
      code: CKR_DEVICE_ERROR,
    });
    const longOptions = new Uint8Array(12);
    new DataView(longOptions.buffer).setUint32(4, 65);
    assert.throws(() => new FrameDecoder({ maxBody: 1024, maxOptions: 64 }).push(longOptions), {
      code: CKR_DEVICE_ERROR,
    });
  });

  it('copies a frame split across chunks; a frame whole in one chunk is a view of it', () => {
    const frame = encodeFrame(1, Uint8Array.of(9, 8, 7));
    const d = new FrameDecoder();
    assert.deepEqual(d.push(frame.subarray(0, 5)), []);
    const [split] = d.push(frame.subarray(5));
    frame.fill(0, 12);
    assert.deepEqual([...(split?.body ?? [])], [9, 8, 7]);
    const whole = encodeFrame(2, Uint8Array.of(5));
    const [view] = new FrameDecoder().push(whole);
    assert.equal(view?.body.buffer, whole.buffer);
  });

  it('keeps the tail of a chunk that holds one whole frame and part of the next', () => {
    const a = encodeFrame(1, Uint8Array.of(1));
    const b = encodeFrame(2, Uint8Array.of(2, 2));
    const both = Buffer.concat([a, b]);
    const d = new FrameDecoder();
    assert.deepEqual(
      d.push(both.subarray(0, a.length + 5)).map((f) => f.serial),
      [1],
    );
    assert.deepEqual(
      d.push(both.subarray(a.length + 5)).map((f) => [f.serial, f.body.length]),
      [[2, 2]],
    );
  });
});

describe('frames waiting to be admitted', () => {
  const frame = (serial: number, size: number) =>
    encodeFrame(serial, new Uint8Array(size).fill(serial));

  it('asks admit for a frame arriving in pieces, at its full length, before giving it a buffer', () => {
    const asked: number[] = [];
    let open = false;
    const d = new FrameDecoder(undefined, (n) => {
      asked.push(n);
      return open;
    });
    const a = frame(1, 100);
    const b = frame(2, 10);
    const stream = Buffer.concat([a, b]);
    assert.deepEqual(d.push(stream.subarray(0, 40)), []);
    assert.deepEqual(asked, [112]);
    assert.equal(d.waiting, 112);
    assert.equal(d.reserved, 0, 'no buffer yet');
    assert.equal(d.buffered, 40, 'what arrived is held');
    assert.deepEqual(d.push(stream.subarray(40, 60)), [], 'more bytes are held, not parsed');
    assert.equal(d.buffered, 60);
    assert.deepEqual(d.resume(), [], 'still refused');
    open = true;
    assert.deepEqual(d.resume(), []);
    assert.equal(d.reserved, 112);
    assert.equal(d.waiting, 0);
    const out = d.push(stream.subarray(60));
    assert.deepEqual(
      out.map((f) => [f.serial, f.body.length, f.body[0]]),
      [
        [1, 100, 1],
        [2, 10, 2],
      ],
    );
    assert.deepEqual(asked, [112, 112, 112], 'a frame whole in one chunk needs no admission');
    assert.equal(d.buffered, 0);
  });

  it('resume returns the frames the held bytes complete, and stops at the next one refused', () => {
    let open = false;
    const d = new FrameDecoder(undefined, () => open);
    const stream = Buffer.concat([frame(1, 30), frame(2, 30), frame(3, 5)]);
    d.push(stream.subarray(0, 20));
    d.push(stream.subarray(20, 60));
    open = true;
    const out = d.resume();
    assert.deepEqual(
      out.map((f) => f.serial),
      [1],
    );
    assert.equal(d.reserved, 42, 'the second frame was let in and is being filled');
    assert.deepEqual(
      d.push(stream.subarray(60)).map((f) => f.serial),
      [2, 3],
    );
  });

  it('clear drops every byte held', () => {
    const d = new FrameDecoder(undefined, () => false);
    d.push(frame(1, 50).subarray(0, 30));
    d.clear();
    assert.equal(d.buffered, 0);
    assert.equal(d.waiting, 0);
  });
});
