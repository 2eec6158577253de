/**
 * Property tests on hostile input: request bodies and whole client streams mutated from the captures
 * (bit flips, overwritten bytes, inflated lengths and counts, truncation, garbage). The dispatcher must
 * always produce a well-formed reply and never throw; the server must never crash and keep serving
 * other connections. Case counts are bounded for `npm test`; RPC_FUZZ_RUNS raises them.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createMemoryPal } from '../../../src/adapters/pal-memory/index.js';
import { type DispatchContext, dispatch } from '../../../src/rpc/dispatch.js';
import type { ServedApplication } from '../../../src/rpc/handlers.js';
import { DEFAULT_MESSAGE_LIMITS, decodeMessage, readHead } from '../../../src/rpc/message.js';
import { startRpcServer } from '../../../src/rpc/server.js';
import { Application as TokenApplication } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { loadCaptures } from './helpers/captures.js';
import { RawClient, socketDir } from './helpers/client.js';
import { FakeCryptoki, SLOT } from './helpers/fake-cryptoki.js';

const RUNS = Number(process.env.RPC_FUZZ_RUNS ?? 3000);
const captures = loadCaptures();
const seeds = captures.flatMap((c) => c.requests.map((f) => f.body));

/** One mutation of a seed: where, what. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({
    op: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 1, 0x7f, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 16 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Uint8Array, ops: Mutation[]): Uint8Array {
  let b = Uint8Array.from(seed);
  for (const m of ops) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'flip') b[at] = (b[at] as number) ^ (1 << m.bit);
    else if (m.op === 'set') b[at] = m.byte;
    else if (m.op === 'u32' && b.length >= 4) {
      new DataView(b.buffer, b.byteOffset).setUint32(Math.min(at, b.length - 4), m.value);
    } else if (m.op === 'truncate') b = b.subarray(0, at);
    else if (m.op === 'insert')
      b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
  }
  return b;
}

const mutatedBody = fc
  .tuple(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([i, ops]) => mutate(seeds[i] as Uint8Array, ops));

function context(app: ServedApplication, version: number, unexpected: unknown[]): DispatchContext {
  return {
    app,
    version,
    maxOutput: 1 << 20,
    limits: DEFAULT_MESSAGE_LIMITS,
    onInitialized() {},
    log: (e) => {
      if (e.error !== undefined) unexpected.push(e.error);
    },
  };
}

/** The reply must parse: an ERROR with a non-zero CK_RV, or the request's own call. */
function checkReply(request: Uint8Array, reply: Uint8Array, version: number): void {
  const { callId } = readHead(reply);
  if (callId === 0) {
    const rv = decodeMessage(reply, 'reply', { version }).args[0];
    assert.ok(typeof rv === 'number' && rv !== 0, 'an ERROR reply carries a CK_RV');
    return;
  }
  assert.equal(callId, readHead(request).callId, 'a normal reply answers the request call');
  if (callId !== 89) decodeMessage(reply, 'reply', { version });
}

async function fuzzEngine(app: ServedApplication, unexpected: unknown[]): Promise<void> {
  await fc.assert(
    fc.asyncProperty(mutatedBody, fc.nat(2), async (body, version) => {
      const reply = await dispatch(body, context(app, version, unexpected));
      checkReply(body, reply, version);
    }),
    { numRuns: RUNS },
  );
}

describe('fuzzing the dispatcher with mutated captured requests', () => {
  it(`over the fake engine: always a well-formed reply, never a throw (${RUNS} cases)`, {
    timeout: 120_000,
  }, async () => {
    const fake = new FakeCryptoki();
    fake.initialize();
    fake.openSession(SLOT, 4);
    const unexpected: unknown[] = [];
    await fuzzEngine(fake, unexpected);
    assert.deepEqual(unexpected, [], 'no failure other than a Pkcs11Error');
  });

  it(`over the token: always a well-formed reply, never a throw (${RUNS} cases)`, {
    timeout: 120_000,
  }, async () => {
    const token = new Token(createMemoryPal(), createNodeCrypto(), {
      pinIterations: 10,
      allowWeakPinIterations: true,
      warn() {},
    });
    const app = new TokenApplication(token);
    app.initialize();
    app.openSession(app.getSlotList(true)[0] as number, 6);
    const unexpected: unknown[] = [];
    await fuzzEngine(app, unexpected);
    // Engine failures that are not Pkcs11Error became CKR_GENERAL_ERROR replies; list them for the token.
    if (unexpected.length)
      console.log(
        `# token threw ${unexpected.length} non-Pkcs11Error errors:`,
        [...new Set(unexpected.map(String))].slice(0, 5),
      );
    token.close();
  });
});

describe('fuzzing the server with mutated captured client streams', () => {
  const dir = socketDir();
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  before(async () => {
    server = await startRpcServer({
      socketPath: dir.path,
      createApplication: () => new FakeCryptoki(),
      limits: { maxBody: 1 << 16 },
    });
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  const streams = captures.map((c) => c.c2s);
  const runs = Math.max(20, Math.floor(RUNS / 15));

  it(`never crashes and keeps serving a healthy connection (${runs} streams)`, {
    timeout: 120_000,
  }, async () => {
    const healthy = await RawClient.open(dir.path);
    healthy.write(Uint8Array.of(0));
    await healthy.waitFor(1);
    await fc.assert(
      fc.asyncProperty(
        fc.nat(streams.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        async (i, ops) => {
          const c = await RawClient.open(dir.path);
          c.write(mutate(streams[i] as Uint8Array, ops));
          await new Promise((r) => setTimeout(r, 2));
          c.socket.destroy();
          await c.closed;
        },
      ),
      { numRuns: runs },
    );
    // The healthy connection still answers: an unknown call (200) gets an ERROR frame.
    const before = healthy.received.length;
    healthy.write(Uint8Array.from(Buffer.from('000000100000000000000008000000c800000000', 'hex')));
    const got = await healthy.waitFor(before + 12 + 17);
    assert.equal(got.subarray(before + 12, before + 16).readUInt32BE(0), 0, 'ERROR reply');
    healthy.close();
  });
});
