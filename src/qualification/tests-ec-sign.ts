/**
 * Full_PKCS11_EC, signing half: CKM_ECDSA signatures checked by the independent verifier against the
 * point the module reports, verification of the module's own signature and (after an import) of one made
 * outside it with the test key, and the concurrent find / read / sign-verify tests. Layer L7.
 * @module
 */
import { CKA_EC_POINT, CKM_ECDSA, CKR_OK, CKR_SIGNATURE_INVALID } from '../pkcs11/constants.js';
import { getAttribute, signThenQueryLength } from './cryptoki.js';
import type { ProvisionMethod, Suite } from './suite.js';
import {
  ecGetAttributeValueMultiThreadTask,
  ecSignVerifyMultiThreadTask,
  findObjectMultiThreadTask,
} from './tasks.js';
import type { Handle } from './types.js';
import { type CallResult, call, check } from './unity.js';

const ECDSA_P256_SIGNATURE_LENGTH = 64;

/** A 32-byte "hash" whose first byte is `first` (ECDSA over all zeros is not permitted). */
function hashStartingWith(first: number): Buffer {
  const h = Buffer.alloc(32);
  h[0] = first;
  return h;
}

/** C_Verify the C way: pkcs11js throws CKR_SIGNATURE_INVALID; a module answering false means the same. */
function verifyRv(s: Suite, session: Handle, data: Buffer, signature: Buffer): CallResult<unknown> {
  const r = call(() => s.p11.C_Verify(session, data, signature));
  return r.rv === CKR_OK && r.value === false ? { rv: CKR_SIGNATURE_INVALID } : r;
}

/** The signature in a buffer of exactly `length` bytes, as the C tests pass sizeof(buffer). */
function padded(signature: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  out.set(signature.subarray(0, length));
  return out;
}

export function ecSign(s: Suite): void {
  const { privateKey, publicKey } = s.findObjectTest();
  const session = s.session();
  const hash = hashStartingWith(0xab);
  const signature = signThenQueryLength(
    s.p11,
    session,
    { mechanism: CKM_ECDSA },
    privateKey,
    hash,
    { room: 256, length: ECDSA_P256_SIGNATURE_LENGTH },
    'ECDSA',
    'ECDSA Sign returned an unexpected ECDSA Signature length.',
  );

  const query = getAttribute(s.p11, session, publicKey, CKA_EC_POINT);
  check.rv(CKR_OK, query, 'Failed to query for public key length');
  check.that(
    (query.value?.length ?? 0) !== 0,
    'The size of the public key was an unexpected value.',
  );
  const pointDer = getAttribute(s.p11, session, publicKey, CKA_EC_POINT);
  check.rv(CKR_OK, pointDer, 'Failed to query for public key length');
  check.that(
    (pointDer.value?.length ?? 0) !== 0,
    'The size of the public key was an unexpected value.',
  );
  // Strip the DER OCTET STRING tag and length, as the C test does before mbedTLS reads the point.
  const point = (pointDer.value as Buffer).subarray(2);
  check.that(point.length === 65 && point[0] === 0x04, 'mbedTLS failed to read binary point.');
  check.that(
    s.verifier.verifyEcdsaP256(point, hash, signature),
    'mbedTLS failed to verify signature.',
  );
}

export function ecVerify(s: Suite, method: ProvisionMethod): void {
  const { privateKey, publicKey } = s.findObjectTest();
  const session = s.session();
  const hash = hashStartingWith(0xbe);
  const mechanism = { mechanism: CKM_ECDSA };
  check.returns(CKR_OK, () => s.p11.C_SignInit(session, mechanism, privateKey), 'SignInit failed.');
  const signed = call(() => s.p11.C_Sign(session, hash, Buffer.alloc(ECDSA_P256_SIGNATURE_LENGTH)));
  check.rv(CKR_OK, signed, 'Sign failed.');
  const own = padded(signed.value as Buffer, ECDSA_P256_SIGNATURE_LENGTH);
  check.returns(
    CKR_OK,
    () => s.p11.C_VerifyInit(session, mechanism, publicKey),
    'VerifyInit failed.',
  );
  check.rv(CKR_OK, verifyRv(s, session, hash, own), 'Verify failed.');

  if (method === 'import') {
    // A signature made outside the module with the test key, converted DER → r‖s.
    const d = s.creds.ecPrivate.d;
    check.that(d !== undefined, 'Failed to parse valid ECDSA key.');
    let raw: Uint8Array;
    try {
      raw = s.verifier.ecdsaDerToRaw(s.verifier.signEcdsaP256(d, hash));
    } catch {
      check.fail('Failed to perform ECDSA signature.');
    }
    const external = padded(raw, ECDSA_P256_SIGNATURE_LENGTH);
    check.returns(
      CKR_OK,
      () => s.p11.C_VerifyInit(session, mechanism, publicKey),
      'VerifyInit failed.',
    );
    check.rv(CKR_OK, verifyRv(s, session, hash, external), 'Verify failed.');
  }
}

/** PKCS11_EC/RSA_FindObjectMultiThread: every task finds the three test objects at once. */
export async function findObjectMultiThread(s: Suite): Promise<void> {
  const sessions = s.openTaskSessions();
  const { privateKey, publicKey, certificate } = s.findObjectTest();
  await s.multiThread(
    findObjectMultiThreadTask,
    sessions.map((session) => ({ session })),
    [privateKey, publicKey, certificate],
  );
  s.closeTaskSessions(sessions);
}

export async function ecGetAttributeValueMultiThread(s: Suite): Promise<void> {
  const objects = s.findObjectTest();
  const sessions = s.openTaskSessions();
  const globalSession = s.session();
  await s.multiThread(
    ecGetAttributeValueMultiThreadTask,
    sessions.map((session) => ({ session, globalSession, ...objects })),
    [objects.privateKey, objects.certificate],
  );
  s.closeTaskSessions(sessions);
}

export async function ecSignVerifyMultiThread(s: Suite): Promise<void> {
  const { privateKey, publicKey } = s.findObjectTest();
  const sessions = s.openTaskSessions();
  await s.multiThread(
    ecSignVerifyMultiThreadTask,
    sessions.map((session) => ({ session, privateKey, publicKey })),
    [privateKey, publicKey],
  );
  s.closeTaskSessions(sessions);
}
