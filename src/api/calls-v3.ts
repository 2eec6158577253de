/**
 * The PKCS#11 3.0 C functions on the pkcs11js-shaped API, as a table beside calls.ts's (api/pkcs11.ts
 * makes the methods from both): interfaces, C_LoginUser, C_SessionCancel. pkcs11js 2.x has no 3.0 calls,
 * so these follow its conventions: the C function's name, its arguments in C order without the length
 * arguments, Buffer handles, strings for PINs and names. Layer L6.
 * @module
 */
import { Pkcs11Error } from '../errors.js';
import * as C from '../pkcs11/constants.js';
import type { InterfaceInfo, Version } from '../pkcs11/types.js';
import type { Application } from '../token/application.js';
import { fromHandle, type Handle, pinArg } from './convert.js';

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
  C_LoginUser(e: E, s: Handle, userType: number, pin?: string, username?: string | null): void {
    const p = pinArg(pin);
    if (!p)
      throw new Pkcs11Error(
        C.CKR_ARGUMENTS_BAD,
        'a PIN is required (no protected authentication path)',
      );
    e.loginUser(session(s), userType, p, pinArg(username) ?? null);
  },
  /** Ends the session's active operations of the kinds `flags` names (CKF_ENCRYPT, CKF_FIND_OBJECTS, …). */
  C_SessionCancel: (e: E, s: Handle, flags: number): void =>
    e.sessionCancel(session(s), flagsArg(flags)),
};
