/**
 * The PKCS#11 3.0 C functions on the pkcs11js-shaped API, as a table beside calls.ts's (api/pkcs11.ts
 * makes the methods from both): interfaces, C_LoginUser, C_SessionCancel. pkcs11js 2.x has no 3.0 calls,
 * so these follow its conventions: the C function's name, its arguments in C order without the length
 * arguments, Buffer handles, strings for PINs and names, output Buffers the result is written into.
 *
 * A message parameter is an object with CK_*_MESSAGE_PARAMS's fields without their prefixes — AES-GCM
 * `{ iv, ivFixedBits?, ivGenerator?, tag, tagBits? }`, AES-CCM `{ dataLen, nonce, nonceFixedBits?,
 * nonceGenerator?, mac, macLen? }`, ChaCha20-Poly1305 `{ nonce, tag }` — whose Buffers the token writes
 * into as C writes through the structure's pointers: the tag, and a generated IV. Signing mechanisms take
 * none (null). Layer L6.
 * @module
 */
import type { InterfaceInfo, Output, Version } from '../pkcs11/types.js';
import type { Application } from '../token/application.js';
import { into, requiredPin, threaded } from './calls.js';
import {
  bytesArg,
  fromHandle,
  type Handle,
  type Mechanism,
  outBuffer,
  pinArg,
  toInitMechanism,
} from './convert.js';

type E = Application;
const session = (h: Handle) => fromHandle(h, 'session');

/** CK_VERSION from JS: null/undefined for "any", else {major, minor} of bytes. */
function versionArg(v: unknown): Version | null {
  if (v === undefined || v === null) return null;
  const { major, minor } = v as Partial<Version>;
  const isByte = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255;
  if (!isByte(major) || !isByte(minor)) {
    throw new TypeError('version must be {major, minor} with integers from 0 to 255');
  }
  return { major: major as number, minor: minor as number };
}

/** A CK_FLAGS argument: a CK_ULONG. */
function flagsArg(flags: unknown, name = 'flags'): number {
  if (!Number.isInteger(flags) || (flags as number) < 0 || (flags as number) > 0xffff_ffff) {
    throw new TypeError(`${name} must be an integer from 0 to 2^32 - 1`);
  }
  return flags as number;
}

/** A C_Message*Init: with a null mechanism (a 3.0 cancel) the key is not looked at, as in C. */
const messageInit =
  (init: 'messageEncryptInit' | 'messageDecryptInit' | 'messageSignInit' | 'messageVerifyInit') =>
  (e: E, s: Handle, mechanism: Mechanism | null, k?: Handle): void => {
    const m = toInitMechanism(mechanism);
    e[init](session(s), m, m === null ? 0 : fromHandle(k, 'key'));
  };

/** The calls without a callback form. */
export const PLAIN_V3 = {
  /** The interfaces the token offers: "PKCS 11" 3.0 (the default) and 2.40. */
  C_GetInterfaceList: (e: E): InterfaceInfo[] => e.getInterfaceList(),
  /**
   * The interface of that name (null: "PKCS 11"), version (null: the default, 3.0) and with at least
   * `flags`; none such → CKR_ARGUMENTS_BAD.
   */
  C_GetInterface(e: E, name?: string | null, version?: Version | null, flags = 0): InterfaceInfo {
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw new TypeError('interface name must be a string or null');
    }
    return e.getInterface(name ?? null, versionArg(version), flagsArg(flags));
  },
  /**
   * C_Login with a user name. The token has no named users: with no name (undefined, null or '') this is
   * C_Login; a name → CKR_ARGUMENTS_BAD before the PIN is looked at.
   */
  C_LoginUser: (e: E, s: Handle, userType: number, pin?: string, username?: string | null): void =>
    e.loginUser(session(s), userType, requiredPin(pin), pinArg(username) ?? null),
  /** Ends the session's active operations of the kinds `flags` names (CKF_ENCRYPT, CKF_FIND_OBJECTS, …). */
  C_SessionCancel: (e: E, s: Handle, flags: number): void =>
    e.sessionCancel(session(s), flagsArg(flags)),
};

/** A message parameter as given (null: none); the engine reads its fields and checks them. */
const param = (p: unknown): unknown => p ?? null;

/** Like `into`, for the engine's C_SignMessageNext: null when no signature was asked for. */
function maybeInto(buffer: Buffer | null | undefined, run: (c: number | null) => Output | null) {
  if (buffer === undefined || buffer === null) {
    run(null);
    return null;
  }
  return into(buffer, (c) => run(c) as Output, 'signature');
}

/** The message-based calls without a callback form: init, begin, final. */
export const PLAIN_MESSAGE = {
  C_MessageEncryptInit: messageInit('messageEncryptInit'),
  C_EncryptMessageBegin: (e: E, s: Handle, parameter: unknown, associatedData: Buffer): void =>
    e.encryptMessageBegin(session(s), param(parameter), bytesArg(associatedData, 'associatedData')),
  C_MessageEncryptFinal: (e: E, s: Handle): void => e.messageEncryptFinal(session(s)),
  C_MessageDecryptInit: messageInit('messageDecryptInit'),
  C_DecryptMessageBegin: (e: E, s: Handle, parameter: unknown, associatedData: Buffer): void =>
    e.decryptMessageBegin(session(s), param(parameter), bytesArg(associatedData, 'associatedData')),
  C_MessageDecryptFinal: (e: E, s: Handle): void => e.messageDecryptFinal(session(s)),
  C_MessageSignInit: messageInit('messageSignInit'),
  C_SignMessageBegin: (e: E, s: Handle, parameter?: unknown): void =>
    e.signMessageBegin(session(s), param(parameter)),
  C_MessageSignFinal: (e: E, s: Handle): void => e.messageSignFinal(session(s)),
  C_MessageVerifyInit: messageInit('messageVerifyInit'),
  C_VerifyMessageBegin: (e: E, s: Handle, parameter?: unknown): void =>
    e.verifyMessageBegin(session(s), param(parameter)),
  C_MessageVerifyFinal: (e: E, s: Handle): void => e.messageVerifyFinal(session(s)),
};

/** C_EncryptMessage, C_DecryptMessage: one whole message, its output into `out`. */
const wholeMessage =
  (work: 'encryptMessage' | 'decryptMessage', input: string) =>
  (e: E, s: Handle, parameter: unknown, aad: Buffer, data: Buffer, out: Buffer) =>
    into(out, (c) =>
      e[work](
        session(s),
        param(parameter),
        bytesArg(aad, 'associatedData'),
        bytesArg(data, input),
        c,
      ),
    );

/** C_EncryptMessageNext, C_DecryptMessageNext: one part, the output with the last. */
const messagePart =
  (work: 'encryptMessageNext' | 'decryptMessageNext', input: string) =>
  (e: E, s: Handle, parameter: unknown, part: Buffer, out: Buffer, flags: number) =>
    into(out, (c) =>
      e[work](session(s), param(parameter), bytesArg(part, input), c, flagsArg(flags)),
    );

/** The message-based calls that do the work: with callback and C_*Async forms, as C_Encrypt has. */
export const THREADED_MESSAGE = {
  /** Writes the ciphertext into `out` (returned, sliced) and the tag into the parameter's. */
  C_EncryptMessage: threaded({ run: wholeMessage('encryptMessage', 'plaintext') }),
  /** Parts give no output until the one with CKF_END_OF_MESSAGE, which gives the whole message's. */
  C_EncryptMessageNext: threaded({ run: messagePart('encryptMessageNext', 'plaintextPart') }),
  /** Reads the tag from the parameter; a wrong one → CKR_ENCRYPTED_DATA_INVALID. */
  C_DecryptMessage: threaded({ run: wholeMessage('decryptMessage', 'ciphertext') }),
  C_DecryptMessageNext: threaded({ run: messagePart('decryptMessageNext', 'ciphertextPart') }),
  C_SignMessage: threaded({
    run: (e: E, s: Handle, parameter: unknown, data: Buffer, signature: Buffer): Buffer =>
      into(
        signature,
        (c) => e.signMessage(session(s), param(parameter), bytesArg(data, 'data'), c),
        'signature',
      ),
  }),
  /** Without a signature Buffer (null), one more part (returns null); with one, the last and the signature. */
  C_SignMessageNext: threaded({
    run: (e: E, s: Handle, parameter: unknown, data: Buffer, signature: Buffer | null) =>
      maybeInto(
        signature === null || signature === undefined ? null : outBuffer(signature, 'signature'),
        (c) =>
          e.signMessageNext(
            session(s),
            param(parameter),
            bytesArg(data, 'data'),
            signature !== null && signature !== undefined,
            c,
          ),
      ),
  }),
  /** True when the signature verifies; CKR_SIGNATURE_INVALID otherwise, as C_Verify. */
  C_VerifyMessage: threaded({
    run(e: E, s: Handle, parameter: unknown, data: Buffer, signature: Buffer): boolean {
      e.verifyMessage(
        session(s),
        param(parameter),
        bytesArg(data, 'data'),
        bytesArg(signature, 'signature'),
      );
      return true;
    },
  }),
  /** Without a signature (null), one more part; with one, the last part, checked. True when done. */
  C_VerifyMessageNext: threaded({
    run(e: E, s: Handle, parameter: unknown, data: Buffer, signature: Buffer | null): boolean {
      const sig = signature === null || signature === undefined ? null : signature;
      e.verifyMessageNext(
        session(s),
        param(parameter),
        bytesArg(data, 'data'),
        sig === null ? null : bytesArg(sig, 'signature'),
      );
      return true;
    },
  }),
};
