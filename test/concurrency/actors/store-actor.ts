/**
 * One actor of the multi-process store test (processes.test.ts): opens its own token over a directory
 * store, as a separate process would, and for each round creates a token data object, finds it by
 * label and reads it back whole, signs with the shared key (checked with node:crypto) and destroys
 * every other object it made. It reports what it created and destroyed. Runs as a worker thread
 * (workerData) or as a child process (argv: dir name rounds; the report is the last stdout line).
 * @module
 */
import { createHash, randomBytes, verify } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createNodeCrypto } from '../../../src/adapters/crypto-node/index.js';
import { createFilePal } from '../../../src/adapters/pal-file/index.js';
import type { Handle } from '../../../src/api/convert.js';
import { PKCS11 } from '../../../src/api/pkcs11.js';
import * as C from '../../../src/pkcs11/constants.js';
import { Application } from '../../../src/token/application.js';
import { Token } from '../../../src/token/token.js';
import { publicKeyOf } from '../../helpers/keys.js';

export interface ActorJob {
  dir: string;
  name: string;
  rounds: number;
  pin: string;
}

export interface ActorReport {
  name: string;
  created: string[];
  destroyed: string[];
  signatures: number;
  warnings: string[];
  /** Date.now() at the first and after the last round (the test prints how the actors overlapped). */
  span?: [number, number];
}

/** The value every test object holds: a function of its label, so a torn or swapped one shows. */
export const contentOf = (label: string): Buffer => createHash('sha256').update(label).digest();

function find(p11: PKCS11, s: Handle, template: { type: number; value: unknown }[]): Handle[] {
  p11.C_FindObjectsInit(s, template as never);
  const out = p11.C_FindObjects(s, 1000);
  p11.C_FindObjectsFinal(s);
  return out;
}

export function runActor(job: ActorJob): ActorReport {
  const warnings: string[] = [];
  const token = new Token(createFilePal(job.dir), createNodeCrypto(), {
    pinIterations: 10,
    allowWeakPinIterations: true,
    warn: (m) => warnings.push(m),
  });
  const p11 = new PKCS11();
  p11.attach(new Application(token));
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  const s = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(s, C.CKU_USER, job.pin);
  const byLabel = (cls: number) =>
    find(p11, s, [
      { type: C.CKA_LABEL, value: 'shared' },
      { type: C.CKA_CLASS, value: cls },
    ])[0] as Handle;
  const key = byLabel(C.CKO_PRIVATE_KEY);
  const pub = publicKeyOf(p11, s, byLabel(C.CKO_PUBLIC_KEY));
  const report: ActorReport = {
    name: job.name,
    created: [],
    destroyed: [],
    signatures: 0,
    warnings,
  };
  const kept: { label: string; h: Handle }[] = [];
  const started = Date.now();
  for (let r = 0; r < job.rounds; r++) {
    const label = `${job.name}-${r}`;
    const h = p11.C_CreateObject(s, [
      { type: C.CKA_CLASS, value: C.CKO_DATA },
      { type: C.CKA_TOKEN, value: true },
      { type: C.CKA_LABEL, value: label },
      { type: C.CKA_VALUE, value: contentOf(label) },
    ]);
    report.created.push(label);
    kept.push({ label, h });
    const found = find(p11, s, [{ type: C.CKA_LABEL, value: label }]);
    if (found.length !== 1) throw new Error(`${label}: found ${found.length} times`);
    const [v] = p11.C_GetAttributeValue(s, found[0] as Handle, [{ type: C.CKA_VALUE }]);
    if (!contentOf(label).equals(v?.value as Buffer)) throw new Error(`${label}: value torn`);
    const message = randomBytes(24);
    p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, key);
    const sig = p11.C_Sign(s, createHash('sha256').update(message).digest(), Buffer.alloc(64));
    if (!verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, sig))
      throw new Error(`${label}: bad signature`);
    report.signatures++;
    if (r % 2 === 1) {
      const gone = kept.shift() as { label: string; h: Handle };
      p11.C_DestroyObject(s, gone.h);
      report.destroyed.push(gone.label);
    }
  }
  report.span = [started, Date.now()];
  p11.C_Finalize();
  return report;
}

if (!isMainThread && parentPort && (workerData as { actor?: ActorJob })?.actor) {
  parentPort.postMessage(runActor((workerData as { actor: ActorJob }).actor));
} else if (isMainThread && process.argv[1]?.endsWith('store-actor.js') && process.argv[2]) {
  const [dir, name, rounds, pin] = process.argv.slice(2) as [string, string, string, string];
  const report = runActor({ dir, name, rounds: Number(rounds), pin });
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
