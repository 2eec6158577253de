/**
 * The return values PKCS#11 v2.40 allows each function (base spec §5: the "Return values" list of every
 * function), plus the universal ones of §5.1: every function may return CKR_OK, CKR_GENERAL_ERROR,
 * CKR_HOST_MEMORY, CKR_FUNCTION_FAILED, CKR_FUNCTION_NOT_SUPPORTED (§5.1.6: unsupported functions are
 * stubs) and CKR_ARGUMENTS_BAD (§5.1.6, generic); every function but C_Initialize may return
 * CKR_CRYPTOKI_NOT_INITIALIZED; functions with a session handle add §5.1.2 (SESSION_HANDLE_INVALID,
 * SESSION_CLOSED, DEVICE_REMOVED) and functions that reach the token add §5.1.3 (DEVICE_ERROR,
 * DEVICE_MEMORY, DEVICE_REMOVED, TOKEN_NOT_PRESENT).
 * @module
 */
import * as C from '../../../src/pkcs11/constants.js';

const UNIVERSAL = [
  C.CKR_OK,
  C.CKR_GENERAL_ERROR,
  C.CKR_HOST_MEMORY,
  C.CKR_FUNCTION_FAILED,
  C.CKR_FUNCTION_NOT_SUPPORTED,
  C.CKR_ARGUMENTS_BAD,
];
const SESSION = [C.CKR_SESSION_HANDLE_INVALID, C.CKR_SESSION_CLOSED, C.CKR_DEVICE_REMOVED];
const TOKEN = [
  C.CKR_DEVICE_ERROR,
  C.CKR_DEVICE_MEMORY,
  C.CKR_DEVICE_REMOVED,
  C.CKR_TOKEN_NOT_PRESENT,
];
const SLOT = [C.CKR_SLOT_ID_INVALID, C.CKR_TOKEN_NOT_RECOGNIZED, ...TOKEN];

/** What every C_*Init of a keyed operation (encrypt, decrypt, sign, verify) lists. */
const KEYED_INIT = [
  ...SESSION,
  ...TOKEN,
  C.CKR_FUNCTION_CANCELED,
  C.CKR_KEY_FUNCTION_NOT_PERMITTED,
  C.CKR_KEY_HANDLE_INVALID,
  C.CKR_KEY_SIZE_RANGE,
  C.CKR_KEY_TYPE_INCONSISTENT,
  C.CKR_MECHANISM_INVALID,
  C.CKR_MECHANISM_PARAM_INVALID,
  C.CKR_OPERATION_ACTIVE,
  C.CKR_PIN_EXPIRED,
  C.CKR_USER_NOT_LOGGED_IN,
];

/** What a data-processing call of an active operation lists (C_Sign, C_EncryptUpdate, …). */
const PROCESS = [
  ...SESSION,
  ...TOKEN,
  C.CKR_BUFFER_TOO_SMALL,
  C.CKR_FUNCTION_CANCELED,
  C.CKR_OPERATION_NOT_INITIALIZED,
];

const TEMPLATE = [
  C.CKR_ATTRIBUTE_READ_ONLY,
  C.CKR_ATTRIBUTE_TYPE_INVALID,
  C.CKR_ATTRIBUTE_VALUE_INVALID,
  C.CKR_TEMPLATE_INCOMPLETE,
  C.CKR_TEMPLATE_INCONSISTENT,
];

const KEY_CREATION = [
  ...SESSION,
  ...TOKEN,
  ...TEMPLATE,
  C.CKR_CURVE_NOT_SUPPORTED,
  C.CKR_FUNCTION_CANCELED,
  C.CKR_MECHANISM_INVALID,
  C.CKR_MECHANISM_PARAM_INVALID,
  C.CKR_OPERATION_ACTIVE,
  C.CKR_PIN_EXPIRED,
  C.CKR_SESSION_READ_ONLY,
  C.CKR_TOKEN_WRITE_PROTECTED,
  C.CKR_USER_NOT_LOGGED_IN,
];

const PIN_SETTING = [
  ...SESSION,
  ...TOKEN,
  C.CKR_FUNCTION_CANCELED,
  C.CKR_PIN_INVALID,
  C.CKR_PIN_LEN_RANGE,
  C.CKR_SESSION_READ_ONLY,
  C.CKR_TOKEN_WRITE_PROTECTED,
];

const LISTS: Record<string, number[]> = {
  C_Initialize: [C.CKR_CANT_LOCK, C.CKR_CRYPTOKI_ALREADY_INITIALIZED, C.CKR_NEED_TO_CREATE_THREADS],
  C_Finalize: [],
  C_GetInfo: [],
  C_GetSlotList: [C.CKR_BUFFER_TOO_SMALL],
  C_GetSlotInfo: [C.CKR_SLOT_ID_INVALID, C.CKR_DEVICE_ERROR],
  C_GetTokenInfo: SLOT,
  C_WaitForSlotEvent: [C.CKR_NO_EVENT],
  C_GetMechanismList: [...SLOT, C.CKR_BUFFER_TOO_SMALL],
  C_GetMechanismInfo: [...SLOT, C.CKR_MECHANISM_INVALID],
  C_InitToken: [
    ...SLOT,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_PIN_INCORRECT,
    C.CKR_PIN_LOCKED,
    C.CKR_SESSION_EXISTS,
    C.CKR_TOKEN_WRITE_PROTECTED,
  ],
  C_InitPIN: [...PIN_SETTING, C.CKR_USER_NOT_LOGGED_IN],
  C_SetPIN: [...PIN_SETTING, C.CKR_PIN_INCORRECT, C.CKR_PIN_LOCKED],
  C_OpenSession: [
    ...SLOT,
    C.CKR_SESSION_COUNT,
    C.CKR_SESSION_PARALLEL_NOT_SUPPORTED,
    C.CKR_SESSION_READ_WRITE_SO_EXISTS,
    C.CKR_TOKEN_WRITE_PROTECTED,
  ],
  C_CloseSession: [...SESSION, ...TOKEN],
  C_CloseAllSessions: SLOT,
  C_GetSessionInfo: [...SESSION, ...TOKEN],
  C_GetOperationState: [
    ...SESSION,
    ...TOKEN,
    C.CKR_BUFFER_TOO_SMALL,
    C.CKR_OPERATION_NOT_INITIALIZED,
    C.CKR_STATE_UNSAVEABLE,
  ],
  C_SetOperationState: [
    ...SESSION,
    ...TOKEN,
    C.CKR_KEY_CHANGED,
    C.CKR_KEY_NEEDED,
    C.CKR_KEY_NOT_NEEDED,
    C.CKR_SAVED_STATE_INVALID,
  ],
  C_Login: [
    ...SESSION,
    ...TOKEN,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_OPERATION_NOT_INITIALIZED,
    C.CKR_PIN_INCORRECT,
    C.CKR_PIN_LOCKED,
    C.CKR_SESSION_READ_ONLY_EXISTS,
    C.CKR_USER_ALREADY_LOGGED_IN,
    C.CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
    C.CKR_USER_PIN_NOT_INITIALIZED,
    C.CKR_USER_TOO_MANY_TYPES,
    C.CKR_USER_TYPE_INVALID,
  ],
  C_Logout: [...SESSION, ...TOKEN, C.CKR_USER_NOT_LOGGED_IN],
  C_CreateObject: [
    ...SESSION,
    ...TOKEN,
    ...TEMPLATE,
    C.CKR_CURVE_NOT_SUPPORTED,
    C.CKR_DOMAIN_PARAMS_INVALID,
    C.CKR_PIN_EXPIRED,
    C.CKR_SESSION_READ_ONLY,
    C.CKR_TOKEN_WRITE_PROTECTED,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_CopyObject: [
    ...SESSION,
    ...TOKEN,
    C.CKR_ACTION_PROHIBITED,
    C.CKR_ATTRIBUTE_READ_ONLY,
    C.CKR_ATTRIBUTE_TYPE_INVALID,
    C.CKR_ATTRIBUTE_VALUE_INVALID,
    C.CKR_OBJECT_HANDLE_INVALID,
    C.CKR_PIN_EXPIRED,
    C.CKR_SESSION_READ_ONLY,
    C.CKR_TEMPLATE_INCONSISTENT,
    C.CKR_TOKEN_WRITE_PROTECTED,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_DestroyObject: [
    ...SESSION,
    ...TOKEN,
    C.CKR_ACTION_PROHIBITED,
    C.CKR_OBJECT_HANDLE_INVALID,
    C.CKR_PIN_EXPIRED,
    C.CKR_SESSION_READ_ONLY,
    C.CKR_TOKEN_WRITE_PROTECTED,
  ],
  C_GetObjectSize: [...SESSION, ...TOKEN, C.CKR_INFORMATION_SENSITIVE, C.CKR_OBJECT_HANDLE_INVALID],
  C_GetAttributeValue: [
    ...SESSION,
    ...TOKEN,
    C.CKR_ATTRIBUTE_SENSITIVE,
    C.CKR_ATTRIBUTE_TYPE_INVALID,
    C.CKR_BUFFER_TOO_SMALL,
    C.CKR_OBJECT_HANDLE_INVALID,
  ],
  C_SetAttributeValue: [
    ...SESSION,
    ...TOKEN,
    C.CKR_ACTION_PROHIBITED,
    C.CKR_ATTRIBUTE_READ_ONLY,
    C.CKR_ATTRIBUTE_TYPE_INVALID,
    C.CKR_ATTRIBUTE_VALUE_INVALID,
    C.CKR_OBJECT_HANDLE_INVALID,
    C.CKR_SESSION_READ_ONLY,
    C.CKR_TEMPLATE_INCONSISTENT,
    C.CKR_TOKEN_WRITE_PROTECTED,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_FindObjectsInit: [
    ...SESSION,
    ...TOKEN,
    C.CKR_ATTRIBUTE_TYPE_INVALID,
    C.CKR_ATTRIBUTE_VALUE_INVALID,
    C.CKR_OPERATION_ACTIVE,
    C.CKR_PIN_EXPIRED,
  ],
  C_FindObjects: [...SESSION, ...TOKEN, C.CKR_OPERATION_NOT_INITIALIZED],
  C_FindObjectsFinal: [...SESSION, ...TOKEN, C.CKR_OPERATION_NOT_INITIALIZED],
  C_EncryptInit: KEYED_INIT,
  C_Encrypt: [...PROCESS, C.CKR_DATA_INVALID, C.CKR_DATA_LEN_RANGE],
  C_EncryptUpdate: [...PROCESS, C.CKR_DATA_LEN_RANGE],
  C_EncryptFinal: [...PROCESS, C.CKR_DATA_LEN_RANGE],
  C_DecryptInit: KEYED_INIT,
  C_Decrypt: [
    ...PROCESS,
    C.CKR_ENCRYPTED_DATA_INVALID,
    C.CKR_ENCRYPTED_DATA_LEN_RANGE,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_DecryptUpdate: [
    ...PROCESS,
    C.CKR_ENCRYPTED_DATA_INVALID,
    C.CKR_ENCRYPTED_DATA_LEN_RANGE,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_DecryptFinal: [
    ...PROCESS,
    C.CKR_ENCRYPTED_DATA_INVALID,
    C.CKR_ENCRYPTED_DATA_LEN_RANGE,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_DigestInit: [
    ...SESSION,
    ...TOKEN,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_MECHANISM_INVALID,
    C.CKR_MECHANISM_PARAM_INVALID,
    C.CKR_OPERATION_ACTIVE,
    C.CKR_PIN_EXPIRED,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_Digest: PROCESS,
  C_DigestUpdate: PROCESS,
  C_DigestKey: [...PROCESS, C.CKR_KEY_HANDLE_INVALID, C.CKR_KEY_INDIGESTIBLE, C.CKR_KEY_SIZE_RANGE],
  C_DigestFinal: PROCESS,
  C_SignInit: KEYED_INIT,
  C_Sign: [
    ...PROCESS,
    C.CKR_DATA_INVALID,
    C.CKR_DATA_LEN_RANGE,
    C.CKR_USER_NOT_LOGGED_IN,
    C.CKR_FUNCTION_REJECTED,
  ],
  C_SignUpdate: [...PROCESS, C.CKR_DATA_LEN_RANGE, C.CKR_USER_NOT_LOGGED_IN],
  C_SignFinal: [
    ...PROCESS,
    C.CKR_DATA_LEN_RANGE,
    C.CKR_USER_NOT_LOGGED_IN,
    C.CKR_FUNCTION_REJECTED,
  ],
  C_SignRecoverInit: KEYED_INIT,
  C_SignRecover: [...PROCESS, C.CKR_DATA_INVALID, C.CKR_DATA_LEN_RANGE],
  C_VerifyInit: KEYED_INIT,
  C_Verify: [
    ...PROCESS,
    C.CKR_DATA_INVALID,
    C.CKR_DATA_LEN_RANGE,
    C.CKR_SIGNATURE_INVALID,
    C.CKR_SIGNATURE_LEN_RANGE,
  ],
  C_VerifyUpdate: [...PROCESS, C.CKR_DATA_LEN_RANGE],
  C_VerifyFinal: [
    ...PROCESS,
    C.CKR_DATA_LEN_RANGE,
    C.CKR_SIGNATURE_INVALID,
    C.CKR_SIGNATURE_LEN_RANGE,
  ],
  C_VerifyRecoverInit: KEYED_INIT,
  C_VerifyRecover: [
    ...PROCESS,
    C.CKR_DATA_INVALID,
    C.CKR_DATA_LEN_RANGE,
    C.CKR_SIGNATURE_INVALID,
    C.CKR_SIGNATURE_LEN_RANGE,
  ],
  C_DigestEncryptUpdate: [...PROCESS, C.CKR_DATA_LEN_RANGE],
  C_DecryptDigestUpdate: [...PROCESS, C.CKR_ENCRYPTED_DATA_INVALID, C.CKR_ENCRYPTED_DATA_LEN_RANGE],
  C_SignEncryptUpdate: [...PROCESS, C.CKR_DATA_LEN_RANGE, C.CKR_USER_NOT_LOGGED_IN],
  C_DecryptVerifyUpdate: [...PROCESS, C.CKR_ENCRYPTED_DATA_INVALID, C.CKR_ENCRYPTED_DATA_LEN_RANGE],
  C_GenerateKey: KEY_CREATION,
  C_GenerateKeyPair: [...KEY_CREATION, C.CKR_DOMAIN_PARAMS_INVALID],
  C_WrapKey: [
    ...SESSION,
    ...TOKEN,
    C.CKR_BUFFER_TOO_SMALL,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_KEY_HANDLE_INVALID,
    C.CKR_KEY_NOT_WRAPPABLE,
    C.CKR_KEY_SIZE_RANGE,
    C.CKR_KEY_UNEXTRACTABLE,
    C.CKR_MECHANISM_INVALID,
    C.CKR_MECHANISM_PARAM_INVALID,
    C.CKR_OPERATION_ACTIVE,
    C.CKR_PIN_EXPIRED,
    C.CKR_USER_NOT_LOGGED_IN,
    C.CKR_WRAPPING_KEY_HANDLE_INVALID,
    C.CKR_WRAPPING_KEY_SIZE_RANGE,
    C.CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
  ],
  C_UnwrapKey: [
    ...KEY_CREATION,
    C.CKR_BUFFER_TOO_SMALL,
    C.CKR_DOMAIN_PARAMS_INVALID,
    C.CKR_UNWRAPPING_KEY_HANDLE_INVALID,
    C.CKR_UNWRAPPING_KEY_SIZE_RANGE,
    C.CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
    C.CKR_WRAPPED_KEY_INVALID,
    C.CKR_WRAPPED_KEY_LEN_RANGE,
  ],
  C_DeriveKey: [
    ...KEY_CREATION,
    C.CKR_DOMAIN_PARAMS_INVALID,
    C.CKR_KEY_HANDLE_INVALID,
    C.CKR_KEY_SIZE_RANGE,
    C.CKR_KEY_TYPE_INCONSISTENT,
  ],
  C_SeedRandom: [
    ...SESSION,
    ...TOKEN,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_OPERATION_ACTIVE,
    C.CKR_RANDOM_SEED_NOT_SUPPORTED,
    C.CKR_RANDOM_NO_RNG,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
  C_GenerateRandom: [
    ...SESSION,
    ...TOKEN,
    C.CKR_FUNCTION_CANCELED,
    C.CKR_OPERATION_ACTIVE,
    C.CKR_RANDOM_NO_RNG,
    C.CKR_USER_NOT_LOGGED_IN,
  ],
};

/**
 * Answers outside the v2.40 lists that the token gives on purpose, each with its reason. The property
 * accepts them and counts them, so they stay visible.
 */
const SINGLE_AFTER_UPDATE =
  'a single-part call after C_*Update (test/matrix/digest-random.test.ts asks for it); the operation ' +
  'ends, as any error but CKR_BUFFER_TOO_SMALL ends it';
const REPEAT_BIGGER =
  'a cipher call other than the one that got CKR_BUFFER_TOO_SMALL, before that one is repeated';

export const DEVIATIONS: ReadonlyMap<string, ReadonlyMap<number, string>> = new Map([
  ...['C_Digest', 'C_Sign', 'C_Verify'].map(
    (fn) => [fn, new Map([[C.CKR_OPERATION_ACTIVE, SINGLE_AFTER_UPDATE]])] as const,
  ),
  ...['C_Encrypt', 'C_Decrypt'].map(
    (fn) =>
      [
        fn,
        new Map([[C.CKR_OPERATION_ACTIVE, `${SINGLE_AFTER_UPDATE}; or ${REPEAT_BIGGER}`]]),
      ] as const,
  ),
  ...['C_EncryptUpdate', 'C_EncryptFinal', 'C_DecryptUpdate', 'C_DecryptFinal'].map(
    (fn) => [fn, new Map([[C.CKR_OPERATION_ACTIVE, REPEAT_BIGGER]])] as const,
  ),
  ...['C_WrapKey', 'C_UnwrapKey'].map(
    (fn) =>
      [
        fn,
        new Map([
          [
            C.CKR_KEY_FUNCTION_NOT_PERMITTED,
            'a wrapping key without CKA_WRAP/CKA_UNWRAP, or a wrapping key that may also decrypt ' +
              '(it would reveal what it wraps): the general code for a key whose attributes forbid ' +
              'the use (v2.40 §5.1.6), which SoftHSMv2 also answers here',
          ],
        ]),
      ] as const,
  ),
  [
    'C_DeriveKey',
    new Map([
      [
        C.CKR_KEY_FUNCTION_NOT_PERMITTED,
        'a base key without CKA_DERIVE: the general code for a key whose attributes forbid the use ' +
          '(v2.40 §5.1.6), which SoftHSMv2 also answers here',
      ],
    ]),
  ],
  [
    'C_InitToken',
    new Map([
      [
        C.CKR_PIN_LEN_RANGE,
        "a new token's first SO PIN of the wrong length (test/matrix/session-login.test.ts asks for " +
          'it; SoftHSMv2 answers CKR_PIN_INCORRECT); reinitializing answers CKR_PIN_INCORRECT',
      ],
    ]),
  ],
]);

/** Function name → every CK_RV it may return. */
export const ALLOWED_RV: ReadonlyMap<string, ReadonlySet<number>> = new Map(
  Object.entries(LISTS).map(([name, list]) => {
    const all = new Set([...UNIVERSAL, ...list]);
    if (name !== 'C_Initialize') all.add(C.CKR_CRYPTOKI_NOT_INITIALIZED);
    return [name, all];
  }),
);

/** True when `rv` is one `fn` may return; an unknown function name is a test bug. */
export function isAllowed(fn: string, rv: number): boolean {
  const set = ALLOWED_RV.get(fn);
  if (!set) throw new Error(`no return-value list for ${fn}`);
  return set.has(rv);
}

/** True when `rv` is a listed deviation of `fn` (see DEVIATIONS). */
export function isDeviation(fn: string, rv: number): boolean {
  return DEVIATIONS.get(fn)?.has(rv) === true;
}
