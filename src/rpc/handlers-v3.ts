/**
 * Handlers of the PKCS#11 3.0 calls p11-kit 0.25 added to the protocol (ids 66–87): C_LoginUser,
 * C_SessionCancel and the message-based API. The client sends a message parameter as the bytes of its C
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
import type { Application, Handler } from './handlers.js';
import type { Arg } from './message.js';

const NONE: Arg[] = [];
const NO_OUTPUT = { length: 0, bytes: null };

/** The application's 3.0 call `name`, bound to it. */
function v3<K extends V3Call>(app: Application, name: K): NonNullable<Application[K]> {
  const f = app[name] as unknown;
  if (typeof f !== 'function') {
    throw new Pkcs11Error(C.CKR_FUNCTION_NOT_SUPPORTED, `the module has no ${name} (PKCS#11 2.40)`);
  }
  return f.bind(app) as NonNullable<Application[K]>;
}

/** A call with no output, run for its effect. */
function done(_result: unknown): Arg[] {
  return NONE;
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
  C_SessionCancel: (a, c) => done(v3(c.app, 'sessionCancel')(a.num(0), a.num(1))),

  // The parameter (`ay`) reaches the engine as bytes: a NULL one as empty, which signing takes as none.
  C_MessageEncryptInit: (a, c) =>
    done(v3(c.app, 'messageEncryptInit')(a.num(0), a.initMechanism(1), a.num(2))),
  C_EncryptMessage: (a, c) => [
    withOutputSync(a.num(4), (k) =>
      v3(c.app, 'encryptMessage')(a.num(0), a.bytes(1), a.bytes(2), a.bytes(3), k),
    ),
  ],
  C_EncryptMessageBegin: (a, c) =>
    done(v3(c.app, 'encryptMessageBegin')(a.num(0), a.bytes(1), a.bytes(2))),
  C_EncryptMessageNext: (a, c) => [
    withOutputSync(a.num(3), (k) =>
      v3(c.app, 'encryptMessageNext')(a.num(0), a.bytes(1), a.bytes(2), k, a.num(4)),
    ),
  ],
  C_MessageEncryptFinal: (a, c) => done(v3(c.app, 'messageEncryptFinal')(a.num(0))),
  C_MessageDecryptInit: (a, c) =>
    done(v3(c.app, 'messageDecryptInit')(a.num(0), a.initMechanism(1), a.num(2))),
  C_DecryptMessage: (a, c) => [
    withOutputSync(a.num(4), (k) =>
      v3(c.app, 'decryptMessage')(a.num(0), a.bytes(1), a.bytes(2), a.bytes(3), k),
    ),
  ],
  C_DecryptMessageBegin: (a, c) =>
    done(v3(c.app, 'decryptMessageBegin')(a.num(0), a.bytes(1), a.bytes(2))),
  C_DecryptMessageNext: (a, c) => [
    withOutputSync(a.num(3), (k) =>
      v3(c.app, 'decryptMessageNext')(a.num(0), a.bytes(1), a.bytes(2), k, a.num(4)),
    ),
  ],
  C_MessageDecryptFinal: (a, c) => done(v3(c.app, 'messageDecryptFinal')(a.num(0))),

  C_MessageSignInit: (a, c) =>
    done(v3(c.app, 'messageSignInit')(a.num(0), a.initMechanism(1), a.num(2))),
  C_SignMessage: (a, c) => [
    withOutputSync(a.num(3), (k) => v3(c.app, 'signMessage')(a.num(0), a.bytes(1), a.bytes(2), k)),
  ],
  C_SignMessageBegin: (a, c) => done(v3(c.app, 'signMessageBegin')(a.num(0), a.bytes(1))),
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
  C_MessageSignFinal: (a, c) => done(v3(c.app, 'messageSignFinal')(a.num(0))),
  C_MessageVerifyInit: (a, c) =>
    done(v3(c.app, 'messageVerifyInit')(a.num(0), a.initMechanism(1), a.num(2))),
  C_VerifyMessage: (a, c) =>
    done(v3(c.app, 'verifyMessage')(a.num(0), a.bytes(1), a.bytes(2), a.bytes(3))),
  C_VerifyMessageBegin: (a, c) => done(v3(c.app, 'verifyMessageBegin')(a.num(0), a.bytes(1))),
  /** A NULL signature (flag 1, 0xffffffff) is one more part; a signature, the last part. */
  C_VerifyMessageNext: (a, c) => {
    const sig = a.raw(3);
    const signature = sig === null ? null : a.bytes(3);
    return done(v3(c.app, 'verifyMessageNext')(a.num(0), a.bytes(1), a.bytes(2), signature));
  },
  C_MessageVerifyFinal: (a, c) => done(v3(c.app, 'messageVerifyFinal')(a.num(0))),
};
