/**
 * runQualification: the seed's RunQualificationTest for a pkcs11js-shaped module. It checks the
 * configuration against the seed's rules, reads the test credentials with the injected verifier, runs
 * the groups in the C suite's order through the chosen platform hooks and prints Unity's report through
 * one writer. Also `preprovision`, which puts credentials in place for a pre-provisioned run. Layer L7.
 * @module
 */

import type { PKCS11 } from '../api/pkcs11.js';
import {
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKF_TOKEN_INITIALIZED,
  CKF_USER_PIN_INITIALIZED,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_OK,
  CKU_SO,
} from '../pkcs11/constants.js';
import { checkConfig, type PresetName, presetConfig, type QualificationConfig } from './config.js';
import { initializePkcs11, pemToDer } from './cryptoki.js';
import { inProcessHooks, type WorkerModuleSpec, workerThreadHooks } from './hooks.js';
import { ecPointDer } from './provisioning.js';
import { type DerivedCredentials, Suite } from './suite.js';
import { ecGroup } from './tests-ec.js';
import { noObjectGroup } from './tests-no-object.js';
import { rsaGroup } from './tests-rsa.js';
import { capabilitiesGroup, startFinishGroup } from './tests-start-finish.js';
import type { Pkcs11Like, PlatformHooks, Verifier } from './types.js';
import { call, runGroups, type UnityReport } from './unity.js';

export interface QualificationOptions {
  /** The module under test, already loaded (pkcs11js `PKCS11` after `load()`, or corepkcs11's). */
  module: Pkcs11Like;
  /** Independent crypto (corepkcs11's adapters/crypto-node/verify-kit.ts provides one). */
  verifier: Verifier;
  /** A preset name or a full configuration; default 'full'. */
  config?: PresetName | QualificationConfig;
  /** FRTest_ThreadCreate/ThreadTimedJoin; default: concurrent async tasks in this thread. */
  platform?: PlatformHooks;
  /** Run the multi-thread tasks in worker threads, each loading its own module from this spec. */
  workers?: WorkerModuleSpec;
  /** UNITY_OUTPUT_CHAR: where the report goes; default process.stdout. */
  output?: (text: string) => void;
  /** The user PIN C_Login gets; default corePKCS11's "0000". */
  pin?: string;
  /** Index into C_GetSlotList(true) of the slot under test; default 0. */
  slotIndex?: number;
  /** FRTest_TimeDelay(TEST_START_DELAY_MS) before the first test; default 0. */
  startDelayMs?: number;
}

/** A configuration the seed's rules reject; `problems` lists each broken rule. */
export class QualificationConfigError extends Error {
  override readonly name = 'QualificationConfigError';
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid qualification configuration: ${problems.join(' ')}`);
    this.problems = problems;
  }
}

export function resolveConfig(
  config: PresetName | QualificationConfig = 'full',
): QualificationConfig {
  const resolved = typeof config === 'string' ? presetConfig(config) : config;
  const problems = checkConfig(resolved);
  if (problems.length > 0) throw new QualificationConfigError(problems);
  return resolved;
}

function der(pem: string, what: string): Buffer {
  const bytes = pemToDer(pem);
  if (!bytes) throw new QualificationConfigError([`The ${what} is not PEM.`]);
  return bytes;
}

/** Reads the configured credentials with the verifier, before any test runs. */
export function deriveCredentials(
  verifier: Verifier,
  config: QualificationConfig,
): DerivedCredentials {
  const c = config.credentials;
  const parse = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new QualificationConfigError([`The ${what} cannot be parsed: ${why}`]);
    }
  };
  const rsaPrivate = parse('RSA private key', () => verifier.parsePrivateKeyPem(c.rsaPrivateKey));
  const ecPrivate = parse('EC private key', () => verifier.parsePrivateKeyPem(c.ecPrivateKey));
  const ecPublic = parse('EC public key', () => verifier.parsePublicKeyPem(c.ecPublicKey));
  if (rsaPrivate.type !== 'rsa' || !rsaPrivate.d) {
    throw new QualificationConfigError(['The RSA private key is not an RSA private key.']);
  }
  if (ecPrivate.type !== 'ec' || !ecPrivate.d || ecPublic.type !== 'ec') {
    throw new QualificationConfigError(['The EC keys are not a P-256 private and public key.']);
  }
  return {
    rsaPrivate,
    rsaCertificateDer: der(c.rsaCertificate, 'RSA certificate'),
    ecPrivate,
    ecPointDer: ecPointDer(ecPublic.point),
    ecCertificateDer: der(c.ecCertificate, 'EC certificate'),
  };
}

/** Runs the suite and prints the Unity report; resolves to the counts (exit 0 only if failures = 0). */
export async function runQualification(options: QualificationOptions): Promise<UnityReport> {
  const config = resolveConfig(options.config);
  const credentials = deriveCredentials(options.verifier, config);
  const pin = options.pin ?? '0000';
  const slotIndex = options.slotIndex ?? 0;
  const hooks =
    options.platform ??
    (options.workers ? workerThreadHooks(options.workers, { slotIndex, pin }) : inProcessHooks());
  const write = options.output ?? ((text: string) => void process.stdout.write(text));
  if (options.startDelayMs) await new Promise((r) => setTimeout(r, options.startDelayMs));
  const suite = new Suite({
    p11: options.module,
    verifier: options.verifier,
    config,
    pin,
    slotIndex,
    hooks,
    credentials,
  });
  return runGroups(
    [
      startFinishGroup(suite),
      capabilitiesGroup(suite),
      noObjectGroup(suite),
      rsaGroup(suite),
      ecGroup(suite),
    ],
    write,
  );
}

/**
 * Puts credentials under the configured labels so a pre-provisioned run finds them: destroys what is
 * there and imports the test key pair and certificate of `keyType`. Throws (a TestFailure naming the step
 * and CKR) when the module refuses. Leaves the module finalized.
 */
export function preprovision(options: {
  module: Pkcs11Like;
  verifier: Verifier;
  keyType: 'rsa' | 'ec';
  config?: QualificationConfig;
  pin?: string;
  slotIndex?: number;
}): void {
  const config = options.config ?? presetConfig(`preprovisioned-${options.keyType}`);
  const suite = new Suite({
    p11: options.module,
    verifier: options.verifier,
    config,
    pin: options.pin ?? '0000',
    slotIndex: options.slotIndex ?? 0,
    hooks: inProcessHooks(),
    credentials: deriveCredentials(options.verifier, config),
  });
  try {
    suite.setup();
    suite.destroyTestCredentials();
    suite.provisionImport(options.keyType);
  } finally {
    const session = suite.globalSession;
    if (session) call(() => options.module.C_CloseSession(session));
    call(() => options.module.C_Finalize());
  }
}

/** The token-management calls `initializeToken` needs beyond the suite's own (pkcs11js spells them so). */
export type Pkcs11Admin = Pkcs11Like & Pick<PKCS11, 'C_GetTokenInfo' | 'C_InitToken' | 'C_InitPIN'>;

/**
 * corePKCS11's xInitializePkcs11Token for a token that is new: C_InitToken with the SO PIN when the
 * token is not initialised, then C_InitPIN with the user PIN when that is not set. A token that is ready
 * is left alone. Returns what it did; throws the module's error. Leaves the module finalized.
 */
export function initializeToken(options: {
  module: Pkcs11Admin;
  pin: string;
  soPin: string;
  label?: string;
  slotIndex?: number;
}): 'ready' | 'initialized' {
  const p11 = options.module;
  const init = initializePkcs11(p11);
  if (init.rv !== CKR_OK && init.rv !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw init.error;
  try {
    let slot = p11.C_GetSlotList(true)[options.slotIndex ?? 0];
    if (!slot) throw new Error(`there is no slot at index ${options.slotIndex ?? 0}`);
    let flags = p11.C_GetTokenInfo(slot).flags;
    if ((flags & CKF_TOKEN_INITIALIZED) !== 0 && (flags & CKF_USER_PIN_INITIALIZED) !== 0) {
      return 'ready';
    }
    if ((flags & CKF_TOKEN_INITIALIZED) === 0) {
      p11.C_InitToken(slot, options.soPin, options.label ?? 'corepkcs11 qualification');
      // A module may move a freshly initialised token to another slot (SoftHSMv2 does).
      slot = p11.C_GetSlotList(true)[options.slotIndex ?? 0] ?? slot;
      flags = p11.C_GetTokenInfo(slot).flags;
    }
    if ((flags & CKF_USER_PIN_INITIALIZED) === 0) {
      const session = p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
      try {
        p11.C_Login(session, CKU_SO, options.soPin);
        p11.C_InitPIN(session, options.pin);
      } finally {
        call(() => p11.C_CloseSession(session));
      }
    }
    return 'initialized';
  } finally {
    call(() => p11.C_Finalize());
  }
}
