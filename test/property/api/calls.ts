/**
 * The catalogue of API calls a random sequence is drawn from: every C_* method of the PKCS11 class
 * with random arguments (in its plain, *Async and callback forms where it has them), plus "recipes" —
 * the same methods with valid arguments (open a R/W session, log in, generate an EC pair, start a
 * signature) so that sequences reach the states where the interesting failures live.
 * @module
 */
import fc from 'fast-check';
import * as C from '../../../src/pkcs11/constants.js';
import { USER_PIN } from '../../helpers/token.js';
import {
  type ArgSpec,
  type AttrSpec,
  data,
  junk,
  type KeyClass,
  type MechSpec,
  mechanism,
  num,
  object,
  out,
  pin,
  session,
  slot,
  template,
  templateSpec,
} from './args.js';
import { FIXTURES } from './fixtures.js';

export type Form = 'sync' | 'async' | 'callback';

export interface CallSpec {
  fn: string;
  form: Form;
  args: ArgSpec[];
}

/** pkcs11js runs these in its thread pool: they have *Async and callback forms. */
const WITH_ASYNC = new Set([
  'C_Digest',
  'C_DigestFinal',
  'C_Sign',
  'C_SignFinal',
  'C_Verify',
  'C_VerifyFinal',
  'C_Encrypt',
  'C_EncryptFinal',
  'C_Decrypt',
  'C_DecryptFinal',
  'C_GenerateKey',
  'C_GenerateKeyPair',
  'C_DeriveKey',
  'C_WrapKey',
  'C_UnwrapKey',
  'C_DigestEncryptUpdate',
  'C_DecryptDigestUpdate',
  'C_SignEncryptUpdate',
  'C_DecryptVerifyUpdate',
]);

type Args = fc.Arbitrary<ArgSpec | undefined>[];
const opt = (a: fc.Arbitrary<ArgSpec>) => fc.option(a, { nil: undefined, freq: 6 });

/** Random arguments per function, in the API's order. */
const RANDOM: Record<string, Args> = {
  C_GetInfo: [],
  C_GetSlotList: [fc.boolean().map((b): ArgSpec => ({ k: 'bool', b }))],
  C_GetSlotInfo: [slot],
  C_GetTokenInfo: [slot],
  C_GetMechanismList: [slot],
  C_GetMechanismInfo: [slot, num],
  C_InitToken: [
    slot,
    pin,
    fc.string({ maxLength: 40 }).map((s): ArgSpec => ({ k: 'pin', pin: s })),
  ],
  C_InitPIN: [session, pin],
  C_SetPIN: [session, pin, pin],
  C_OpenSession: [slot, num],
  C_CloseSession: [session],
  C_CloseAllSessions: [slot],
  C_GetSessionInfo: [session],
  C_Login: [session, num, pin],
  C_Logout: [session],
  C_CreateObject: [session, template],
  C_CopyObject: [session, object, template],
  C_DestroyObject: [session, object],
  C_GetObjectSize: [session, object],
  C_GetAttributeValue: [session, object, template],
  C_SetAttributeValue: [session, object, template],
  C_FindObjectsInit: [session, template],
  C_FindObjectsFinal: [session],
  C_WaitForSlotEvent: [num],
  C_DigestInit: [session, mechanism],
  C_Digest: [session, data, out],
  C_DigestUpdate: [session, data],
  C_DigestKey: [session, object],
  C_DigestFinal: [session, out],
  C_SignInit: [session, mechanism, object],
  C_Sign: [session, data, out],
  C_SignUpdate: [session, data],
  C_SignFinal: [session, out],
  C_VerifyInit: [session, mechanism, object],
  C_Verify: [session, data, data],
  C_VerifyUpdate: [session, data],
  C_VerifyFinal: [session, data],
  C_EncryptInit: [session, mechanism, object],
  C_Encrypt: [session, data, out],
  C_EncryptUpdate: [session, data, out],
  C_EncryptFinal: [session, out],
  C_DecryptInit: [session, mechanism, object],
  C_Decrypt: [session, data, out],
  C_DecryptUpdate: [session, data, out],
  C_DecryptFinal: [session, out],
  C_GenerateKey: [session, mechanism, template],
  C_GenerateKeyPair: [session, mechanism, template, template],
  C_WrapKey: [session, mechanism, object, object, out],
  C_UnwrapKey: [session, mechanism, object, data, template],
  C_DeriveKey: [session, mechanism, object, template],
  C_SeedRandom: [session, data],
  C_GenerateRandom: [session, out],
  C_SignRecoverInit: [session, mechanism, object],
  C_SignRecover: [session, data, out],
  C_VerifyRecoverInit: [session, mechanism, object],
  C_VerifyRecover: [session, data, out],
  C_GetOperationState: [session],
  C_SetOperationState: [session, data, object, object],
  C_DigestEncryptUpdate: [session, data, out],
  C_DecryptDigestUpdate: [session, data, out],
  C_SignEncryptUpdate: [session, data, out],
  C_DecryptVerifyUpdate: [session, data, out],
};

const RARE: Record<string, Args> = {
  C_Initialize: [fc.constantFrom<ArgSpec>({ k: 'junk', v: undefined }, { k: 'junk', v: {} })],
  C_Finalize: [],
  C_FindObjects: [session, opt(num)],
};

function randomCall(fn: string, args: Args): fc.Arbitrary<CallSpec> {
  const form: fc.Arbitrary<Form> = WITH_ASYNC.has(fn)
    ? fc.constantFrom<Form>('sync', 'sync', 'async', 'callback')
    : fc.constant<Form>('sync');
  return fc
    .tuple(form, fc.tuple(...args))
    .map(([f, a]) => ({ fn, form: f, args: a.filter((x): x is ArgSpec => x !== undefined) }));
}

// --- recipes: valid arguments ---

const bool = (type: number, b: boolean): AttrSpec => ({ type, value: { v: 'bool', b } });
const ulongAttr = (type: number, n: number): AttrSpec => ({ type, value: { v: 'num', n } });
const P256 = '06082a8648ce3d030107';
const tpl = (t: AttrSpec[]): ArgSpec => ({ k: 'template', t });
const mech = (m: MechSpec): ArgSpec => ({ k: 'mechanism', m });
const s0 = fc.nat(7).map((i): ArgSpec => ({ k: 'session', i }));
const flags = fc.record({ token: fc.boolean(), priv: fc.boolean() });

const PSS: MechSpec = {
  mechanism: C.CKM_SHA256_RSA_PKCS_PSS,
  parameter: {
    p: 'struct',
    fields: {
      type: C.CK_PARAMS_RSA_PSS,
      hashAlg: C.CKM_SHA256,
      mgf: C.CKG_MGF1_SHA256,
      saltLen: 32,
    },
  },
};
const GCM: MechSpec = {
  mechanism: C.CKM_AES_GCM,
  parameter: {
    p: 'struct',
    fields: { type: C.CK_PARAMS_AES_GCM, iv: { v: 'bytes', n: 12, fill: 3 }, tagBits: 128 },
  },
};
const OAEP: MechSpec = {
  mechanism: C.CKM_RSA_PKCS_OAEP,
  parameter: {
    p: 'struct',
    fields: {
      type: C.CK_PARAMS_RSA_OAEP,
      hashAlg: C.CKM_SHA256,
      mgf: C.CKG_MGF1_SHA256,
      source: 1,
    },
  },
};
const m = (mechanism: number, parameter?: MechSpec['parameter']): MechSpec =>
  parameter ? { mechanism, parameter } : { mechanism };
const EC_SIGN = [m(C.CKM_ECDSA_SHA256), m(C.CKM_ECDSA), m(C.CKM_ECDSA_SHA384)];
const RSA_SIGN = [m(C.CKM_SHA256_RSA_PKCS), m(C.CKM_RSA_PKCS), PSS];
const HMAC = [m(C.CKM_SHA256_HMAC), m(C.CKM_SHA256_HMAC_GENERAL, { p: 'num', n: 16 })];
const AES_MAC = [m(C.CKM_AES_CMAC), m(C.CKM_AES_CMAC_GENERAL, { p: 'num', n: 8 })];
const AES_CIPHER = [
  m(C.CKM_AES_CBC_PAD, { p: 'bytes', n: 16, fill: 1 }),
  m(C.CKM_AES_CBC, { p: 'bytes', n: 16, fill: 2 }),
  m(C.CKM_AES_ECB),
  GCM,
  m(C.CKM_AES_CTR, { p: 'bytes', n: 16, fill: 0 }),
];
const RSA_CIPHER = [OAEP, m(C.CKM_RSA_X_509)];

/** Keyed C_*Init with a mechanism that fits the kind of key it is given. */
const KEYED_INITS: [fn: string, cls: KeyClass, mechanisms: MechSpec[]][] = [
  ['C_SignInit', 'ecPrivate', EC_SIGN],
  ['C_SignInit', 'rsaPrivate', RSA_SIGN],
  ['C_SignInit', 'hmac', HMAC],
  ['C_SignInit', 'aes', AES_MAC],
  ['C_VerifyInit', 'ecPublic', EC_SIGN],
  ['C_VerifyInit', 'rsaPublic', RSA_SIGN],
  ['C_VerifyInit', 'hmac', HMAC],
  ['C_VerifyInit', 'aes', AES_MAC],
  ['C_EncryptInit', 'aes', AES_CIPHER],
  ['C_EncryptInit', 'rsaPublic', RSA_CIPHER],
  ['C_DecryptInit', 'aes', AES_CIPHER],
  ['C_DecryptInit', 'rsaPrivate', RSA_CIPHER],
];
const keyedInit = fc.oneof(
  ...KEYED_INITS.map(([fn, cls, mechanisms]) =>
    fc.tuple(s0, fc.constantFrom(...mechanisms), fc.nat(7)).map(([s, mech0, i]) => ({
      fn,
      form: 'sync' as const,
      args: [s, mech(mech0), { k: 'key', cls, i } as ArgSpec],
    })),
  ),
);

/** Data calls of an active operation, with buffers big enough to succeed. */
const PROCESS_CALLS: [fn: string, args: 'in-out' | 'in' | 'out' | 'in-in'][] = [
  ['C_Sign', 'in-out'],
  ['C_SignUpdate', 'in'],
  ['C_SignFinal', 'out'],
  ['C_Verify', 'in-in'],
  ['C_VerifyUpdate', 'in'],
  ['C_VerifyFinal', 'in'],
  ['C_Encrypt', 'in-out'],
  ['C_EncryptUpdate', 'in-out'],
  ['C_EncryptFinal', 'out'],
  ['C_Decrypt', 'in-out'],
  ['C_DecryptUpdate', 'in-out'],
  ['C_DecryptFinal', 'out'],
  ['C_Digest', 'in-out'],
  ['C_DigestUpdate', 'in'],
  ['C_DigestFinal', 'out'],
];
const blockData = fc
  .record({ n: fc.constantFrom(0, 16, 20, 32, 48, 64, 100, 256), fill: fc.nat(255) })
  .map((b): ArgSpec => ({ k: 'data', ...b }));
const bigOut: ArgSpec = { k: 'out', n: 1024 };
const processCall = fc
  .tuple(
    fc.constantFrom(...PROCESS_CALLS),
    s0,
    blockData,
    blockData,
    fc.constantFrom<Form>('sync', 'sync', 'async'),
  )
  .map(([[fn, shape], s, a, b, form]) => {
    const args: ArgSpec[] =
      shape === 'in-out'
        ? [s, a, bigOut]
        : shape === 'in'
          ? [s, a]
          : shape === 'out'
            ? [s, bigOut]
            : [s, a, b];
    return { fn, form: WITH_ASYNC.has(fn) ? form : ('sync' as const), args };
  });
const digestInit = fc
  .tuple(s0, fc.constantFrom(C.CKM_SHA256, C.CKM_SHA_1, C.CKM_SHA384, C.CKM_SHA512))
  .map(([s, mechanism]) => ({
    fn: 'C_DigestInit',
    form: 'sync' as const,
    args: [s, mech({ mechanism })],
  }));

const RECIPES: fc.Arbitrary<CallSpec>[] = [
  fc.boolean().map((rw) => ({
    fn: 'C_OpenSession',
    form: 'sync' as const,
    args: [
      { k: 'slot' } as ArgSpec,
      { k: 'num', n: C.CKF_SERIAL_SESSION | (rw ? C.CKF_RW_SESSION : 0) } as ArgSpec,
    ],
  })),
  s0.map((s) => ({
    fn: 'C_Login',
    form: 'sync' as const,
    args: [s, { k: 'num', n: C.CKU_USER } as ArgSpec, { k: 'pin', pin: USER_PIN } as ArgSpec],
  })),
  fc.tuple(s0, fc.constantFrom(...FIXTURES), flags).map(([s, name, f]) => ({
    fn: 'C_CreateObject',
    form: 'sync' as const,
    args: [s, { k: 'fixture', name, token: f.token, priv: f.priv } as ArgSpec],
  })),
  fc.tuple(s0, flags, fc.constantFrom<Form>('sync', 'async')).map(([s, f, form]) => ({
    fn: 'C_GenerateKeyPair',
    form,
    args: [
      s,
      mech({ mechanism: C.CKM_EC_KEY_PAIR_GEN }),
      tpl([
        { type: C.CKA_EC_PARAMS, value: { v: 'hex', h: P256 } },
        bool(C.CKA_TOKEN, f.token),
        bool(C.CKA_VERIFY, true),
      ]),
      tpl([
        bool(C.CKA_TOKEN, f.token),
        bool(C.CKA_PRIVATE, f.priv),
        bool(C.CKA_SIGN, true),
        bool(C.CKA_DERIVE, true),
      ]),
    ],
  })),
  fc.tuple(s0, flags, fc.constantFrom(16, 24, 32)).map(([s, f, len]) => ({
    fn: 'C_GenerateKey',
    form: 'sync' as const,
    args: [
      s,
      mech({ mechanism: C.CKM_AES_KEY_GEN }),
      tpl([
        ulongAttr(C.CKA_VALUE_LEN, len),
        bool(C.CKA_TOKEN, f.token),
        bool(C.CKA_PRIVATE, f.priv),
        bool(C.CKA_ENCRYPT, true),
        bool(C.CKA_DECRYPT, true),
        bool(C.CKA_SIGN, true),
      ]),
    ],
  })),
  keyedInit,
  keyedInit,
  processCall,
  processCall,
  processCall,
  digestInit,
  fc.tuple(s0, fc.option(fc.nat(40), { nil: undefined })).map(([s, n]) => ({
    fn: 'C_FindObjectsInit',
    form: 'sync' as const,
    args: [s, tpl(n === undefined ? [] : [ulongAttr(C.CKA_CLASS, n % 5)])],
  })),
  fc.tuple(s0, fc.nat(40)).map(([s, n]) => ({
    fn: 'C_FindObjects',
    form: 'sync' as const,
    args: [s, { k: 'num', n } as ArgSpec],
  })),
];

/** One call of a sequence: mostly random arguments, often a recipe, rarely a (re)initialization. */
export const callSpec: fc.Arbitrary<CallSpec> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.oneof(...Object.entries(RANDOM).map(([fn, a]) => randomCall(fn, a))),
  },
  { weight: 40, arbitrary: fc.oneof(...RECIPES) },
  { weight: 1, arbitrary: fc.oneof(...Object.entries(RARE).map(([fn, a]) => randomCall(fn, a))) },
  {
    weight: 1,
    arbitrary: junk.map(
      (v): CallSpec => ({
        fn: 'C_OpenSession',
        form: 'sync',
        args: [{ k: 'slot' }, { k: 'junk', v }],
      }),
    ),
  },
);

// --- chains: an operation from its C_*Init to its end, on one session ---

const KIND_CALLS = {
  sign: { single: 'C_Sign', update: 'C_SignUpdate', final: 'C_SignFinal' },
  verify: { single: 'C_Verify', update: 'C_VerifyUpdate', final: 'C_VerifyFinal' },
  encrypt: { single: 'C_Encrypt', update: 'C_EncryptUpdate', final: 'C_EncryptFinal' },
  decrypt: { single: 'C_Decrypt', update: 'C_DecryptUpdate', final: 'C_DecryptFinal' },
  digest: { single: 'C_Digest', update: 'C_DigestUpdate', final: 'C_DigestFinal' },
} as const;
type Kind = keyof typeof KIND_CALLS;

const INIT_KIND: Record<string, Kind> = {
  C_SignInit: 'sign',
  C_VerifyInit: 'verify',
  C_EncryptInit: 'encrypt',
  C_DecryptInit: 'decrypt',
};

/** The calls after an init: one single-part call, or updates then a final (with buffers that fit). */
function runOf(kind: Kind, session: ArgSpec): fc.Arbitrary<CallSpec[]> {
  const c = KIND_CALLS[kind];
  const cipher = kind === 'encrypt' || kind === 'decrypt';
  const call = (fn: string, args: ArgSpec[], form: Form): CallSpec => ({
    fn,
    form: WITH_ASYNC.has(fn) ? form : 'sync',
    args,
  });
  const form = fc.constantFrom<Form>('sync', 'sync', 'async', 'callback');
  const single = fc
    .tuple(blockData, blockData, form)
    .map(([a, b, f]) => [
      call(c.single, kind === 'verify' ? [session, a, b] : [session, a, bigOut], f),
    ]);
  const multi = fc
    .tuple(fc.array(blockData, { maxLength: 3 }), blockData, form)
    .map(([parts, last, f]) => [
      ...parts.map((d) => call(c.update, cipher ? [session, d, bigOut] : [session, d], 'sync')),
      call(c.final, kind === 'verify' ? [session, last] : [session, bigOut], f),
    ]);
  return fc.oneof(single, multi);
}

const keyedChain = keyedInit.chain((init) => {
  const session = init.args[0] as ArgSpec;
  return runOf(INIT_KIND[init.fn] as Kind, session).map((rest) => [init, ...rest]);
});

const digestChain = digestInit.chain((init) =>
  runOf('digest', init.args[0] as ArgSpec).map((rest) => [init, ...rest]),
);

const findChain = fc.tuple(s0, templateSpec, fc.nat(20)).map(([s, t, n]): CallSpec[] => [
  { fn: 'C_FindObjectsInit', form: 'sync', args: [s, { k: 'template', t }] },
  { fn: 'C_FindObjects', form: 'sync', args: [s, { k: 'num', n }] },
  { fn: 'C_FindObjectsFinal', form: 'sync', args: [s] },
]);

/** A step of a sequence: one call, or a chain of calls that carries an operation to its end. */
export const callGroup: fc.Arbitrary<CallSpec[]> = fc.oneof(
  { weight: 6, arbitrary: callSpec.map((c) => [c]) },
  { weight: 2, arbitrary: keyedChain },
  { weight: 1, arbitrary: digestChain },
  { weight: 1, arbitrary: findChain },
);
