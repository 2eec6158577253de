/**
 * Full_PKCS11_StartFinish (general-purpose, slot and session functions) and Full_PKCS11_Capabilities
 * (mechanism information). C checks that need a caller-sized array or a non-NULL reserved pointer have
 * no form in the pkcs11js API (it sizes slot lists itself and always passes NULL to C_Finalize); those
 * are marked where they would be and replaced by the nearest check the API can express. Layer L7.
 * @module
 */
import {
  CKF_DIGEST,
  CKF_GENERATE_KEY_PAIR,
  CKF_SERIAL_SESSION,
  CKF_SIGN,
  CKF_VERIFY,
  CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA,
  CKM_RSA_PKCS,
  CKM_RSA_X_509,
  CKM_SHA256,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_MECHANISM_INVALID,
  CKR_OK,
} from '../pkcs11/constants.js';
import type { Suite } from './suite.js';
import type { Pkcs11Like } from './types.js';
import { call, check, type Group } from './unity.js';

/** The functions the suite calls: the JS stand-in for a complete CK_FUNCTION_LIST. */
const REQUIRED: ReadonlyArray<keyof Pkcs11Like> = [
  'C_Initialize',
  'C_Finalize',
  'C_GetSlotList',
  'C_GetMechanismInfo',
  'C_OpenSession',
  'C_CloseSession',
  'C_Login',
  'C_CreateObject',
  'C_DestroyObject',
  'C_FindObjectsInit',
  'C_FindObjects',
  'C_FindObjectsFinal',
  'C_GetAttributeValue',
  'C_DigestInit',
  'C_DigestUpdate',
  'C_DigestFinal',
  'C_SignInit',
  'C_Sign',
  'C_VerifyInit',
  'C_Verify',
  'C_GenerateKeyPair',
  'C_GenerateRandom',
];

function missingFunctions(p11: Pkcs11Like): string[] {
  return REQUIRED.filter((name) => typeof p11[name] !== 'function');
}

const RSA_2048_BITS = 2048;
const P256_BITS = 256;

/** Runs `body`; on failure finalizes the module first, as the C tests' TEST_PROTECT else-branches do. */
function finalizingOnFailure(s: Suite, body: () => void): void {
  try {
    body();
  } catch (e) {
    call(() => s.p11.C_Finalize());
    throw e;
  }
}

export function startFinishGroup(s: Suite): Group {
  const group = 'Full_PKCS11_StartFinish';
  const p11 = s.p11;
  return {
    name: group,
    tests: [
      {
        group,
        name: 'PKCS11_StartFinish_FirstTest',
        run() {
          check.that(missingFunctions(p11).length === 0, 'C_GetFunctionList failed.');
          // The module may or may not have been initialised before the run.
          const r = call(() => p11.C_Finalize());
          check.rv(
            [CKR_OK, CKR_CRYPTOKI_NOT_INITIALIZED],
            r,
            'Setup for the PKCS #11 routine failed.  Test module will start in an unknown state.',
          );
        },
      },
      {
        group,
        name: 'PKCS11_GetFunctionList',
        run() {
          // C_GetFunctionList(NULL) → CKR_ARGUMENTS_BAD has no JS form: there is no out-pointer to omit.
          const missing = missingFunctions(p11);
          check.that(
            missing.length === 0,
            `C_GetFunctionList should returns valid function list pointer. Missing: ${missing.join(', ')}`,
          );
        },
      },
      {
        group,
        name: 'PKCS11_InitializeFinalize',
        run() {
          check.rv(CKR_OK, s.initialize(), 'Failed to initialize PKCS #11 module.');
          finalizingOnFailure(s, () => {
            const again = s.initialize();
            check.rv(
              CKR_CRYPTOKI_ALREADY_INITIALIZED,
              again,
              'Second PKCS #11 module initialization. ',
            );
            // C_Finalize((CK_VOID_PTR) 0x1234) → CKR_ARGUMENTS_BAD: pkcs11js always passes NULL_PTR.
            check.returns(CKR_OK, () => p11.C_Finalize(), 'Finalize failed.');
            check.returns(
              CKR_CRYPTOKI_NOT_INITIALIZED,
              () => p11.C_Finalize(),
              'Second PKCS #11 finalization failed.',
            );
          });
        },
      },
      {
        group,
        name: 'PKCS11_GetSlotList',
        run() {
          check.rv(CKR_OK, s.initialize(), 'Failed to initialize PKCS #11 module.');
          const first = call(() => p11.C_GetSlotList(true));
          check.rv(CKR_OK, first, 'Failed to get slot count.');
          check.that((first.value?.length ?? 0) > 0, 'Slot count incorrectly updated.');
          finalizingOnFailure(s, () => {
            const second = call(() => p11.C_GetSlotList(true));
            check.rv(CKR_OK, second, 'Failed to get slot count.');
            // The extra-room and zero-count (CKR_BUFFER_TOO_SMALL) calls need a caller-sized array,
            // which pkcs11js does not take; what stays checkable is that the count is stable.
            const a = first.value ?? [];
            const b = second.value ?? [];
            check.that(
              a.length === b.length && a.every((h, i) => b[i]?.equals(h)),
              'Failed to update the number of slots.',
            );
            check.returns(CKR_OK, () => p11.C_Finalize(), 'Finalize failed.');
          });
        },
      },
      {
        group,
        name: 'PKCS11_OpenSessionCloseSession',
        run() {
          check.rv(CKR_OK, s.initialize(), 'Failed to initialize PKCS #11 module.');
          finalizingOnFailure(s, () => {
            const slot = s.testSlot();
            const opened = call(() => p11.C_OpenSession(slot, CKF_SERIAL_SESSION));
            check.rv(CKR_OK, opened, 'Failed to open session.');
            const session = opened.value as Buffer;
            check.returns(CKR_OK, () => p11.C_CloseSession(session), 'Failed to close session.');
            check.returns(CKR_OK, () => p11.C_Finalize(), 'Finalize failed.');
            check.returns(
              CKR_CRYPTOKI_NOT_INITIALIZED,
              () => p11.C_OpenSession(slot, CKF_SERIAL_SESSION),
              'Negative Test: Opened a session before initializing module.',
            );
          });
        },
      },
    ],
  };
}

function inRange(info: { minKeySize: number; maxKeySize: number } | undefined, bits: number) {
  return info !== undefined && info.maxKeySize >= bits && info.minKeySize <= bits;
}

export function capabilitiesGroup(s: Suite): Group {
  const group = 'Full_PKCS11_Capabilities';
  return s.group(group, [
    {
      group,
      name: 'PKCS11_Capabilities',
      run() {
        const slot = s.testSlot();
        const either = [CKR_OK, CKR_MECHANISM_INVALID];
        /** The mechanism's info: `expected` CK_RV; when offered, `flags` (any) and `bits` covered. */
        const offers = (
          mechanism: number,
          expected: number | number[],
          [name, flags, flagNames]: [string, number, string],
          bits?: number,
        ): boolean => {
          const r = call(() => s.p11.C_GetMechanismInfo(slot, mechanism));
          const what = expected === CKR_OK ? 'failed.' : 'returns unexpected value.';
          check.rv(expected, r, `C_GetMechanismInfo ${name} ${what}`);
          if (r.rv !== CKR_OK) return false;
          check.that(((r.value?.flags ?? 0) & flags) !== 0, `${name} lacks ${flagNames}.`);
          if (bits) check.that(inRange(r.value, bits), `${name} does not cover ${bits} bits.`);
          return true;
        };
        const rsa: [string, number, string] = ['CKM_RSA_PKCS', CKF_SIGN, 'CKF_SIGN'];
        if (offers(CKM_RSA_PKCS, either, rsa, RSA_2048_BITS)) {
          // Pre-padded signature verification is needed for round-trip testing.
          offers(CKM_RSA_X_509, CKR_OK, ['CKM_RSA_X_509', CKF_VERIFY, 'CKF_VERIFY'], RSA_2048_BITS);
        }
        const sv = CKF_SIGN | CKF_VERIFY;
        offers(CKM_ECDSA, either, ['CKM_ECDSA', sv, 'CKF_SIGN|CKF_VERIFY'], P256_BITS);
        if (!s.config.preprovisionedSupport) {
          const gen = 'CKF_GENERATE_KEY_PAIR';
          offers(
            CKM_EC_KEY_PAIR_GEN,
            either,
            ['CKM_EC_KEY_PAIR_GEN', CKF_GENERATE_KEY_PAIR, gen],
            P256_BITS,
          );
        }
        // SHA-256 support is required.
        offers(CKM_SHA256, CKR_OK, ['CKM_SHA256', CKF_DIGEST, 'CKF_DIGEST']);
      },
    },
  ]);
}
