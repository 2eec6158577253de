/**
 * Many sessions in one process interleaving the API's operations: each session creates, finds,
 * signs (C_SignAsync, which runs in the thread pool), digests (C_DigestAsync), generates key pairs
 * (C_GenerateKeyPairAsync) and destroys, all at once, on two applications (two RPC connections in one
 * server look like this). Every signature is checked with node:crypto; at the end every session's
 * objects are exactly those it created and did not destroy, also after a restart (nothing lost,
 * duplicated or torn). A hang fails the test through its timeout.
 * @module
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Handle } from '../../src/api/convert.js';
import type { PKCS11 } from '../../src/api/pkcs11.js';
import { EC_PARAMS, publicKeyOf } from '../helpers/keys.js';
import { attr, findAll } from '../helpers/material.js';
import {
  assertRv,
  assertRvAsync,
  C,
  initializedModule,
  PAL_PORTS,
  USER_PIN,
} from '../helpers/token.js';

const SESSIONS = 24;
const ROUNDS = 12;
const RW = C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION;
/** Yields to the event loop so that the sessions' steps interleave. */
const tick = () => new Promise<void>((r) => setImmediate(r));

interface Actor {
  p11: PKCS11;
  session: Handle;
  created: Set<string>;
  destroyed: Set<string>;
  signatures: number;
}

function data(label: string, token: boolean) {
  return [
    { type: C.CKA_CLASS, value: C.CKO_DATA },
    { type: C.CKA_TOKEN, value: token },
    { type: C.CKA_LABEL, value: label },
    { type: C.CKA_VALUE, value: createHash('sha256').update(label).digest() },
  ];
}

/** One session's work: create, find, sign and check, digest, sometimes generate, destroy. */
async function work(a: Actor, id: number, key: Handle, pub: ReturnType<typeof publicKeyOf>) {
  const { p11, session } = a;
  const mine: { label: string; h: Handle }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const label = `s${id}-r${r}`;
    mine.push({ label, h: p11.C_CreateObject(session, data(label, r % 3 !== 0)) });
    a.created.add(label);
    await tick();
    const found = findAll(p11, session, [{ type: C.CKA_LABEL, value: label }]);
    assert.equal(found.length, 1, `${label} found once`);
    assert.deepEqual(
      attr(p11, session, found[0] as Handle, C.CKA_VALUE),
      createHash('sha256').update(label).digest(),
      `${label} whole`,
    );
    const message = randomBytes(40);
    p11.C_SignInit(session, { mechanism: C.CKM_ECDSA }, key);
    const sig = await p11.C_SignAsync(
      session,
      createHash('sha256').update(message).digest(),
      Buffer.alloc(64),
    );
    assert.ok(verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig), 'signature');
    a.signatures++;
    p11.C_DigestInit(session, { mechanism: C.CKM_SHA256 });
    const d = await p11.C_DigestAsync(session, Buffer.from(label), Buffer.alloc(32));
    assert.deepEqual(d, createHash('sha256').update(label).digest());
    if (r === 5 && id % 6 === 0) {
      const kp = await p11.C_GenerateKeyPairAsync(
        session,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: `${label}-kp` },
          { type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] },
          { type: C.CKA_VERIFY, value: true },
        ],
        [
          { type: C.CKA_TOKEN, value: true },
          { type: C.CKA_LABEL, value: `${label}-kp` },
          { type: C.CKA_PRIVATE, value: true },
          { type: C.CKA_SIGN, value: true },
        ],
      );
      a.created.add(`${label}-kp`);
      assert.equal(
        findAll(p11, session, [{ type: C.CKA_LABEL, value: `${label}-kp` }]).length,
        2,
        'key pair stored',
      );
      assert.ok(kp.publicKey && kp.privateKey);
    }
    await tick();
    // Destroy every other object made so far, from the oldest.
    if (r % 2 === 1) {
      const gone = mine.shift() as { label: string; h: Handle };
      p11.C_DestroyObject(session, gone.h);
      a.destroyed.add(gone.label);
    }
  }
}

/** Labels an actor should see: created and not destroyed (session objects only while open). */
function expected(a: Actor, tokenOnly: boolean): string[] {
  return [...a.created]
    .filter((l) => !a.destroyed.has(l))
    .filter((l) => !tokenOnly || l.endsWith('-kp') || Number(/-r(\d+)$/.exec(l)?.[1]) % 3 !== 0)
    .sort();
}

function labelsWithPrefix(p11: PKCS11, session: Handle, prefix: string): string[] {
  const all = findAll(p11, session, []).map((h) =>
    attr(p11, session, h, C.CKA_LABEL).toString('utf8'),
  );
  // A key pair's two halves share a label: count each label once per half.
  return [...new Set(all.filter((l) => l.startsWith(prefix)))].sort();
}

for (const port of PAL_PORTS.filter((p) => p.name !== 'flash')) {
  describe(`${SESSIONS} sessions interleaving async operations (${port.name} PAL)`, () => {
    it('every session ends with exactly the objects it made and kept, also after a restart', {
      timeout: 120_000,
    }, async () => {
      const m = initializedModule(port);
      try {
        const apps = [m.p11, m.another()];
        const setup = m.p11.C_OpenSession(m.slot, RW);
        m.p11.C_Login(setup, C.CKU_USER, USER_PIN);
        apps[1]?.C_Login(apps[1].C_OpenSession(m.slot, RW), C.CKU_USER, USER_PIN);
        const { publicKey, privateKey } = m.p11.C_GenerateKeyPair(
          setup,
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
        const pub = publicKeyOf(m.p11, setup, publicKey);
        const actors: Actor[] = Array.from({ length: SESSIONS }, (_, i) => {
          const p11 = apps[i % 2] as PKCS11;
          return {
            p11,
            session: p11.C_OpenSession(m.slot, RW),
            created: new Set(),
            destroyed: new Set(),
            signatures: 0,
          };
        });
        // Key handles belong to an application: the second one finds the shared key itself.
        const keyOf = (p11: PKCS11, s: Handle) =>
          p11 === m.p11
            ? privateKey
            : (findAll(p11, s, [
                { type: C.CKA_LABEL, value: 'shared' },
                { type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY },
              ])[0] as Handle);
        await Promise.all(actors.map((a, i) => work(a, i, keyOf(a.p11, a.session), pub)));
        assert.equal(
          actors.reduce((n, a) => n + a.signatures, 0),
          SESSIONS * ROUNDS,
        );
        for (const [i, a] of actors.entries()) {
          assert.deepEqual(labelsWithPrefix(a.p11, a.session, `s${i}-`), expected(a, false));
        }
        const restarted = m.restart();
        const s = restarted.p11.C_OpenSession(restarted.slot, C.CKF_SERIAL_SESSION);
        restarted.p11.C_Login(s, C.CKU_USER, USER_PIN);
        for (const [i, a] of actors.entries()) {
          assert.deepEqual(labelsWithPrefix(restarted.p11, s, `s${i}-`), expected(a, true));
        }
      } finally {
        m.cleanup();
      }
    });
  });
}

describe('signatures in flight while their key and sessions go away', () => {
  it('each C_SignAsync already running completes with a valid signature; the token stays usable', {
    timeout: 60_000,
  }, async () => {
    const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    const s0 = m.p11.C_OpenSession(m.slot, RW);
    m.p11.C_Login(s0, C.CKU_USER, USER_PIN);
    const { publicKey, privateKey } = m.p11.C_GenerateKeyPair(
      s0,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_SIGN, value: true },
      ],
    );
    const pub = publicKeyOf(m.p11, s0, publicKey);
    const message = Buffer.from('in flight');
    const digest = createHash('sha256').update(message).digest();
    const sessions = Array.from({ length: 32 }, () => m.p11.C_OpenSession(m.slot, RW));
    const pending = sessions.map((s) => {
      m.p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, privateKey);
      return m.p11.C_SignAsync(s, digest, Buffer.alloc(64));
    });
    // The async calls start on the next turn of the event loop (as pkcs11js's do in its thread pool).
    await tick();
    for (const s of sessions.filter((_, i) => i % 2 === 0)) m.p11.C_CloseSession(s);
    m.p11.C_DestroyObject(s0, privateKey);
    for (const sig of await Promise.all(pending)) {
      assert.ok(verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig));
    }
    assert.deepEqual(findAll(m.p11, s0, [{ type: C.CKA_CLASS, value: C.CKO_PRIVATE_KEY }]), []);
    assertRv(() => m.p11.C_GetSessionInfo(sessions[0] as Handle), C.CKR_SESSION_HANDLE_INVALID);
    m.p11.C_CloseAllSessions(m.slot);
    assert.equal(m.p11.C_GetTokenInfo(m.slot).sessionCount, 0);
    m.cleanup();
  });

  it('a C_SignAsync not yet started when its session closes → CKR_SESSION_HANDLE_INVALID', async () => {
    const m = initializedModule(PAL_PORTS[0] as (typeof PAL_PORTS)[number]);
    const s = m.p11.C_OpenSession(m.slot, RW);
    m.p11.C_Login(s, C.CKU_USER, USER_PIN);
    const { privateKey } = m.p11.C_GenerateKeyPair(
      s,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [{ type: C.CKA_EC_PARAMS, value: EC_PARAMS['P-256'] }],
      [{ type: C.CKA_SIGN, value: true }],
    );
    const other = m.p11.C_OpenSession(m.slot, RW);
    m.p11.C_SignInit(other, { mechanism: C.CKM_ECDSA }, privateKey);
    const pending = m.p11.C_SignAsync(other, Buffer.alloc(32, 1), Buffer.alloc(64));
    m.p11.C_CloseSession(other);
    await assertRvAsync(pending, C.CKR_SESSION_HANDLE_INVALID);
    m.cleanup();
  });
});
