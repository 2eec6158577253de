/**
 * `npm run bench`: the token's operations through the pkcs11js-shaped API next to raw node:crypto doing
 * the same work, measured interleaved in one run. `-- --json` prints one JSON object per line;
 * `-- --quick` shortens every measurement (for smoke runs).
 * @module
 */
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import type { Handle } from '../src/api/convert.js';
import { PKCS11 } from '../src/create.js';
import * as C from '../src/pkcs11/constants.js';
import { type BenchCase, type BenchResult, format, HEADER, measure } from './harness.js';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const ROUNDS = quick ? 1 : 5;
const BUDGET_MS = quick ? 40 : 300;

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');
const DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

function setup() {
  const p11 = new PKCS11('memory:', { pinIterations: 1000 });
  p11.C_Initialize();
  const slot = p11.C_GetSlotList(true)[0] as Handle;
  p11.C_InitToken(slot, '12345678', 'bench');
  const so = p11.C_OpenSession(slot, C.CKF_SERIAL_SESSION | C.CKF_RW_SESSION);
  p11.C_Login(so, C.CKU_SO, '12345678');
  p11.C_InitPIN(so, '0000');
  p11.C_Logout(so);
  const s = so;
  p11.C_Login(s, C.CKU_USER, '0000');
  return { p11, slot, s };
}

function keyFromToken(p11: PKCS11, s: Handle, pub: Handle, kind: 'ec' | 'rsa'): KeyObject {
  if (kind === 'rsa') {
    const [n, e] = p11.C_GetAttributeValue(s, pub, [
      { type: C.CKA_MODULUS },
      { type: C.CKA_PUBLIC_EXPONENT },
    ]);
    const b64 = (a: typeof n) => Buffer.from(a?.value as Buffer).toString('base64url');
    return createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' });
  }
  const [pt] = p11.C_GetAttributeValue(s, pub, [{ type: C.CKA_EC_POINT }]);
  const raw = Buffer.from(pt?.value as Buffer).subarray(2);
  const b64 = (b: Buffer) => b.toString('base64url');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64(raw.subarray(1, 33)), y: b64(raw.subarray(33)) },
    format: 'jwk',
  });
}

function cases(): BenchCase[] {
  const { p11, slot, s } = setup();
  const out: BenchCase[] = [];
  const ec = p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_EC_KEY_PAIR_GEN },
    [{ type: C.CKA_EC_PARAMS, value: P256 }],
    [{ type: C.CKA_SIGN, value: true }],
  );
  const nodeEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg32 = randomBytes(32);
  const digest = createHash('sha256').update(msg32).digest();
  const sig64 = Buffer.alloc(64);
  out.push({
    op: 'ECDSA P-256 sign (CKM_ECDSA)',
    ours: () => {
      p11.C_SignInit(s, { mechanism: C.CKM_ECDSA }, ec.privateKey);
      p11.C_Sign(s, digest, sig64);
    },
    baseline: () => sign('sha256', msg32, { key: nodeEc.privateKey, dsaEncoding: 'ieee-p1363' }),
  });
  p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
  const ecSig = Buffer.from(p11.C_Sign(s, msg32, Buffer.alloc(64)));
  const nodeSig = sign('sha256', msg32, { key: nodeEc.privateKey, dsaEncoding: 'ieee-p1363' });
  out.push({
    op: 'ECDSA P-256 verify (CKM_ECDSA)',
    ours: () => {
      p11.C_VerifyInit(s, { mechanism: C.CKM_ECDSA }, ec.publicKey);
      p11.C_Verify(s, digest, ecSig);
    },
    baseline: () =>
      verify('sha256', msg32, { key: nodeEc.publicKey, dsaEncoding: 'ieee-p1363' }, nodeSig),
  });
  out.push({
    op: 'ECDSA P-256 sign (CKM_ECDSA_SHA256, 32 B)',
    ours: () => {
      p11.C_SignInit(s, { mechanism: C.CKM_ECDSA_SHA256 }, ec.privateKey);
      p11.C_Sign(s, msg32, sig64);
    },
    baseline: () => sign('sha256', msg32, { key: nodeEc.privateKey, dsaEncoding: 'ieee-p1363' }),
  });
  // an independent check that the keys and signatures are real before timing them
  if (
    !verify(
      'sha256',
      msg32,
      { key: keyFromToken(p11, s, ec.publicKey, 'ec'), dsaEncoding: 'ieee-p1363' },
      ecSig,
    )
  ) {
    throw new Error('token ECDSA signature does not verify');
  }

  const rsa = p11.C_GenerateKeyPair(
    s,
    { mechanism: C.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: C.CKA_MODULUS_BITS, value: 2048 }],
    [{ type: C.CKA_SIGN, value: true }],
  );
  const nodeRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const info = Buffer.concat([DIGEST_INFO, digest]);
  const sig256 = Buffer.alloc(256);
  out.push({
    op: 'RSA-2048 sign (CKM_RSA_PKCS)',
    ours: () => {
      p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.privateKey);
      p11.C_Sign(s, info, sig256);
    },
    baseline: () =>
      privateEncrypt({ key: nodeRsa.privateKey, padding: constants.RSA_PKCS1_PADDING }, info),
  });
  p11.C_SignInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.privateKey);
  const rsaSig = Buffer.from(p11.C_Sign(s, info, sig256));
  const nodeRsaSig = privateEncrypt(
    { key: nodeRsa.privateKey, padding: constants.RSA_PKCS1_PADDING },
    info,
  );
  if (!verify('sha256', msg32, keyFromToken(p11, s, rsa.publicKey, 'rsa'), rsaSig)) {
    throw new Error('token RSA signature does not verify');
  }
  out.push({
    op: 'RSA-2048 verify (CKM_RSA_PKCS)',
    ours: () => {
      p11.C_VerifyInit(s, { mechanism: C.CKM_RSA_PKCS }, rsa.publicKey);
      p11.C_Verify(s, info, rsaSig);
    },
    baseline: () =>
      publicDecrypt({ key: nodeRsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, nodeRsaSig),
  });

  for (const size of [64, 1024, 1024 * 1024]) {
    const data = randomBytes(size);
    const out32 = Buffer.alloc(32);
    out.push({
      op: `SHA-256 ${size >= 1024 * 1024 ? '1 MiB' : size >= 1024 ? '1 KiB' : `${size} B`}`,
      ours: () => {
        p11.C_DigestInit(s, { mechanism: C.CKM_SHA256 });
        p11.C_Digest(s, data, out32);
      },
      baseline: () => createHash('sha256').update(data).digest(),
    });
  }
  const r32 = Buffer.alloc(32);
  out.push({
    op: 'C_GenerateRandom 32 B',
    ours: () => p11.C_GenerateRandom(s, r32),
    baseline: () => randomBytes(32),
  });
  out.push({
    op: 'EC P-256 key pair (session objects)',
    ours: () => {
      const kp = p11.C_GenerateKeyPair(
        s,
        { mechanism: C.CKM_EC_KEY_PAIR_GEN },
        [{ type: C.CKA_EC_PARAMS, value: P256 }],
        [{ type: C.CKA_SIGN, value: true }],
      );
      p11.C_DestroyObject(s, kp.privateKey);
      p11.C_DestroyObject(s, kp.publicKey);
    },
    baseline: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  });
  void slot;
  return out;
}

/** Find by label among N token objects (memory PAL): should not depend on N. */
function findCases(): BenchCase[] {
  const out: BenchCase[] = [];
  for (const n of [10, 1000, 10_000]) {
    const { p11, s } = setup();
    for (let i = 0; i < n; i++) {
      p11.C_CreateObject(s, [
        { type: C.CKA_CLASS, value: C.CKO_DATA },
        { type: C.CKA_TOKEN, value: true },
        { type: C.CKA_LABEL, value: `object ${i}` },
        { type: C.CKA_VALUE, value: Buffer.alloc(64, i & 0xff) },
      ]);
    }
    const label = `object ${Math.floor(n / 2)}`;
    out.push({
      op: `find by label among ${n.toLocaleString('en-US')} objects`,
      ours: () => {
        p11.C_FindObjectsInit(s, [{ type: C.CKA_LABEL, value: label }]);
        if (!p11.C_FindObjects(s)) throw new Error('not found');
        p11.C_FindObjectsFinal(s);
      },
    });
  }
  return out;
}

const results: BenchResult[] = [];
if (!json) {
  process.stdout.write(
    `corepkcs11 bench — Node ${process.version}, ${ROUNDS} interleaved rounds of ${BUDGET_MS} ms\n`,
  );
  process.stdout.write(`${HEADER}\n`);
}
for (const c of [...cases(), ...findCases()]) {
  let r: BenchResult;
  try {
    r = measure(c, ROUNDS, BUDGET_MS);
  } catch (e) {
    process.stderr.write(`${c.op}: ${e instanceof Error ? e.message : String(e)}\n`);
    continue;
  }
  results.push(r);
  process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${format(r)}\n`);
}
