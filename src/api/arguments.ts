/**
 * pkcs11js's argument checks, as data: for each C_* function the kinds of its arguments, checked before
 * the call reaches the token, with the TypeError messages pkcs11js 2.1.7's native layer gives (its
 * `GET_ARGS_*` macros). Callers and tests written against pkcs11js see the same errors here. Where this
 * API is more lenient than pkcs11js (a label left out of C_InitToken, PINs as Buffers, Date and nested
 * template values), the lenient form stays accepted. Layer L6.
 * @module
 */
import { attributeKind } from '../attributes/kinds.js';

/** `?` marks an argument that may be left out (or given as undefined). */
type Kind =
  | 'handle'
  | 'ulong'
  | 'ulong?'
  | 'boolean?'
  | 'buffer'
  | 'string'
  | 'string?'
  | 'pin'
  | 'mechanism'
  | 'template'
  /** Checked by the call itself (the 3.0 calls' parameters, names and versions, which may be null). */
  | 'any'
  | 'any?';

const S = 'handle';
const IO = ['handle', 'buffer', 'buffer'] as const;

/**
 * Each C function's arguments (without the trailing callback of the calls.ts THREADED ones). Functions
 * absent here (C_Initialize, C_Finalize, C_GetInfo) check their own or take none; pkcs11.ts refuses to
 * start when a function of calls.ts is neither here nor in that list.
 */
export const ARGUMENTS: Readonly<Record<string, readonly Kind[]>> = {
  C_GetSlotList: ['boolean?'],
  C_GetSlotInfo: [S],
  C_GetTokenInfo: [S],
  C_GetMechanismList: [S],
  C_GetMechanismInfo: [S, 'ulong'],
  C_InitToken: [S, 'pin', 'string?'],
  C_InitPIN: [S, 'pin'],
  C_SetPIN: [S, 'pin', 'pin'],
  C_OpenSession: [S, 'ulong'],
  C_CloseSession: [S],
  C_CloseAllSessions: [S],
  C_GetSessionInfo: [S],
  C_GetOperationState: [S],
  C_SetOperationState: [S, 'buffer', S, S],
  C_Login: [S, 'ulong', 'pin'],
  C_Logout: [S],
  C_SeedRandom: [S, 'buffer'],
  C_GenerateRandom: [S, 'buffer'],
  C_CreateObject: [S, 'template'],
  C_CopyObject: [S, S, 'template'],
  C_DestroyObject: [S, S],
  C_GetObjectSize: [S, S],
  C_GetAttributeValue: [S, S, 'template'],
  C_SetAttributeValue: [S, S, 'template'],
  C_FindObjectsInit: [S, 'template'],
  // max is optional in pkcs11js's JS layer, which adds 1 before its native checks (pkcs11.ts does too)
  C_FindObjects: [S, 'ulong'],
  C_FindObjectsFinal: [S],
  C_DigestInit: [S, 'mechanism'],
  C_Digest: IO,
  C_DigestUpdate: [S, 'buffer'],
  C_DigestKey: [S, S],
  C_DigestFinal: [S, 'buffer'],
  C_SignInit: [S, 'mechanism', S],
  C_Sign: IO,
  C_SignUpdate: [S, 'buffer'],
  C_SignFinal: [S, 'buffer'],
  C_SignRecoverInit: [S, 'mechanism', S],
  C_SignRecover: IO,
  C_VerifyInit: [S, 'mechanism', S],
  C_Verify: IO,
  C_VerifyUpdate: [S, 'buffer'],
  C_VerifyFinal: [S, 'buffer'],
  C_VerifyRecoverInit: [S, 'mechanism', S],
  C_VerifyRecover: IO,
  C_EncryptInit: [S, 'mechanism', S],
  C_Encrypt: IO,
  C_EncryptUpdate: IO,
  C_EncryptFinal: [S, 'buffer'],
  C_DecryptInit: [S, 'mechanism', S],
  C_Decrypt: IO,
  C_DecryptUpdate: IO,
  C_DecryptFinal: [S, 'buffer'],
  C_DigestEncryptUpdate: IO,
  C_DecryptDigestUpdate: IO,
  C_SignEncryptUpdate: IO,
  C_DecryptVerifyUpdate: IO,
  C_GenerateKey: [S, 'mechanism', 'template'],
  C_GenerateKeyPair: [S, 'mechanism', 'template', 'template'],
  C_WrapKey: [S, 'mechanism', S, S, 'buffer'],
  C_UnwrapKey: [S, 'mechanism', S, 'buffer', 'template'],
  C_DeriveKey: [S, 'mechanism', S, 'template'],
  C_WaitForSlotEvent: ['ulong'],
  // PKCS#11 3.0: pkcs11js has none of these; the same kinds, with the message parameters (objects, or
  // null) and the interface name and version (null: any) checked by the calls (api/calls-v3.ts).
  C_GetInterfaceList: [],
  C_GetInterface: ['any?', 'any?', 'ulong?'],
  C_LoginUser: [S, 'ulong', 'pin', 'any?'],
  C_SessionCancel: [S, 'ulong'],
  C_MessageEncryptInit: [S, 'mechanism', S],
  C_EncryptMessage: [S, 'any', 'buffer', 'buffer', 'buffer'],
  C_EncryptMessageBegin: [S, 'any', 'buffer'],
  C_EncryptMessageNext: [S, 'any', 'buffer', 'buffer', 'ulong'],
  C_MessageEncryptFinal: [S],
  C_MessageDecryptInit: [S, 'mechanism', S],
  C_DecryptMessage: [S, 'any', 'buffer', 'buffer', 'buffer'],
  C_DecryptMessageBegin: [S, 'any', 'buffer'],
  C_DecryptMessageNext: [S, 'any', 'buffer', 'buffer', 'ulong'],
  C_MessageDecryptFinal: [S],
  C_MessageSignInit: [S, 'mechanism', S],
  C_SignMessage: [S, 'any', 'buffer', 'buffer'],
  C_SignMessageBegin: [S, 'any?'],
  C_SignMessageNext: [S, 'any', 'buffer', 'any'],
  C_MessageSignFinal: [S],
  C_MessageVerifyInit: [S, 'mechanism', S],
  C_VerifyMessage: [S, 'any', 'buffer', 'buffer'],
  C_VerifyMessageBegin: [S, 'any?'],
  C_VerifyMessageNext: [S, 'any', 'buffer', 'any'],
  C_MessageVerifyFinal: [S],
};

/**
 * The 3.0 C_Message*Init calls: a null mechanism (a cancel) needs no key. pkcs11js's own C_*Init keep its
 * TypeError for null, word for word; their operations end with C_SessionCancel.
 */
const CANCELLABLE_INIT = new Set([
  'C_MessageEncryptInit',
  'C_MessageDecryptInit',
  'C_MessageSignInit',
  'C_MessageVerifyInit',
]);

/** Bytes of a CK_ULONG, and so of a handle, in pkcs11js on 64-bit Linux and macOS. */
const HANDLE_BYTES = 8;

const wrongType = (i: number, what: string) =>
  new TypeError(`Argument ${i} has wrong type. ${what}`);

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `0x%08lX`, as pkcs11js prints attribute types. */
const hex8 = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

function checkMechanism(i: number, m: unknown): void {
  if (!isObject(m) || Array.isArray(m)) throw wrongType(i, 'Should be an Object');
  if (typeof m.mechanism !== 'number')
    throw wrongType(i, "Property 'mechanism' should be a Number");
  const p = m.parameter;
  if (p === undefined || p === null || typeof p === 'number' || isBytes(p)) return;
  if (!isObject(p)) throw wrongType(i, "Property 'parameter' should be an Object or Buffer");
  if (typeof p.type !== 'number') throw wrongType(i, "Property 'type' should be a Number");
}

/** A CK_DATE value: pkcs11js wants at least the 8 characters of YYYYMMDD, or a Date. */
function checkDate(type: number, v: unknown): void {
  if (v === undefined || v === null || v instanceof Date) return;
  const length = typeof v === 'string' ? Buffer.byteLength(v) : isBytes(v) ? v.length : -1;
  const what = `Attribute with type ${hex8(type)} is not convertible to CK_DATE.`;
  if (length < 0) throw new TypeError(`${what} Should be a String, Buffer or Date`);
  if (length < 8) {
    throw new TypeError(`${what} The length of the data should be at least 8 bytes.`);
  }
}

function checkTemplate(i: number, t: unknown): void {
  if (!Array.isArray(t)) throw wrongType(i, 'Should be an Array');
  checkElements(t);
}

function checkElements(t: readonly unknown[]): void {
  for (let j = 0; j < t.length; j++) {
    const a = t[j];
    if (!isObject(a)) throw new TypeError(`Element ${j} has wrong type. Should be an Object`);
    if (typeof a.type !== 'number') {
      throw new TypeError(`Element ${j} has wrong type. Property 'type' should be a Number`);
    }
    const v = a.value;
    if (attributeKind(a.type) === 'date') checkDate(a.type, v);
    // Dates and nested templates (CKA_WRAP_TEMPLATE …) are this API's additions to pkcs11js's kinds.
    else if (Array.isArray(v)) checkElements(v);
    else if (!isValue(v)) {
      throw new TypeError(
        `Element ${j} has wrong type. Property 'value' should be a Number, Boolean, String or Buffer`,
      );
    }
  }
}

function isValue(v: unknown): boolean {
  const t = typeof v;
  return (
    t === 'undefined' ||
    t === 'number' ||
    t === 'boolean' ||
    t === 'string' ||
    v === null ||
    isBytes(v) ||
    v instanceof Date
  );
}

function checkOne(kind: Kind, i: number, v: unknown): void {
  switch (kind) {
    case 'handle':
      if (!isBytes(v)) throw wrongType(i, 'Should be a Buffer');
      if (v.length !== HANDLE_BYTES) {
        throw new TypeError(`Argument ${i} has wrong length. Should be ${HANDLE_BYTES} bytes.`);
      }
      return;
    case 'buffer':
      if (!isBytes(v)) throw wrongType(i, 'Should be a Buffer');
      return;
    case 'ulong':
    case 'ulong?':
      if (typeof v !== 'number') throw wrongType(i, 'Should be a Number');
      return;
    case 'boolean?':
      if (typeof v !== 'boolean') throw wrongType(i, 'Should be a Boolean');
      return;
    case 'string':
    case 'string?':
      if (typeof v !== 'string') throw wrongType(i, 'Should be a String');
      return;
    case 'pin':
      if (typeof v !== 'string' && !isBytes(v)) throw wrongType(i, 'Should be a String');
      return;
    case 'mechanism':
      checkMechanism(i, v);
      return;
    case 'template':
      checkTemplate(i, v);
      return;
    case 'any':
    case 'any?':
      return;
  }
}

const SPECS = new Map(
  Object.entries(ARGUMENTS).map(([name, kinds]) => [
    name,
    { kinds, required: kinds.filter((k) => !k.endsWith('?')).length },
  ]),
);

/** The `i`th argument against its kind; an optional one (`?`) may be undefined. */
function checkAt(kinds: readonly Kind[], i: number, v: unknown): void {
  const kind = kinds[i] as Kind;
  if (!(v === undefined && kind.endsWith('?'))) checkOne(kind, i, v);
}

/**
 * Checks the arguments of `method` as pkcs11js does: the count first (pkcs11js's native functions take an
 * exact number; only C_GetSlotList reads what it needs and ignores the rest), then each argument in order.
 * `count` is how many were given, `a`…`g` the first six (no C function takes more, callback included).
 * `viaCallback`: the arguments end with the callback of a THREADED call (pkcs11js's C_*Callback path,
 * which C_*Async also takes), so one more is expected and the last must be a function.
 */
export function checkArguments(
  method: string,
  count: number,
  viaCallback: boolean,
  a?: unknown,
  b?: unknown,
  c?: unknown,
  d?: unknown,
  f?: unknown,
  g?: unknown,
): void {
  const spec = SPECS.get(method);
  if (!spec) return;
  // A null mechanism (3.0) ends the operation: nothing else of the call is looked at.
  if (b === null && CANCELLABLE_INIT.has(method) && isBytes(a)) return;
  const { kinds, required } = spec;
  const extra = viaCallback ? 1 : 0;
  const expected = kinds.length + extra;
  const tooMany = count > expected && method !== 'C_GetSlotList';
  if (count < required + extra || tooMany) {
    throw new TypeError(
      `Parameters are required. Expected ${expected} arguments, but received ${count}.`,
    );
  }
  // Positional, not an array of them: no allocation on the hot path.
  const n = kinds.length;
  if (n > 0) checkAt(kinds, 0, a);
  if (n > 1) checkAt(kinds, 1, b);
  if (n > 2) checkAt(kinds, 2, c);
  if (n > 3) checkAt(kinds, 3, d);
  if (n > 4) checkAt(kinds, 4, f);
  if (n > 5) checkAt(kinds, 5, g);
  if (viaCallback && typeof [a, b, c, d, f, g][n] !== 'function') {
    throw wrongType(n, 'Should be a Function');
  }
}

/** checkArguments over an array of arguments (the C_*Async forms, C_FindObjects). */
export function checkArgumentList(
  method: string,
  args: readonly unknown[],
  viaCallback = false,
): void {
  checkArguments(method, args.length, viaCallback, ...args.slice(0, 6));
}
