/**
 * Storage benchmark cases: key-pair generation into token objects, certificate create+destroy, and how
 * find-by-label, C_GetAttributeValue, create+destroy, C_Initialize and a cold start scale with the number
 * of objects (10 / 1,000 / 10,000) on every PAL port; SoftHSMv2's file store, when present, on the
 * directory rows.
 * @module
 */
import * as C from '../src/pkcs11/constants.js';
import type { BenchCase } from './harness.js';
import type { Target } from './targets.js';

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
/** A small self-signed-looking certificate body: the token stores it, nothing parses it for timing. */
const CERT = Buffer.alloc(299, 0x5a);

function keyPairIntoToken(t: Target): () => unknown {
  return () => {
    const kp = t.p11.C_GenerateKeyPair(
      t.session,
      { mechanism: C.CKM_EC_KEY_PAIR_GEN },
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_EC_PARAMS, value: P256 },
        { type: C.CKA_VERIFY, value: true },
      ],
      [
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_PRIVATE, value: true },
        { type: C.CKA_SIGN, value: true },
      ],
    );
    t.p11.C_DestroyObject(t.session, kp.privateKey);
    t.p11.C_DestroyObject(t.session, kp.publicKey);
  };
}

function certificateCreateDestroy(t: Target): () => unknown {
  return () => {
    const h = t.p11.C_CreateObject(t.session, [
      { type: C.CKA_CLASS, value: C.CKO_CERTIFICATE },
      { type: C.CKA_CERTIFICATE_TYPE, value: C.CKC_X_509 },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: 'bench cert' },
      { type: C.CKA_SUBJECT, value: Buffer.from('3000', 'hex') },
      { type: C.CKA_VALUE, value: CERT },
    ]);
    t.p11.C_DestroyObject(t.session, h);
  };
}

/** Adds data objects labelled `object i` until the target holds `n`. */
function fill(t: Target, from: number, n: number): void {
  // A cold start case leaves SoftHSMv2's session logged out: creating token objects needs a login.
  t.reinitialize();
  for (let i = from; i < n; i++) {
    t.p11.C_CreateObject(t.session, [
      { type: C.CKA_CLASS, value: C.CKO_DATA },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: `object ${i}` },
      { type: C.CKA_VALUE, value: Buffer.alloc(64, i & 0xff) },
    ]);
  }
}

/** C_GetAttributeValue(CKA_LABEL) of one token object among `n`. */
function attributeOf(t: Target, n: number): () => unknown {
  const label = `object ${Math.floor(n / 3)}`;
  t.p11.C_FindObjectsInit(t.session, [{ type: C.CKA_LABEL, value: label }]);
  const h = t.p11.C_FindObjects(t.session);
  t.p11.C_FindObjectsFinal(t.session);
  if (!h) throw new Error(`${t.name}: ${label} not found`);
  return () => t.p11.C_GetAttributeValue(t.session, h, [{ type: C.CKA_LABEL }]);
}

function findByLabel(t: Target, n: number): () => unknown {
  const label = `object ${Math.floor(n / 2)}`;
  return () => {
    t.p11.C_FindObjectsInit(t.session, [{ type: C.CKA_LABEL, value: label }]);
    if (!t.p11.C_FindObjects(t.session)) throw new Error(`${t.name}: ${label} not found`);
    t.p11.C_FindObjectsFinal(t.session);
  };
}

export interface StorageOptions {
  counts: number[];
  /** SoftHSMv2 is slow to fill; it takes part up to this many objects. */
  softhsmMax: number;
  progress: (line: string) => void;
}

/** The cases in order; objects are added between the counts, so the generator must be consumed in order. */
export function* storageCases(
  targets: Map<string, Target>,
  softhsm: Target | undefined,
  opts: StorageOptions,
): Generator<BenchCase> {
  for (const [port, t] of targets) {
    yield {
      op: `EC P-256 key pair into token objects [${port}]`,
      ours: keyPairIntoToken(t),
      ...(port === 'file' && softhsm ? { softhsm: keyPairIntoToken(softhsm) } : {}),
    };
    yield {
      op: `create + destroy certificate [${port}]`,
      ours: certificateCreateDestroy(t),
      ...(port === 'file' && softhsm ? { softhsm: certificateCreateDestroy(softhsm) } : {}),
    };
  }
  let have = 0;
  for (const n of opts.counts) {
    for (const t of targets.values()) {
      opts.progress(`filling ${t.name} to ${n} objects`);
      fill(t, have, n);
    }
    const hsm = softhsm && n <= opts.softhsmMax ? softhsm : undefined;
    if (hsm) {
      opts.progress(`filling SoftHSMv2 to ${n} objects`);
      fill(hsm, have, n);
    }
    have = n;
    const count = n.toLocaleString('en-US');
    for (const [port, t] of targets) {
      const onFile = port === 'file' && hsm;
      yield {
        op: `find by label, ${count} objects [${port}]`,
        ours: findByLabel(t, n),
        ...(onFile ? { softhsm: findByLabel(hsm, n) } : {}),
      };
      yield {
        op: `C_GetAttributeValue, ${count} objects [${port}]`,
        ours: attributeOf(t, n),
        ...(onFile ? { softhsm: attributeOf(hsm, n) } : {}),
      };
      yield {
        op: `create + destroy certificate, ${count} objects [${port}]`,
        ours: certificateCreateDestroy(t),
        ...(onFile ? { softhsm: certificateCreateDestroy(hsm) } : {}),
        slow: true,
      };
      yield {
        op: `C_Initialize+C_Finalize, ${count} objects [${port}]`,
        ours: () => t.reinitialize(),
        ...(onFile ? { softhsm: () => hsm.reinitialize() } : {}),
        slow: true,
      };
      yield {
        op: `cold start, ${count} objects [${port}]`,
        ours: () => t.coldOpen(),
        ...(onFile ? { softhsm: () => hsm.coldOpen() } : {}),
        slow: true,
      };
    }
  }
}
