import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CKA_CLASS,
  CKA_PRIVATE_EXPONENT,
  CKA_VALUE,
  CKO_CERTIFICATE,
  CKR_BUFFER_TOO_SMALL,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_FUNCTION_FAILED,
  CKR_MECHANISM_INVALID,
} from '../../../src/pkcs11/constants.js';
import {
  type Pkcs11Like,
  type PresetName,
  runQualification,
} from '../../../src/qualification/index.js';
import {
  createVerifier,
  freshToken,
  loadModule,
  softHsm,
  USER_PIN,
  withoutRandomFluke,
} from './softhsm.js';

type Method = keyof Pkcs11Like;
type Wrap = (
  original: (...args: never[]) => unknown,
  module: Pkcs11Like,
) => (...args: never[]) => unknown;

/** A Proxy over the real module that replaces some methods: a deliberately broken token. */
function broken(base: Pkcs11Like, wraps: Partial<Record<Method, Wrap>>): Pkcs11Like {
  return new Proxy(base, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      const wrap = wraps[key as Method];
      if (typeof value !== 'function') return value;
      const bound = value.bind(target) as (...args: never[]) => unknown;
      return wrap ? wrap(bound, target) : bound;
    },
  });
}

function pkcs11Error(code: number, name: string): Error {
  return Object.assign(new Error(name), { code });
}

const flipped = (sig: Buffer) => {
  const copy = Buffer.from(sig);
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
  return copy;
};

/** Flip the last signature byte of outputs of `length` bytes (64: ECDSA, 256: RSA-2048). */
function flipSignatures(length: number): Partial<Record<Method, Wrap>> {
  const sync: Wrap =
    (original) =>
    (...args) => {
      const out = original(...args) as Buffer;
      return out.length === length ? flipped(out) : out;
    };
  const async: Wrap =
    (original) =>
    async (...args) => {
      const out = (await original(...args)) as Buffer;
      return out.length === length ? flipped(out) : out;
    };
  return { C_Sign: sync, C_SignAsync: async };
}

interface Breakage {
  what: string;
  config: PresetName;
  wraps: Partial<Record<Method, Wrap>>;
  fails: string[];
}

const CASES: Breakage[] = [
  {
    what: 'ECDSA signatures with a flipped byte',
    config: 'ec-import',
    wraps: flipSignatures(64),
    fails: ['PKCS11_EC_Sign', 'PKCS11_EC_Verify', 'PKCS11_EC_SignVerifyMultiThread'],
  },
  {
    // The C suite asserts the wrong variable here and would pass this module.
    what: 'RSA signatures with a flipped byte',
    config: 'rsa-import',
    wraps: flipSignatures(256),
    fails: ['PKCS11_RSA_Sign'],
  },
  {
    what: 'a readable RSA private exponent instead of CKR_ATTRIBUTE_SENSITIVE',
    config: 'rsa-import',
    wraps: {
      C_GetAttributeValue:
        (original) =>
        (...args) => {
          const template = args[2] as unknown as Array<{ type: number }>;
          if (template[0]?.type === CKA_PRIVATE_EXPONENT) {
            return [{ type: CKA_PRIVATE_EXPONENT, value: Buffer.alloc(256, 1) }];
          }
          return original(...args);
        },
    },
    fails: ['PKCS11_RSA_GetAttributeValue', 'PKCS11_RSA_GetAttributeValueMultiThread'],
  },
  {
    what: 'a certificate value one byte short',
    config: 'full',
    wraps: {
      C_GetAttributeValue:
        (original, module) =>
        (...args) => {
          const [session, object, template] = args as unknown as [
            Buffer,
            Buffer,
            Array<{ type: number }>,
          ];
          const result = original(...args) as Array<{ type: number; value: Buffer }>;
          if (template[0]?.type !== CKA_VALUE) return result;
          const cls = module.C_GetAttributeValue(session, object, [{ type: CKA_CLASS }])[0]
            ?.value as Buffer | undefined;
          if (cls?.readUInt32LE(0) !== CKO_CERTIFICATE) return result;
          return result.map((a) => ({ ...a, value: a.value.subarray(0, a.value.length - 1) }));
        },
    },
    fails: [
      'PKCS11_RSA_GetAttributeValue',
      'PKCS11_RSA_GetAttributeValueMultiThread',
      'PKCS11_EC_GetAttributeValue',
      'PKCS11_EC_Sign', // SoftHSMv2's own failure, unchanged
      'PKCS11_EC_GetAttributeValueMultiThread',
    ],
  },
  {
    what: 'a digest that a too-small buffer ends',
    config: 'ec-keygen',
    wraps: {
      C_DigestFinal:
        (original) =>
        (...args) => {
          try {
            return original(...args);
          } catch (e) {
            if ((e as { code?: number }).code === CKR_BUFFER_TOO_SMALL) {
              original(...([args[0], Buffer.alloc(64)] as unknown as never[]));
            }
            throw e;
          }
        },
    },
    fails: ['PKCS11_Digest_ErrorConditions'],
  },
  {
    what: 'CKR_FUNCTION_FAILED instead of CKR_MECHANISM_INVALID for an unknown digest',
    config: 'ec-import',
    wraps: {
      C_DigestInit:
        (original) =>
        (...args) => {
          try {
            return original(...args);
          } catch (e) {
            if ((e as { code?: number }).code !== CKR_MECHANISM_INVALID) throw e;
            throw pkcs11Error(CKR_FUNCTION_FAILED, 'CKR_FUNCTION_FAILED');
          }
        },
    },
    fails: ['PKCS11_Digest_ErrorConditions'],
  },
  {
    what: 'a second C_Initialize that succeeds',
    config: 'rsa-import',
    wraps: {
      C_Initialize:
        (original) =>
        (...args) => {
          try {
            return original(...args);
          } catch (e) {
            if ((e as { code?: number }).code !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
            return undefined;
          }
        },
    },
    fails: ['PKCS11_InitializeFinalize'],
  },
  {
    what: 'a random generator that returns zeros',
    config: 'ec-import',
    wraps: {
      C_GenerateRandom:
        () =>
        (...args) =>
          (args[1] as unknown as Buffer).fill(0),
    },
    fails: ['PKCS11_GenerateRandom'],
  },
];

const hsm = softHsm();
const skip = 'missing' in hsm ? `SoftHSMv2 unavailable: ${hsm.missing}` : false;

describe('qualification suite catches a deliberately broken module', { skip }, () => {
  if (!skip) freshToken();
  for (const c of CASES) {
    it(`${c.what}: ${c.fails.join(', ')} FAIL`, async () => {
      if ('missing' in hsm) return;
      const { report, text } = await withoutRandomFluke(async () => {
        let text = '';
        const report = await runQualification({
          module: broken(loadModule(hsm.library), c.wraps),
          verifier: createVerifier(),
          config: c.config,
          pin: USER_PIN,
          output: (s) => {
            text += s;
          },
        });
        return { report, text };
      });
      const failed = report.results.filter((r) => r.status === 'FAIL').map((r) => r.name);
      assert.deepEqual(failed, c.fails, text);
    });
  }
});
