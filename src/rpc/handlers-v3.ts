/**
 * Handlers of the PKCS#11 3.0 calls p11-kit 0.25 added to the protocol (ids 66–87) whose shape the call
 * table does not imply: C_LoginUser and the C_*MessageNext calls. The others (C_SessionCancel, the
 * message-based init, whole-message, begin and final calls) come from their signatures as the 2.40
 * calls do (handlers.ts, fromSignature). The client sends a message parameter as the bytes of its C
 * structure (rpc-client.c: IN_BYTE_ARRAY (parameter, parameter_len)), pointers into the client's memory
 * included, and brings back only the output buffer: an AEAD's IV, tag or generated IV cannot travel, so
 * message-based encryption answers CKR_MECHANISM_PARAM_INVALID for any parameter; message signing, whose
 * mechanisms take none, works. An application without the 3.0 calls (a 2.40 module) answers
 * CKR_FUNCTION_NOT_SUPPORTED, as p11-kit's server does for a module without a 3.0 interface. Layer L7.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { V3Call } from '../token/cryptoki.js';
import { withOutputSync } from './args.js';
import type { Handler, ServedApplication } from './handlers.js';
import type { Arg } from './message.js';

const NONE: Arg[] = [];
const NO_OUTPUT = { length: 0, bytes: null };

/** The application's 3.0 call `name`, bound to it. */
function v3<K extends V3Call>(app: ServedApplication, name: K): NonNullable<ServedApplication[K]> {
  const f = app[name] as unknown;
  if (typeof f !== 'function') {
    throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, `the module has no ${name} (PKCS#11 2.40)`);
  }
  return f.bind(app) as NonNullable<ServedApplication[K]>;
}

export const V3_HANDLERS: Record<string, Handler> = {
  C_LoginUser: async (a, c) => {
    const { app } = c;
    const username = a.bytes(3); // NULL (flag 1, length 0xffffffff) and empty are both no name
    if (app.loginUserAsync && !c.sync) {
      await app.loginUserAsync(a.num(0), a.num(1), a.bytes(2), username);
    } else v3(app, 'loginUser')(a.num(0), a.num(1), a.bytes(2), username);
    return NONE;
  },
  C_EncryptMessageNext: (a, c) => [
    withOutputSync(a.num(3), (k) =>
      v3(c.app, 'encryptMessageNext')(a.num(0), a.bytes(1), a.bytes(2), k, a.num(4)),
    ),
  ],
  C_DecryptMessageNext: (a, c) => [
    withOutputSync(a.num(3), (k) =>
      v3(c.app, 'decryptMessageNext')(a.num(0), a.bytes(1), a.bytes(2), k, a.num(4)),
    ),
  ],
  /** `y` says whether the signature is asked for (the last part); if not, the reply is a NULL array. */
  C_SignMessageNext: (a, c) => {
    const next = v3(c.app, 'signMessageNext');
    if (a.num(3) === 0) {
      next(a.num(0), a.bytes(1), a.bytes(2), false, null);
      return [null];
    }
    return [
      withOutputSync(a.num(4), (k) => next(a.num(0), a.bytes(1), a.bytes(2), true, k) ?? NO_OUTPUT),
    ];
  },
  /** A NULL signature (flag 1, 0xffffffff) is one more part; a signature, the last part. */
  C_VerifyMessageNext: (a, c) => {
    const sig = a.raw(3);
    const signature = sig === null ? null : a.bytes(3);
    v3(c.app, 'verifyMessageNext')(a.num(0), a.bytes(1), a.bytes(2), signature);
    return NONE;
  },
};
