/**
 * Suite `rpc`: the p11-kit RPC decoders, beside test/unit/rpc/fuzz.test.ts (which drives mutated
 * captures through the dispatcher and a live server). Here: the frame decoder cuts any stream of
 * frames, split anywhere, into exactly those frames and refuses an oversized header before buffering
 * its body; and the message codec decodes any mutated request or reply body (every protocol version)
 * to arguments that re-encode and decode to the same arguments, or refuses it with a Pkcs11Error.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPkcs11Error } from '../../../src/errors.js';
import * as C from '../../../src/pkcs11/constants.js';
import { encodeFrame, FrameDecoder, HEADER_LENGTH } from '../../../src/rpc/frame.js';
import {
  type Arg,
  type Direction,
  decodeMessage,
  encodeMessage,
} from '../../../src/rpc/message.js';
import { loadCaptures } from '../../unit/rpc/helpers/captures.js';
import { progress } from '../harness/progress.js';
import { runProperties, type SuiteOptions, type SuiteResult, Tally } from '../harness/suite.js';
import { mutated } from '../support/mutate.js';

const LIMITS = { maxBody: 4096, maxOptions: 64 };

const frame = fc.record({
  serial: fc.nat({ max: 0xffffffff }),
  options: fc.uint8Array({ maxLength: LIMITS.maxOptions }),
  body: fc.uint8Array({ maxLength: 600 }),
});

/** Cut points: sizes of the chunks the stream arrives in (0 = an empty read). */
const cuts = fc.array(fc.oneof(fc.nat(16), fc.nat(700), fc.constant(0)), { maxLength: 40 });

function split(stream: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= stream.length) break;
    // A fresh buffer per read, as a socket hands them out.
    chunks.push(stream.slice(at, at + n));
    at += n;
  }
  if (at < stream.length) chunks.push(stream.slice(at));
  return chunks;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Args as comparable data (bigint, typed arrays and objects flattened). */
function normal(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${hex(v)}`;
  if (typeof v === 'bigint') return `big:${v}`;
  if (Array.isArray(v)) return v.map(normal);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normal(x)]));
  return v;
}

export async function rpcSuite(options: SuiteOptions): Promise<SuiteResult> {
  const tally = new Tally();
  const frames = fc.property(fc.array(frame, { maxLength: 8 }), cuts, (list, sizes) => {
    progress('rpc: frame stream');
    tally.add('streams');
    const stream = Buffer.concat(list.map((f) => encodeFrame(f.serial, f.body, f.options)));
    const decoder = new FrameDecoder(LIMITS);
    const got = split(stream, sizes).flatMap((c) => decoder.push(c));
    assert.deepEqual(
      got.map((f) => [f.serial, hex(f.options), hex(f.body)]),
      list.map((f) => [f.serial, hex(f.options), hex(f.body)]),
    );
    assert.equal(decoder.buffered, 0);
  });
  const oversized = fc.property(
    fc.array(frame, { maxLength: 4 }),
    fc.record({
      options: fc.oneof(
        fc.nat(LIMITS.maxOptions),
        fc.integer({ min: LIMITS.maxOptions + 1, max: 0xffffffff }),
      ),
      body: fc.oneof(
        fc.nat(LIMITS.maxBody),
        fc.integer({ min: LIMITS.maxBody + 1, max: 0xffffffff }),
      ),
    }),
    cuts,
    (before, head, sizes) => {
      progress('rpc: oversized header');
      const bad = head.options > LIMITS.maxOptions || head.body > LIMITS.maxBody;
      if (!bad) return;
      tally.add('oversized headers');
      const header = new Uint8Array(HEADER_LENGTH + 16);
      const view = new DataView(header.buffer);
      view.setUint32(4, head.options);
      view.setUint32(8, head.body);
      const stream = Buffer.concat([
        ...before.map((f) => encodeFrame(f.serial, f.body, f.options)),
        header,
      ]);
      const decoder = new FrameDecoder(LIMITS);
      let got = 0;
      let refused = false;
      for (const chunk of split(stream, sizes)) {
        try {
          got += decoder.push(chunk).length;
        } catch (e) {
          assert.ok(
            isPkcs11Error(e, C.CKR_DEVICE_ERROR),
            `refused as CKR_DEVICE_ERROR: ${String(e)}`,
          );
          refused = true;
          break;
        }
        assert.ok(decoder.buffered <= LIMITS.maxBody + LIMITS.maxOptions + 2 * HEADER_LENGTH);
      }
      assert.ok(refused, 'an oversized header is refused');
      // Frames that arrived in the same read as the bad header are dropped with the stream (the
      // connection closes; p11-kit clients never pipeline), so at most the earlier ones come out.
      assert.ok(got <= before.length);
    },
  );
  const captures = loadCaptures();
  const bodies: [Direction, Uint8Array][] = captures.flatMap((c) => [
    ...c.requests.map((f): [Direction, Uint8Array] => ['request', f.body]),
    ...c.replies.map((f): [Direction, Uint8Array] => ['reply', f.body]),
  ]);
  const messages = fc.property(
    fc.constantFrom<Direction>('request', 'reply'),
    mutated(bodies.map(([, b]) => b)),
    fc.nat(2),
    fc.constantFrom(0, C.CKM_RSA_PKCS_PSS, C.CKM_ECDH1_DERIVE),
    (dir, body, version, mechanism) => {
      progress('rpc: message bodies');
      tally.add('bodies');
      const ctx = { version, mechanism };
      let decoded: { call: { id: number }; args: Arg[] };
      try {
        decoded = decodeMessage(body, dir, ctx) as typeof decoded;
      } catch (e) {
        if (isPkcs11Error(e)) return;
        throw e;
      }
      tally.add('bodies decoded');
      const again = decodeMessage(encodeMessage(decoded.call.id, dir, decoded.args, ctx), dir, ctx);
      assert.deepEqual(
        normal(again.args),
        normal(decoded.args),
        're-encoding gives the same arguments',
      );
    },
  );
  return runProperties('rpc', options, tally, [
    ['frame streams', frames, 1],
    ['oversized frame headers', oversized, 0.5],
    ['message bodies', messages, 2],
  ]);
}
